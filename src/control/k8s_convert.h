// Kubernetes objects (as the API server sends them, JSON) into podlane's
// cluster state: a Service with its EndpointSlices into a ServiceConfig, a
// Node into a PeerNodeConfig. Conversion goes through the config schema, so a
// Kubernetes object is validated exactly like the same service in a file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "control/config.h"

namespace podlane {

/// "namespace/name" of an object.
std::string k8s_key(const nlohmann::json& object);
/// The "namespace/name" of the Service an EndpointSlice belongs to (its
/// kubernetes.io/service-name label), or "" if it has none.
std::string k8s_slice_service(const nlohmann::json& slice);

/// A Service and its EndpointSlices as podlane load-balances them; nullopt
/// for services podlane does not load-balance (headless, ExternalName, no
/// TCP/UDP port). Errors name the service and why.
Result<std::optional<ServiceConfig>> k8s_service(const nlohmann::json& service,
                                                 const std::vector<const nlohmann::json*>& slices,
                                                 const Config& node_config);

/// A Node as another node of the cluster; nullopt for this node itself.
Result<std::optional<PeerNodeConfig>> k8s_node(const nlohmann::json& node, const Config& node_config);

} // namespace podlane
