// Compiling the agent's view (endpoints, ports, workers) into an immutable
// dataplane Snapshot.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "dataplane/snapshot.h"

namespace podlane {

/// A port and how many rx queues it has.
struct PortQueues {
    uint16_t port_id = 0;
    uint16_t rx_queues = 1;
};

/// An endpoint with the port it is attached on.
struct AttachedEndpoint {
    Ipv4Addr ip;
    MacAddr mac;
    PortQueues port;
    uint32_t identity = 0;
};

/// A remote node with its PodCIDRs and what ARP knows of it.
struct RemoteNodeInput {
    Ipv4Addr ip;
    std::vector<Ipv4Prefix> pod_cidrs;
    MacAddr mac;
    bool mac_valid = false;
    MacAddr tunnel_mac; ///< zero: the node's own MAC
};

/// The uplink, when the node has one.
struct UplinkInput {
    PortQueues port;
    Ipv4Addr node_ip;
    MacAddr node_mac;
    uint16_t mtu = 1500;
    Routing routing = Routing::Vxlan;
    uint16_t tunnel_port = 8472; ///< host order
    std::vector<RemoteNodeInput> nodes;
    rte_ring* neighbor_ring = nullptr;
    rte_ring* control_tx = nullptr;
    Ipv4Prefix subnet;
    Ipv4Addr gateway;
    std::vector<std::pair<Ipv4Addr, MacAddr>> neighbors; ///< every resolved neighbour
    std::optional<PortQueues> host_port;                 ///< the host path's TAP
    MacAddr host_mac;
};

/// Everything a snapshot is built from.
struct SnapshotInputs {
    uint64_t generation = 0;
    Ipv4Prefix pod_cidr;
    Ipv4Addr gateway_ip;
    MacAddr gateway_mac;
    std::vector<AttachedEndpoint> endpoints;
    std::vector<PortQueues> plain_ports; ///< ports with no endpoint (static devargs ports)
    std::optional<UplinkInput> uplink;
    std::shared_ptr<const LbTables> lb;  ///< compiled services (shared, not copied); null: none
    std::shared_ptr<const PolicyTables> policy; ///< compiled network policy (shared); null: none
    uint32_t workers = 1;
};

/// Builds the snapshot. Every rx queue of every port goes to exactly one
/// worker, round-robin in (port, queue) order.
std::unique_ptr<Snapshot> build_snapshot(const SnapshotInputs& in);

} // namespace podlane
