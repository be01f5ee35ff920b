// Kubernetes objects (as the API server sends them, JSON) to podlane's model:
// Node -> PeerNodeConfig; Service joined with its EndpointSlices ->
// ServiceConfig. Pure functions: no I/O, no state.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/config/config.h"

namespace podlane {

/// What conversion needs to know about this node and its settings.
struct ConvertSettings {
    std::string node_name;          ///< this node's Node is left out
    Ipv4Addr node_ip;               ///< no other node may claim it
    Ipv4Prefix pod_cidr;            ///< this node's PodCIDR: no other node's may overlap it
    Ipv4Prefix native_routing_cidr; ///< other nodes' PodCIDRs lie inside it (0.0.0.0/0: anywhere)
    LbAlgorithm algorithm = LbAlgorithm::Random; ///< loadbalancer.algorithm, for every service
    uint16_t nodeport_min = 30000;  ///< loadbalancer.nodeport_range
    uint16_t nodeport_max = 32767;

    static ConvertSettings from(const Config& c);
};

/// A Service as podlane load-balances it, before its endpoints are joined in.
struct K8sService {
    ServiceConfig base;                          ///< no backends; a named targetPort leaves target_port 0
    std::vector<std::string> target_port_names;  ///< per base.ports entry: the named targetPort, "" when numeric
    std::vector<std::string> notes;              ///< what was left out and why (an SCTP port, a nodePort outside the range)
};

/// One endpoint of an EndpointSlice.
struct K8sEndpoint {
    Ipv4Addr ip;            ///< addresses[0]
    bool ready = true;      ///< conditions; an absent condition reads as the API says:
    bool serving = true;    ///< ready and serving as true (serving: as ready), terminating as false
    bool terminating = false;
    std::string node;       ///< nodeName, "" when absent
};

/// A port of an EndpointSlice: the backends' port for the service port of the same name.
struct K8sEndpointPort {
    std::string name;
    L4Proto protocol = L4Proto::Tcp;
    uint16_t port = 0;
};

/// An EndpointSlice, as far as podlane reads it.
struct K8sEndpointSlice {
    std::string name;       ///< "namespace/name"
    std::string service;    ///< "namespace/<label kubernetes.io/service-name>", "" without the label
    bool ipv4 = false;      ///< addressType IPv4 (IPv6 and FQDN slices are ignored)
    std::vector<K8sEndpoint> endpoints;
    std::vector<K8sEndpointPort> ports; ///< SCTP ports are left out
};

/// "namespace/name" of an object ("name" for cluster-scoped ones); "" if unnamed.
std::string object_key(const nlohmann::json& obj);
/// metadata.resourceVersion, "" if absent.
std::string object_resource_version(const nlohmann::json& obj);

/// A Node as another node of the cluster: InternalIP, spec.podCIDRs (or
/// spec.podCIDR), IPv4 only. nullopt for this node's own Node. An error
/// (naming the node and the field) when it cannot be used.
Result<std::optional<PeerNodeConfig>> convert_node(const nlohmann::json& obj, const ConvertSettings& s);

/// A Service: type, clusterIP, ports, externalIPs, status.loadBalancer
/// ingress IPs, traffic policies, session affinity. nullopt when podlane does
/// not load-balance it (headless, ExternalName, no IPv4 cluster IP). An error
/// (naming the service and the field) when it cannot be converted.
Result<std::optional<K8sService>> convert_service(const nlohmann::json& obj, const ConvertSettings& s);

/// An EndpointSlice. An error (naming the slice and the field) when it cannot be read.
Result<K8sEndpointSlice> convert_endpoint_slice(const nlohmann::json& obj);

/// The Service with its backends from its (IPv4) EndpointSlices: ready
/// endpoints are active, serving and terminating ones terminating, others
/// are left out; an address in several slices counts once (active first). A
/// named targetPort takes the port the slices list under the service port's
/// name. A port no slice resolves while there are backends is left out, and
/// why goes to `notes`. An error when no port is left.
Result<ServiceConfig> join_service(const K8sService& svc, const std::vector<const K8sEndpointSlice*>& slices,
                                   std::vector<std::string>& notes);

} // namespace podlane
