#include "dataplane/worker.h"

#include <unistd.h>

#include <rte_ethdev.h>

#include "dataplane/pipeline.h"

namespace podlane {

namespace {

/// One round over this worker's rx queues; returns the packets received.
uint32_t poll_once(const WorkerContext& w, const Snapshot& snap) noexcept {
    uint32_t total = 0;
    if (w.worker_id >= snap.workers.size())
        return 0;
    const WorkerPlan& plan = snap.workers[w.worker_id];
    rte_mbuf* pkts[kMaxBurst];
    for (const RxQueueRef& rx : plan.rx) {
        const uint16_t n = rte_eth_rx_burst(rx.port_id, rx.queue_id, pkts, w.burst_size);
        if (n == 0)
            continue;
        total += n;
        w.counters->rx_packets.add(n);
        process_burst(snap, rx.port_id, static_cast<uint16_t>(w.worker_id), std::span(pkts, n), *w.counters);
    }
    return total;
}

} // namespace

int worker_main(void* arg) {
    const WorkerContext& w = *static_cast<const WorkerContext*>(arg);
    rte_rcu_qsbr_thread_register(w.qsbr, w.worker_id);
    rte_rcu_qsbr_thread_online(w.qsbr, w.worker_id);

    uint32_t idle_rounds = 0;
    while (!w.stop->load(std::memory_order_relaxed)) {
        const Snapshot* snap = w.tables->load();
        const uint32_t received = poll_once(w, *snap);
        // From here on this worker holds no reference to `snap`.
        rte_rcu_qsbr_quiescent(w.qsbr, w.worker_id);

        if (received != 0 || w.idle_sleep_us == 0) {
            idle_rounds = 0;
            continue;
        }
        if (++idle_rounds < w.idle_polls_before_sleep)
            continue;
        rte_rcu_qsbr_thread_offline(w.qsbr, w.worker_id);
        usleep(w.idle_sleep_us);
        rte_rcu_qsbr_thread_online(w.qsbr, w.worker_id);
        w.counters->idle_sleeps.add(1);
    }

    rte_rcu_qsbr_thread_offline(w.qsbr, w.worker_id);
    rte_rcu_qsbr_thread_unregister(w.qsbr, w.worker_id);
    return 0;
}

} // namespace podlane
