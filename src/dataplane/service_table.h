// The load-balancer part of a published Snapshot: service frontends, the
// backends each one may pick for a new flow (by scope), Maglev tables, and
// the node's NAT settings. Assembled by control/service_compiler from
// per-service pieces (only changed services are recompiled; their backend
// lists and Maglev tables are shared between publishes) and read lock-free
// by workers; the mutable flow state (conntrack, affinity) lives in
// tables the snapshot only points to.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include <rte_byteorder.h>

#include "common/net_types.h"
#include "dataplane/exact_map.h"

namespace podlane {

class AffinityTable;
class Conntrack;

/// Backend selection for new flows.
enum class LbAlgorithm : uint8_t { Random, Maglev };

/// How traffic from outside reaches a backend on another node.
enum class NodePortMode : uint8_t {
    Snat,   ///< SNAT to the node IP: the reply comes back through this node
    Dsr,    ///< direct server return: Geneve dispatch carries the service address
    Hybrid, ///< DSR for TCP, SNAT for UDP
};

/// What a service with no usable backend does to a new flow.
enum class NoBackendAction : uint8_t {
    Reject, ///< TCP: RST; UDP: ICMP port unreachable
    Drop,
};

enum class BackendState : uint8_t { Active, Terminating };

/// What kind of frontend a service entry is (for the CLI and counters).
enum class FrontendKind : uint8_t { ClusterIP, NodePort, LoadBalancer, ExternalIP, HostPort };

/// The 64-bit key of a frontend: address, port and protocol.
constexpr uint64_t frontend_key(rte_be32_t ip_be, rte_be16_t port_be, uint8_t proto) noexcept {
    return uint64_t{ip_be} << 32 | uint64_t{port_be} << 8 | proto;
}

/// A set of IPv4 addresses split into shards by address hash. Each shard is
/// an immutable Ipv4Map shared by every LbTables published while it stays
/// the same, so a change rebuilds one shard, not the whole set.
class ShardedIpv4Set {
public:
    static constexpr uint32_t kShardBits = 6;
    static constexpr uint32_t kShards = 1u << kShardBits;
    static uint32_t shard_of(Ipv4Addr ip) noexcept { return (ip.be * 0x9E3779B1u) >> (32 - kShardBits); }
    /// True if `ip` is in the set.
    bool contains(Ipv4Addr ip) const noexcept {
        const Ipv4Map* s = shards_[shard_of(ip)].get();
        return s != nullptr && s->lookup(ip) != kNotFound;
    }
    void set_shard(uint32_t i, std::shared_ptr<const Ipv4Map> shard) { shards_[i] = std::move(shard); }

private:
    std::array<std::shared_ptr<const Ipv4Map>, kShards> shards_{};
};

/// A backend, indexed by its node-local backend id (stable across publishes
/// while the backend exists; ids of removed backends are not present).
struct LbBackend {
    Ipv4Addr ip;
    rte_be16_t port_be = 0;
    BackendState state = BackendState::Active;
    bool present = false;   ///< false: no backend has this id (removed, or never used)
    bool local = false;     ///< runs on this node
};

/// One frontend in one scope: the backends a new flow may pick, and how.
/// "Internal" scope is traffic from this node's pods and kernel; "external"
/// is traffic from the uplink. A frontend whose two scopes select the same
/// backends shares one entry.
struct LbService {
    Ipv4Addr vip;                 ///< the frontend address (ClusterIP, node IP, LB IP, ExternalIP)
    rte_be16_t port_be = 0;       ///< the frontend port
    uint8_t proto = 0;            ///< IPPROTO_TCP or IPPROTO_UDP
    FrontendKind kind = FrontendKind::ClusterIP;
    uint16_t rev_nat_id = 0;      ///< stable per frontend, 1..65535; what conntrack entries carry
    LbAlgorithm algorithm = LbAlgorithm::Random;
    bool affinity = false;        ///< sessionAffinity ClientIP
    bool local_only = false;      ///< traffic policy Local: only this node's backends
    uint32_t affinity_timeout_s = 0;
    const uint32_t* backends = nullptr; ///< ids of the active backends to pick from (LbPicks::ids)
    uint32_t backends_n = 0;      ///< 0: no backend (reject or drop new flows)
    const uint32_t* maglev = nullptr; ///< backend ids, one per Maglev slot (LbPicks::maglev)
    uint32_t maglev_m = 0;        ///< table size; 0 unless algorithm is Maglev and backends_n > 0
};

/// The backends one service port picks from in one scope, and their Maglev
/// table. Compiled once per service and shared, unchanged, by every LbTables
/// published while the service stays as it is: LbService points into it.
struct LbPicks {
    std::vector<uint32_t> ids;    ///< backend ids
    std::vector<uint32_t> maglev; ///< backend id per slot; empty unless Maglev
};

/// A frontend: which service entry serves each scope (kNotFound: not
/// reachable from there, e.g. a ClusterIP from the uplink).
struct LbFrontend {
    uint32_t internal = kNotFound;
    uint32_t external = kNotFound;
};

/// Conntrack timeouts in seconds.
struct CtTimeouts {
    uint32_t tcp_syn = 60;
    uint32_t tcp_established = 21600;
    uint32_t tcp_close = 10;
    uint32_t udp = 60;
    uint32_t icmp = 60;
};

/// Everything the dataplane needs to load-balance and NAT.
struct LbTables {
    KeyMap64 frontend_by_key;             ///< frontend_key(vip, port, proto) -> index into frontends
    std::vector<LbFrontend> frontends;
    std::vector<LbService> services;
    std::vector<std::shared_ptr<const LbPicks>> picks; ///< what the services' backends/maglev point into
    std::vector<LbBackend> backends;        ///< by backend id
    ShardedIpv4Set backend_ips;             ///< every backend's IP: replies from them may need reverse NAT
    Ipv4Map frontend_ips;                   ///< every frontend address (see lb_frontend_ips())

    uint32_t maglev_jhash_seed = 0;   ///< MaglevSeed::jhash_v4, for the flow hash
    NodePortMode nodeport_mode = NodePortMode::Snat;
    NoBackendAction no_backends = NoBackendAction::Reject;
    Ipv4Addr hairpin_ip;              ///< source of a flow load-balanced back to its own client

    bool masquerade = false;          ///< SNAT pod traffic leaving the cluster to the node IP
    PrefixTable no_masquerade;        ///< destinations never masqueraded
    uint16_t snat_port_min = 32768;   ///< SNAT source ports, host order
    uint16_t snat_port_max = 65535;

    CtTimeouts timeouts;
    Conntrack* ct = nullptr;          ///< shared flow table (mutable; owned by the agent)
    AffinityTable* affinity = nullptr; ///< (rev_nat_id, client IP) -> backend id and last use (mutable)
};

/// The distinct frontend addresses of `lb.services`, for LbTables::frontend_ips.
inline Ipv4Map lb_frontend_ips(const LbTables& lb) {
    std::vector<Ipv4Addr> ips;
    for (const LbService& s : lb.services)
        ips.push_back(s.vip);
    std::sort(ips.begin(), ips.end());
    ips.erase(std::unique(ips.begin(), ips.end()), ips.end());
    return Ipv4Map(ips);
}

} // namespace podlane
