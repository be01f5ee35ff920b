// The worker's burst pipeline: each packet of a received burst goes through
// the stages its ingress port calls for (pipeline.cpp's journeys: parse,
// source check / to us, load balancer, route, masquerade or encapsulation,
// deliver) to its verdict, then the burst is transmitted grouped by port.
// Each stage is a file named after it and counts what it did (stage.h).
#pragma once

#include <cstdint>
#include <span>

#include <rte_mbuf.h>

#include "dataplane/counters.h"
#include "dataplane/snapshot.h"
#include "dataplane/verdict.h"

namespace podlane {

inline constexpr uint16_t kMaxBurst = 64;

/// Counts and frees a packet the dataplane will not deliver. Every drop goes
/// through here.
inline void drop_packet(rte_mbuf* m, DropReason reason, WorkerCounters& c) noexcept {
    c.drop(reason).add(1);
    rte_pktmbuf_free(m);
}

class HoldQueue;
struct LbWorker;

/// Transmits `n` packets on `port`/`tx_queue`; what the port does not take
/// is dropped as tx_full. Counts tx_packets and returns how many were sent.
uint16_t tx_or_drop(uint16_t port, uint16_t tx_queue, rte_mbuf** pkts, uint16_t n, WorkerCounters& c) noexcept;

/// Runs each packet of a burst received on `in_port` through its stages to
/// its verdict (parsed, handled, rewritten). out_ports[i] is where pkts[i]
/// goes, or kDropPort if it was dropped (counted and freed already) or
/// handed to `hold` to wait for its next hop (without a hold queue, such
/// packets are dropped as no_neighbour). `lb` is the worker's
/// load-balancing state (worker id, random state); without one, the
/// pipeline acts as worker 0 with a fresh state.
void run_stages(const Snapshot& snap, uint16_t in_port, std::span<rte_mbuf*> pkts, uint16_t* out_ports,
                WorkerCounters& c, HoldQueue* hold = nullptr, LbWorker* lb = nullptr) noexcept;

/// Then: transmits the surviving packets grouped by output port on
/// `tx_queue`; what a port does not take is dropped as tx_full.
void transmit_burst(std::span<rte_mbuf*> pkts, const uint16_t* out_ports, uint16_t tx_queue,
                    WorkerCounters& c) noexcept;

/// Both for one received burst (at most kMaxBurst packets).
inline void process_burst(const Snapshot& snap, uint16_t in_port, uint16_t tx_queue,
                          std::span<rte_mbuf*> pkts, WorkerCounters& c, HoldQueue* hold = nullptr,
                          LbWorker* lb = nullptr) noexcept {
    uint16_t out_ports[kMaxBurst];
    run_stages(snap, in_port, pkts, out_ports, c, hold, lb);
    transmit_burst(pkts, out_ports, tx_queue, c);
}

} // namespace podlane
