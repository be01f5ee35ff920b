// Cilium's cluster-wide BGP and LB IPAM objects (cilium.io/v2:
// CiliumBGPClusterConfig, CiliumBGPPeerConfig, CiliumBGPAdvertisement,
// CiliumLoadBalancerIPPool) turned into this node's BGP instances and LB IPAM
// pools. The Kubernetes source lists and watches them; the etcd source reads
// the same objects as JSON under <prefix>cilium.io/v2/<plural>/<name>
// (docs/bgp.md, docs/lb-ipam.md). Pure: no I/O.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/config/config.h"

namespace podlane {

/// The four kinds, in the order CiliumObjects keeps them.
enum class CiliumKind : uint8_t { BgpClusterConfig, BgpPeerConfig, BgpAdvertisement, LoadBalancerIPPool };
inline constexpr std::array<CiliumKind, 4> kCiliumKinds{CiliumKind::BgpClusterConfig, CiliumKind::BgpPeerConfig,
                                                        CiliumKind::BgpAdvertisement, CiliumKind::LoadBalancerIPPool};
/// "CiliumBGPClusterConfig", ...
const char* cilium_kind_name(CiliumKind k);
/// The resource's plural: "ciliumbgpclusterconfigs", ... (the API path's and the etcd key's).
const char* cilium_kind_plural(CiliumKind k);
/// The kind whose plural is `plural`, if any.
std::optional<CiliumKind> cilium_kind_of_plural(const std::string& plural);

/// The objects of each kind, by metadata.name (all four are cluster-scoped).
struct CiliumObjects {
    std::array<std::map<std::string, nlohmann::json>, 4> by_kind;
    std::map<std::string, nlohmann::json>& of(CiliumKind k) { return by_kind[static_cast<size_t>(k)]; }
    const std::map<std::string, nlohmann::json>& of(CiliumKind k) const { return by_kind[static_cast<size_t>(k)]; }
};

/// What the conversion needs to know of this node.
struct CiliumNodeFacts {
    std::string name;
    Ipv4Addr ip;    ///< the default router id
    LabelMap labels;  ///< what nodeSelector matches
};

/// This node's share of the objects.
struct CiliumPolicy {
    std::vector<BgpInstanceConfig> bgp_instances; ///< from the CiliumBGPClusterConfig selecting this node
    LbIpamConfig lb_ipam;                         ///< every pool, oldest first (creationTimestamp, then name)
    /// Objects (or parts) left out, each naming the object and the key:
    /// `CiliumBGPPeerConfig cilium-peer: spec.timers.holdTimeSeconds: 2 is out of range: expected 3..65535`.
    std::vector<std::string> problems;

    friend bool operator==(const CiliumPolicy&, const CiliumPolicy&) = default;
};

/// Converts the objects for this node:
/// - the CiliumBGPClusterConfigs whose nodeSelector matches the node's labels
///   (none: every node) give their bgpInstances (localASN, router id = the
///   node IP) and peers (peerAddress, peerASN); a second config selecting the
///   node is a problem (as in Cilium, one applies);
/// - a peer's peerConfigRef names a CiliumBGPPeerConfig: timers
///   (holdTimeSeconds, keepAliveTimeSeconds), ebgpMultihop, gracefulRestart
///   (enabled, restartTimeSeconds); its ipv4/unicast family's advertisements
///   selector picks CiliumBGPAdvertisements by their labels: PodCIDR, and
///   Service with addresses LoadBalancerIP / ExternalIP / ClusterIP for the
///   services its selector matches (no selector: none, as in Cilium). The
///   peers of one instance must pick the same advertisements (podlane
///   advertises per instance);
/// - every CiliumLoadBalancerIPPool: blocks (cidr, or start and stop),
///   allowFirstLastIPs ("Yes"/"No"), serviceSelector, disabled.
/// An object that does not convert is left out and named in `problems`.
CiliumPolicy convert_cilium_objects(const CiliumObjects& objects, const CiliumNodeFacts& node);

/// Adds the config file's BGP instances and pools (node-local, always in
/// force) before the cluster's: a cluster instance or pool whose name the
/// file uses, or a cluster peer address a file instance peers with, is left
/// out and named in `problems`.
void add_file_policy(const Config& file, CiliumPolicy& policy);

/// A label selector in Kubernetes' JSON (matchLabels, matchExpressions) at
/// `path`; throws nothing, an error names the key.
Result<LabelSelector> parse_json_label_selector(const nlohmann::json& j, const std::string& path);

} // namespace podlane
