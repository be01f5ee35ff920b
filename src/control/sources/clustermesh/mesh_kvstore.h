// Cilium's kvstore layout for Cluster Mesh: the keys a clustermesh-apiserver's
// etcd holds and their JSON, encoded and decoded with nlohmann/json. Every
// format here is Cilium's (docs/clustermesh.md cites where each is defined):
//
//   cilium/cluster-config/<cluster>                 CiliumClusterConfig {"id", "capabilities"}
//   cilium/synced/<cluster>/<prefix>                sync canary: an RFC 3339 time
//   cilium/state/nodes/v1/<cluster>/<node>          types.Node (Go field names)
//   cilium/state/services/v1/<cluster>/<ns>/<name>  ClusterService
//   cilium/state/ip/v1/default/<ip>                 IPIdentityPair
//   cilium/state/identities/v1/id/<id>              the identity's labels, "k8s:k=v;..."
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"
#include "control/config/service_config.h"

namespace podlane::mesh {

inline constexpr const char* kNodesPrefix = "cilium/state/nodes/v1";
inline constexpr const char* kServicesPrefix = "cilium/state/services/v1";
inline constexpr const char* kIpPrefix = "cilium/state/ip/v1";
inline constexpr const char* kIdentitiesPrefix = "cilium/state/identities/v1";
/// The four prefixes a cluster marks synced, in the order Cilium registers them.
inline constexpr const char* kSyncedPrefixes[] = {kNodesPrefix, kServicesPrefix, kIpPrefix, kIdentitiesPrefix};

std::string cluster_config_key(const std::string& cluster);
std::string synced_key(const std::string& cluster, const std::string& prefix);
std::string node_key(const std::string& cluster, const std::string& node);
std::string service_key(const std::string& cluster, const std::string& ns, const std::string& name);
std::string ip_key(Ipv4Addr ip);
std::string identity_key(uint32_t id);

/// CiliumClusterConfig (pkg/clustermesh/types).
struct ClusterConfig {
    uint32_t id = 0;
    bool synced_canaries = false;
    uint32_t max_connected_clusters = 0; ///< 0: not given (255)
};
std::string encode_cluster_config(const ClusterConfig& c);
Result<ClusterConfig> decode_cluster_config(const std::string& text);

/// What podlane takes of a types.Node.
struct Node {
    std::string name;
    std::string cluster;
    uint32_t cluster_id = 0;
    Ipv4Addr ip;                       ///< InternalIP, else ExternalIP, else another IPv4 (never CiliumInternalIP)
    std::vector<Ipv4Prefix> pod_cidrs; ///< IPv4AllocCIDR, then IPv4SecondaryAllocCIDRs
};
std::string encode_node(const Node& n);
/// Takes CIDRs as Cilium writes them ({"IP", "Mask": base64}) and as text ("10.0.0.0/24").
Result<Node> decode_node(const std::string& text);

/// What podlane takes of a ClusterService.
struct ClusterService {
    std::string cluster;
    std::string ns;
    std::string name;
    uint32_t cluster_id = 0;
    bool shared = true;
    struct Port {
        std::string name;
        L4Proto protocol = L4Proto::Tcp;
        uint16_t port = 0;
    };
    std::map<std::string, std::vector<Port>> frontends; ///< by IP text
    std::map<std::string, std::vector<Port>> backends;  ///< by IP text
};
std::string encode_service(const ClusterService& s);
Result<ClusterService> decode_service(const std::string& text);
/// The ClusterService of a global service of this cluster, backends as given.
ClusterService cluster_service(const ServiceConfig& s, const std::string& cluster, uint32_t cluster_id);

/// IPIdentityPair (pkg/identity).
struct IpIdentity {
    Ipv4Addr ip;
    uint8_t mask_len = 32; ///< Mask null: a host entry
    Ipv4Addr host_ip;      ///< the node behind it
    uint32_t id = 0;
    std::string k8s_namespace;
    std::string k8s_pod_name;
};
std::string encode_ip_identity(const IpIdentity& p);
Result<IpIdentity> decode_ip_identity(const std::string& text);

/// An identity's labels as the kvstore keeps them: "source:key=value;" each,
/// sorted. Pod labels are source k8s.
std::string encode_identity_labels(const std::map<std::string, std::string>& labels);
/// The labels of "k8s:app=web;k8s:io.kubernetes.pod.namespace=lab;": the k8s
/// source left out of the keys, other sources kept ("reserved:host").
Result<std::map<std::string, std::string>> decode_identity_labels(const std::string& text);

/// Go's encoding of a net.IPMask of an IPv4 prefix length: base64 of 4 bytes ("////AA==" for /24).
std::string ipv4_mask_base64(uint8_t len);

} // namespace podlane::mesh
