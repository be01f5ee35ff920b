// DPDK ports on the control side: hot-plugging devices from devargs,
// configuring their queues (one tx queue per worker, and as many rx queues as
// workers where the device has them), starting, stopping and unplugging them,
// and reading their statistics.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <rte_mempool.h>

#include "common/result.h"
#include "control/ports/memif_memory.h"
#include "control/tables/snapshot_builder.h"

namespace podlane {

/// Port-level counters, as rte_eth_stats reports them.
struct PortStats {
    uint64_t rx_packets = 0, tx_packets = 0, rx_bytes = 0, tx_bytes = 0;
    uint64_t rx_errors = 0, tx_errors = 0, rx_missed = 0, rx_nombuf = 0;
};

struct PortSetup {
    rte_mempool* pool = nullptr;
    uint16_t workers = 1;      ///< tx queues per port; also the most rx queues
    uint16_t rx_ring_size = 1024;
    uint16_t tx_ring_size = 1024;
};

/// True for devargs of a zero-copy memif client ("net_memif...,zero-copy=yes").
bool is_zero_copy_memif(const std::string& devargs);

class PortManager {
public:
    explicit PortManager(PortSetup setup) : setup_(setup) {}

    /// Probes a device from devargs ("net_tap3,iface=pl0003"), configures and
    /// starts its port; returns the port id and its rx queue count. On
    /// failure nothing is left plugged. A zero-copy memif client must also
    /// connect within 2 s (see memif_memory.h).
    /// `promiscuous` false leaves the device's promiscuous mode as it is
    /// (a pod TAP re-attached in its pod: net_tap would set IFF_PROMISC on
    /// the pod's interface).
    Result<PortQueues> attach(const std::string& devargs, bool promiscuous = true);

    /// Stops, closes and unplugs a port. Callers make sure no worker can still
    /// use it (RCU grace period) first.
    void detach(uint16_t port_id);

    /// Waits up to `timeout` for the port's link to come up (a memif
    /// client's connection completes in the EAL interrupt thread after its
    /// start); true if it did.
    static bool wait_for_link(uint16_t port_id, std::chrono::milliseconds timeout);

    /// The port's device name, e.g. "net_tap3".
    static std::string name(uint16_t port_id);
    static PortStats stats(uint16_t port_id);

private:
    Result<uint16_t> configure_and_start(uint16_t port_id, bool promiscuous);
    Result<void> connect_zero_copy_memif(uint16_t port);
    PortSetup setup_;
    MemifMemoryFds memif_memory_; ///< DPDK memory descriptors zero-copy memif ports close
};

} // namespace podlane
