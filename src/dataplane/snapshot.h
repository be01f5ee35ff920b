// The immutable tables the control thread publishes to the workers. This is
// the only place control and dataplane meet: plain data, built whole by
// control/snapshot_builder and read lock-free by workers (rcu_publisher.h).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include <rte_build_config.h>

struct rte_ring;

#include "common/net_types.h"
#include "dataplane/exact_map.h"
#include "dataplane/policy_table.h"
#include "dataplane/service_table.h"
#include "dataplane/tunnel_hdr.h"

namespace podlane {

inline constexpr uint16_t kMaxPorts = RTE_MAX_ETHPORTS;

/// A local pod as the dataplane sees it.
struct EndpointEntry {
    Ipv4Addr ip;
    MacAddr mac;
    uint16_t port_id = 0;  ///< the DPDK port its TAP is attached to
    uint32_t identity = 0; ///< security identity; the VNI of its tunnelled packets
};

/// What a DPDK port is, by port id.
enum class PortRole : uint8_t { Unused, Endpoint, Uplink, Host, Plain };

struct PortEntry {
    uint32_t endpoint = kNoEndpoint; ///< endpoint attached on this port, if any
    PortRole role = PortRole::Unused;
};

/// How remote PodCIDRs are reached.
enum class Routing : uint8_t { Native, Vxlan, Geneve };


/// A remote node that owns one or more PodCIDRs.
struct RemoteNode {
    Ipv4Addr ip;            ///< its node IP: next hop (native) or tunnel endpoint
    MacAddr mac;            ///< resolved next-hop MAC on the uplink
    bool mac_valid = false; ///< false until ARP resolved it
    OuterHdrs outer{};      ///< tunnel modes: the outer headers to it, per-packet fields zero
    MacAddr inner_dst_mac;  ///< tunnel modes: the inner frame's destination MAC (its kernel VXLAN device, for a node without podlane)
};

/// The node's uplink and where remote pods live. Absent on a single-node
/// dataplane (has_uplink false).
struct UplinkView {
    bool has_uplink = false;
    uint16_t port_id = 0;
    Ipv4Addr node_ip;
    MacAddr node_mac;            ///< the uplink port's MAC
    uint16_t mtu = 1500;
    Routing routing = Routing::Vxlan;
    uint16_t tunnel_port_be = 0; ///< UDP destination port, network order
    std::vector<RemoteNode> nodes;
    PrefixTable remote_cidrs;    ///< remote PodCIDR -> index into cidr_owner
    std::vector<uint32_t> cidr_owner; ///< PodCIDR index -> index into `nodes`
    rte_ring* neighbor_ring = nullptr; ///< workers push ARP facts here (NeighborFact)
    rte_ring* control_tx = nullptr;    ///< packets the control thread sends (ARP probes); worker 0 transmits them
    Ipv4Prefix subnet;                 ///< on-link on the uplink
    Ipv4Addr gateway;                  ///< router for the rest; zero: none
    Ipv4Map node_by_ip;                ///< remote node IP -> index into `nodes`
    Ipv4Map neighbor_by_ip;            ///< every resolved uplink neighbour -> index into neighbor_macs
    std::vector<MacAddr> neighbor_macs;
    bool has_host = false;             ///< the host path is on
    uint16_t host_port = 0;            ///< the TAP to the node's kernel (pl_host)
    MacAddr host_mac;                  ///< the kernel side's MAC
};

/// What a worker learnt from an ARP packet on the uplink, for the control
/// thread's neighbour cache; with port_id kResolveRequest (and no MAC), a
/// request to resolve `ip`, which a packet needed.
inline constexpr uint16_t kResolveRequest = UINT16_MAX;
struct NeighborFact {
    Ipv4Addr ip;
    MacAddr mac;
    uint16_t port_id;
};
static_assert(sizeof(NeighborFact) == 12, "ring elements are a multiple of 4 bytes");

/// One rx queue a worker polls.
struct RxQueueRef {
    uint16_t port_id = 0;
    uint16_t queue_id = 0;
};

/// The rx queues one worker polls.
struct WorkerPlan {
    std::vector<RxQueueRef> rx;
};

/// One whole, immutable view of the node's forwarding state.
struct Snapshot {
    uint64_t generation = 0;
    Ipv4Prefix pod_cidr;
    uint32_t pod_net_be = 0;  ///< pod_cidr's address, network order
    uint32_t pod_mask_be = 0; ///< pod_cidr's mask, network order: (ip & mask) == net is "local"
    Ipv4Addr gateway_ip;
    MacAddr gateway_mac;
    std::vector<EndpointEntry> endpoints; ///< indexed by Ipv4Map values
    Ipv4Map endpoint_by_ip;
    std::array<PortEntry, kMaxPorts> ports{};
    UplinkView uplink;
    std::shared_ptr<const LbTables> lb = std::make_shared<const LbTables>(); ///< services, conntrack and NAT; never null (shared between publishes while services are unchanged)
    std::vector<WorkerPlan> workers;      ///< indexed by worker id
    std::shared_ptr<const PolicyTables> policy = std::make_shared<const PolicyTables>(); ///< network policy; never null
};

} // namespace podlane
