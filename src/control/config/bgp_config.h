// The BGP side of podlaned's configuration (`bgp:`, docs/bgp.md): the
// speaker podlaned runs, its instances (a local ASN each), their peers and
// what they advertise. Loaded by config_bgp.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/net_types.h"

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

/// What an instance announces to its peers.
struct BgpAdvertiseConfig {
    bool pod_cidr = true;                 ///< this node's PodCIDR
    bool load_balancer_ips = true;        ///< services' LoadBalancer IPs, as /32s
    bool external_ips = false;            ///< services' ExternalIPs, as /32s
    std::vector<std::string> services;    ///< only these services (by name); empty: every service

    friend bool operator==(const BgpAdvertiseConfig&, const BgpAdvertiseConfig&) = default;
};

/// A BGP instance: one local ASN with its peers (Cilium's bgpInstances).
struct BgpInstanceConfig {
    std::string name;                     ///< unique, 1..28 characters of a-z, 0-9, '-'
    uint32_t local_asn = 0;               ///< 1..4294967295
    Ipv4Addr router_id;                   ///< default: node.ip
    std::vector<BgpPeerConfig> peers;
    BgpAdvertiseConfig advertise;

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
