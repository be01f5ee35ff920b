// Compiling the agent's view (endpoints, ports, workers) into an immutable
// dataplane Snapshot.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/snapshot.h"

namespace podlane {

/// An endpoint with the port it is attached on.
struct AttachedEndpoint {
    Ipv4Addr ip;
    MacAddr mac;
    uint16_t port_id = 0;
};

/// Everything a snapshot is built from.
struct SnapshotInputs {
    uint64_t generation = 0;
    Ipv4Prefix pod_cidr;
    Ipv4Addr gateway_ip;
    MacAddr gateway_mac;
    std::vector<AttachedEndpoint> endpoints;
    std::vector<uint16_t> plain_ports; ///< ports with no endpoint (static devargs ports)
    uint32_t workers = 1;
};

/// Builds the snapshot. Each port's single rx queue goes to one worker,
/// round-robin in port order, so every port is polled by exactly one worker.
std::unique_ptr<Snapshot> build_snapshot(const SnapshotInputs& in);

} // namespace podlane
