// The JSON form of a CNI attachment: the IPAM state file stores it and the
// cni.list command shows it (docs/api.md), so both read the same fields.
#pragma once

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "control/pods/cni_types.h"

namespace podlane {

/// {"container_id", "ifname", "netns", "pod_namespace", "pod_name",
///  "endpoint_id", "ip", "mac", "labels", "host_ports", "vhost_socket"}.
nlohmann::json attachment_json(const CniAttachment& a);

/// The inverse of attachment_json; errors name the field, e.g.
/// `ip: "10.0.0.300" is not an IPv4 address`.
Result<CniAttachment> attachment_from_json(const nlohmann::json& j);

} // namespace podlane
