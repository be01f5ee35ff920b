// Compiling the agent's view (endpoints, ports, workers) into an immutable
// dataplane Snapshot.
#pragma once

#include <cstdint>
#include <memory>
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
};

/// Everything a snapshot is built from.
struct SnapshotInputs {
    uint64_t generation = 0;
    Ipv4Prefix pod_cidr;
    Ipv4Addr gateway_ip;
    MacAddr gateway_mac;
    std::vector<AttachedEndpoint> endpoints;
    std::vector<PortQueues> plain_ports; ///< ports with no endpoint (static devargs ports)
    uint32_t workers = 1;
};

/// Builds the snapshot. Every rx queue of every port goes to exactly one
/// worker, round-robin in (port, queue) order.
std::unique_ptr<Snapshot> build_snapshot(const SnapshotInputs& in);

} // namespace podlane
