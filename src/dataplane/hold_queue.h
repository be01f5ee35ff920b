// Packets waiting for their next hop's MAC, per worker (Linux's ARP queue).
// The deliver stage asks the control thread to resolve an unknown next hop;
// the packet waits here instead of being dropped, and each poll round retries it
// against the newest snapshot. What the queue cannot take, and what is still
// unresolved after kHoldTime, is dropped as no_neighbour.
#pragma once

#include <array>
#include <cstdint>

#include <rte_mbuf.h>

#include "common/net_types.h"
#include "dataplane/counters.h"
#include "dataplane/snapshot.h"

namespace podlane {

class HoldQueue {
public:
    static constexpr uint32_t kCapacity = 64;
    static constexpr double kHoldSeconds = 0.5;

    /// `tsc_hz`: TSC ticks per second, for the deadlines.
    explicit HoldQueue(uint64_t tsc_hz) noexcept : hold_ticks_(static_cast<uint64_t>(tsc_hz * kHoldSeconds)) {}
    HoldQueue(const HoldQueue&) = delete;
    HoldQueue& operator=(const HoldQueue&) = delete;

    /// Keeps `m` until `hop` resolves: an IPv4 frame not yet routed (its
    /// TTL is decremented when it leaves), or with `ready` one that only
    /// lacks its Ethernet addresses (routed, or encapsulated for a remote
    /// node). False if the queue is full: the caller drops it.
    bool push(rte_mbuf* m, Ipv4Addr hop, uint64_t now_tsc, bool ready = false) noexcept {
        if (n_ == kCapacity)
            return false;
        items_[n_++] = Held{m, hop, now_tsc + hold_ticks_, ready};
        return true;
    }

    bool empty() const noexcept { return n_ == 0; }
    uint32_t size() const noexcept { return n_; }

    /// Sends what `snap` now resolves out of the uplink on `tx_queue`, drops
    /// what has waited too long, keeps the rest.
    void retry(const Snapshot& snap, uint16_t tx_queue, uint64_t now_tsc, WorkerCounters& c) noexcept;

    /// Drops everything (the worker is stopping).
    void drain(WorkerCounters& c) noexcept;

private:
    struct Held {
        rte_mbuf* m;
        Ipv4Addr hop;
        uint64_t deadline;
        bool ready;
    };
    std::array<Held, kCapacity> items_{};
    uint32_t n_ = 0;
    uint64_t hold_ticks_;
};

} // namespace podlane
