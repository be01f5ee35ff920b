// Per-worker counters. Each worker writes only its own cache-line-aligned
// block; the control thread reads and sums them. Fields are relaxed atomics so
// the cross-thread reads are well defined; on x86 a bump is a plain add.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "dataplane/drop_reason.h"
#include "dataplane/stage.h"

namespace podlane {

enum class PolicyDirection : uint8_t;

/// A counter written by one thread and read by others.
struct Counter {
    std::atomic<uint64_t> v{0};
    void add(uint64_t n) noexcept { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    uint64_t get() const noexcept { return v.load(std::memory_order_relaxed); }
};

/// One stage's counts (stage.h), like a VPP node's.
struct StageCounters {
    Counter in;         ///< packets that entered the stage
    Counter translated; ///< packets it rewrote (NAT, encapsulation, decapsulation) and passed on
    Counter finished;   ///< packets it gave their verdict: dropped, answered, consumed, delivered or held
};

/// Everything one worker counts.
struct alignas(64) WorkerCounters {
    Counter rx_packets;    ///< received from any port
    Counter tx_packets;    ///< taken by a port's tx queue
    Counter forwarded;     ///< IPv4 packets routed to an endpoint
    Counter arp_replies;   ///< ARP replies sent for the gateway
    Counter icmp_replies;  ///< ICMP echo replies sent for the gateway
    Counter idle_sleeps;   ///< back-off sleeps after idle polls
    Counter busy_cycles;   ///< TSC cycles of polling rounds that found work (OVS's "processing cycles")
    Counter encapsulated;  ///< packets sent into a VXLAN/Geneve tunnel
    Counter decapsulated;  ///< packets received from a tunnel
    Counter icmp_errors;   ///< ICMP errors sent (fragmentation needed)
    Counter arp_learned;   ///< ARP packets consumed after passing their facts to control
    Counter neighbor_facts_lost; ///< ARP facts not passed on: the control ring was full
    Counter held;          ///< packets that waited in the hold queue for a next hop's MAC
    Counter rejected;      ///< new flows to a service with no backend answered with a TCP RST or ICMP port unreachable
    std::array<Counter, kDropReasonCount> drops; ///< by DropReason
    std::array<StageCounters, kStageCount> stages; ///< by Stage, added once per burst (stage_tally.h)
    std::array<Counter, 4> policy_verdicts; ///< new flows checked against policy: [direction * 2 + allowed]

    Counter& drop(DropReason r) noexcept { return drops[static_cast<size_t>(r)]; }
    const Counter& drop(DropReason r) const noexcept { return drops[static_cast<size_t>(r)]; }
    Counter& policy_verdict(PolicyDirection d, bool allowed) noexcept { return policy_verdicts[static_cast<size_t>(d) * 2 + allowed]; }
    StageCounters& stage(Stage s) noexcept { return stages[static_cast<size_t>(s)]; }
    const StageCounters& stage(Stage s) const noexcept { return stages[static_cast<size_t>(s)]; }
};

} // namespace podlane
