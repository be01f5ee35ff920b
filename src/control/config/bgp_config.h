// The BGP side of podlaned's configuration (`bgp:`, docs/bgp.md): the
// speaker podlaned runs, its instances (a local ASN each), their peers and
// what they advertise. Loaded by config_bgp.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "control/config/label_selector.h"

namespace podlane {

/// One BGP neighbour of an instance (Cilium's CiliumBGPPeerConfig, flattened).
struct BgpPeerConfig {
    std::string name;                ///< unique in the instance, 1..28 characters; default "peer-<address>" with dots as dashes
    Ipv4Addr address;                ///< the neighbour's address, reached from node.ip through the host path
    uint32_t peer_asn = 0;           ///< 1..4294967295
    uint32_t hold_time_s = 90;       ///< proposed hold time, 3..65535 (the session uses the smaller of both sides')
    uint32_t keepalive_time_s = 30;  ///< 1..21845, less than hold_time_s
    uint32_t ebgp_multihop = 1;      ///< TTL of the session's packets as the operator counts hops; 1: directly connected
    bool graceful_restart = false;   ///< RFC 4724: the peer keeps our routes (stale) while the speaker restarts
    uint32_t restart_time_s = 120;   ///< graceful restart time we announce, 1..4095
    std::string password;            ///< TCP MD5 signature (RFC 2385); empty: none

    friend bool operator==(const BgpPeerConfig&, const BgpPeerConfig&) = default;
};

/// Which services' addresses an instance announces, as /32s (one of
/// Cilium's Service advertisements): those matching `names` (when given)
/// and `selector`.
struct BgpServiceAdvertisement {
    bool load_balancer_ips = false;    ///< LoadBalancer IPs (externalTrafficPolicy decides the nodes)
    bool external_ips = false;         ///< ExternalIPs (externalTrafficPolicy)
    bool cluster_ips = false;          ///< ClusterIPs (internalTrafficPolicy decides the nodes)
    std::vector<std::string> names{};  ///< only these services ("namespace/name"); empty: any
    LabelSelector selector{};          ///< by the service's labels (service_selector_labels); {}: any

    friend bool operator==(const BgpServiceAdvertisement&, const BgpServiceAdvertisement&) = default;
};

/// What an instance announces to its peers.
struct BgpAdvertiseConfig {
    bool pod_cidr = true;                          ///< this node's PodCIDR
    std::vector<BgpServiceAdvertisement> services{}; ///< the file's default: LoadBalancer IPs of every service

    friend bool operator==(const BgpAdvertiseConfig&, const BgpAdvertiseConfig&) = default;
};

/// A BGP instance: one local ASN with its peers (Cilium's bgpInstances).
struct BgpInstanceConfig {
    std::string name;                     ///< unique, 1..28 characters of a-z, 0-9, '-'
    uint32_t local_asn = 0;               ///< 1..4294967295
    Ipv4Addr router_id{};                 ///< default: node.ip
    std::vector<BgpPeerConfig> peers{};
    BgpAdvertiseConfig advertise{};

    friend bool operator==(const BgpInstanceConfig&, const BgpInstanceConfig&) = default;
};

/// The `bgp:` section. BGP is on when it has at least one instance.
struct BgpConfig {
    std::vector<BgpInstanceConfig> instances;
    std::string bird = "/usr/sbin/bird";  ///< the BIRD 2 daemon podlaned runs
    std::string run_dir;                  ///< BIRD's config, control socket and log; default /run/podlane/bgp-<node.name>

    bool enabled() const { return !instances.empty(); }
    friend bool operator==(const BgpConfig&, const BgpConfig&) = default;
};

} // namespace podlane
