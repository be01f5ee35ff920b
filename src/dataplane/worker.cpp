#include "dataplane/worker.h"

#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "dataplane/pipeline.h"
#include "dataplane/service_lb.h"

namespace podlane {

namespace {

/// Worker 0 transmits what the control thread queued for the uplink (ARP
/// probes), on its own tx queue: the control thread owns no queue.
uint32_t send_control_packets(const WorkerContext& w, const Snapshot& snap) noexcept {
    const UplinkView& up = snap.uplink;
    if (w.worker_id != 0 || up.control_tx == nullptr)
        return 0;
    rte_mbuf* pkts[kMaxBurst];
    const unsigned n = rte_ring_sc_dequeue_burst(up.control_tx, reinterpret_cast<void**>(pkts), kMaxBurst, nullptr);
    if (n == 0)
        return 0;
    tx_or_drop(up.port_id, 0, pkts, static_cast<uint16_t>(n), *w.counters);
    return n;
}

/// One round over this worker's rx queues; returns the packets received.
uint32_t poll_once(const WorkerContext& w, const Snapshot& snap, LbWorker& lb) noexcept {
    uint32_t total = send_control_packets(w, snap);
    if (w.hold != nullptr && !w.hold->empty()) {
        w.hold->retry(snap, static_cast<uint16_t>(w.worker_id), rte_rdtsc(), *w.counters);
        total += w.hold->size(); // waiting packets keep the worker from sleeping
    }
    if (w.worker_id >= snap.workers.size())
        return total;
    const WorkerPlan& plan = snap.workers[w.worker_id];
    rte_mbuf* pkts[kMaxBurst];
    for (const RxQueueRef& rx : plan.rx) {
        const uint16_t n = rte_eth_rx_burst(rx.port_id, rx.queue_id, pkts, w.burst_size);
        if (n == 0)
            continue;
        total += n;
        w.counters->rx_packets.add(n);
        if (w.capture != nullptr && w.capture->active.load(std::memory_order_acquire)) [[unlikely]]
            capture_burst(*w.capture, rx.port_id, rx.queue_id, pkts, n);
        process_burst(snap, rx.port_id, static_cast<uint16_t>(w.worker_id), std::span(pkts, n), *w.counters, w.hold,
                      &lb);
    }
    return total;
}

} // namespace

int worker_main(void* arg) {
    const WorkerContext& w = *static_cast<const WorkerContext*>(arg);
    rte_rcu_qsbr_thread_register(w.qsbr, w.worker_id);
    rte_rcu_qsbr_thread_online(w.qsbr, w.worker_id);

    LbWorker lb;
    lb.worker_id = w.worker_id;
    lb.flows = w.flows;
    lb.rng = (lb.rng ^ rte_rdtsc() * (w.worker_id + 1)) | 1;
    uint32_t idle_rounds = 0;
    while (!w.stop->load(std::memory_order_relaxed)) {
        const uint64_t start = rte_rdtsc();
        const Snapshot* snap = w.tables->load();
        const uint32_t received = poll_once(w, *snap, lb);
        // From here on this worker holds no reference to `snap`.
        rte_rcu_qsbr_quiescent(w.qsbr, w.worker_id);

        if (received != 0) {
            // Rounds that found nothing are idle time: the worker's load is
            // busy_cycles over the elapsed TSC, its cost busy_cycles/rx_packets.
            w.counters->busy_cycles.add(rte_rdtsc() - start);
            idle_rounds = 0;
            continue;
        }
        if (w.idle_sleep_us == 0)
            continue;
        if (++idle_rounds < w.idle_polls_before_sleep)
            continue;
        rte_rcu_qsbr_thread_offline(w.qsbr, w.worker_id);
        usleep(w.idle_sleep_us);
        rte_rcu_qsbr_thread_online(w.qsbr, w.worker_id);
        w.counters->idle_sleeps.add(1);
    }

    if (w.hold != nullptr)
        w.hold->drain(*w.counters);
    rte_rcu_qsbr_thread_offline(w.qsbr, w.worker_id);
    rte_rcu_qsbr_thread_unregister(w.qsbr, w.worker_id);
    return 0;
}

} // namespace podlane
