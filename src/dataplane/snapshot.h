// The immutable tables the control thread publishes to the workers. This is
// the only place control and dataplane meet: plain data, built whole by
// control/snapshot_builder and read lock-free by workers (rcu_publisher.h).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <rte_build_config.h>

#include "common/net_types.h"
#include "dataplane/endpoint_table.h"

namespace podlane {

inline constexpr uint16_t kMaxPorts = RTE_MAX_ETHPORTS;

/// A local pod as the dataplane sees it.
struct EndpointEntry {
    Ipv4Addr ip;
    MacAddr mac;
    uint16_t port_id = 0; ///< the DPDK port its TAP is attached to
};

/// What a DPDK port is, by port id.
struct PortEntry {
    bool in_use = false;
    uint32_t endpoint = kNoEndpoint; ///< endpoint attached on this port, if any
};

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
    Ipv4Addr gateway_ip;
    MacAddr gateway_mac;
    std::vector<EndpointEntry> endpoints; ///< indexed by EndpointTable values
    EndpointTable endpoint_by_ip;
    std::array<PortEntry, kMaxPorts> ports{};
    std::vector<WorkerPlan> workers;      ///< indexed by worker id
};

} // namespace podlane
