// The agent's side of the metrics: gathering plain numbers on the control
// thread and handing them to the exporter (control/observe/metrics.h).
#include "control/agent/agent.h"

#include <rte_cycles.h>
#include <rte_mempool.h>

#include "control/observe/metrics.h"

namespace podlane {

namespace {

/// How often tick() refreshes what a scrape shows.
constexpr auto kMetricsPeriod = std::chrono::milliseconds(500);

WorkerSample worker_sample(uint32_t id, const WorkerCounters& c) {
    WorkerSample w;
    w.id = id;
    w.rx_packets = c.rx_packets.get();
    w.tx_packets = c.tx_packets.get();
    w.forwarded = c.forwarded.get();
    w.arp_replies = c.arp_replies.get();
    w.icmp_replies = c.icmp_replies.get();
    w.idle_sleeps = c.idle_sleeps.get();
    w.busy_seconds = static_cast<double>(c.busy_cycles.get()) / static_cast<double>(rte_get_tsc_hz());
    w.encapsulated = c.encapsulated.get();
    w.decapsulated = c.decapsulated.get();
    w.icmp_errors = c.icmp_errors.get();
    w.arp_learned = c.arp_learned.get();
    w.neighbor_facts_lost = c.neighbor_facts_lost.get();
    w.held = c.held.get();
    w.rejected = c.rejected.get();
    for (size_t r = 0; r < kDropReasonCount; ++r)
        w.drops[r] = c.drops[r].get();
    for (size_t k = 0; k < w.policy_verdicts.size(); ++k)
        w.policy_verdicts[k] = c.policy_verdicts[k].get();
    for (size_t s = 0; s < kStageCount; ++s)
        w.stages[s] = StageSample{c.stages[s].in.get(), c.stages[s].translated.get(), c.stages[s].finished.get()};
    return w;
}

} // namespace

MetricsSnapshot Agent::metrics_snapshot() const {
    MetricsSnapshot s;
    s.dataplane_running = workers_running_;
    s.uptime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    const Snapshot* snap = tables_ ? tables_->load() : nullptr;
    s.snapshot_generation = snap ? snap->generation : 0;
    s.snapshots_pending_reclaim = tables_ ? tables_->pending() : 0;
    s.mbufs_available = pool_ ? rte_mempool_avail_count(pool_) : 0;
    s.mbufs_capacity = config_.dataplane.mbufs;
    for (uint32_t w = 0; w < worker_ctx_.size(); ++w)
        s.workers.push_back(worker_sample(w, counters_[w]));
    for (const auto& [port, name] : named_ports()) {
        const PortStats p = PortManager::stats(port);
        s.ports.push_back(PortSample{name, p.rx_packets, p.tx_packets, p.rx_bytes, p.tx_bytes, p.rx_errors,
                                     p.tx_errors, p.rx_missed, p.rx_nombuf});
    }
    if (ct_) {
        s.ct_flows = ct_->flows();
        s.ct_capacity = ct_->capacity();
        s.ct_insert_failures = ct_->insert_failures();
    }
    s.affinity_entries = affinity_ ? affinity_->size() : 0;
    if (frags_) {
        const FragTotals f = frags_->totals(ct_now_s());
        s.frag_datagrams = f.entries;
        s.frag_tracked = f.tracked;
        s.frag_hits = f.hits;
        s.frag_misses = f.misses;
        s.frag_table_full = f.full;
    }
    s.frontends = lb_->frontends.size();
    s.backends = backend_count();
    s.endpoints = endpoints_.size();
    s.publish = publish_times_;
    s.update_latency = update_latency_;
    s.bgp_enabled = bgp_ != nullptr;
    s.bgp_peers = bgp_samples();
    s.bgp_speaker_restarts = bgp_ ? bgp_->restarts() : 0;
    if (mesh_ != nullptr)
        for (const MeshRemoteStatus& r : mesh_->status())
            s.mesh_clusters.push_back(MeshClusterSample{r.name, r.ready, r.nodes, r.endpoints, r.identities,
                                                        r.services, r.refused, r.reconnects});
    s.health_enabled = health_prober_ != nullptr;
    s.node_name = config_.node_name;
    s.health = health_samples();
    for (const LbIpamPoolStatus& p : lb_ipam_pools_)
        s.lb_ipam_pools.push_back(LbIpamPoolSample{p.name, p.used, p.available(), p.conflicting, p.disabled});
    s.publishes = publishes_;
    s.source_deltas = source_deltas_;
    s.coalesced_deltas = coalesced_;
    s.restart = restart_sample();
    if (source_ != nullptr) {
        const SourceStatus st = source_->status();
        s.source_kind = st.kind;
        s.source_up = st.state == SourceState::Synced;
    }
    return s;
}

RestartSample Agent::restart_sample() const {
    const RestartReport& r = restart_;
    RestartSample out;
    out.restored_from = r.source;
    out.previous_crashed = r.previous_crashed;
    out.flows_restored = r.flows_restored;
    out.flows_lost = r.flows_lost();
    out.flows_expired = r.flows_expired;
    out.flows_frontend_gone = r.flows_frontend_gone;
    out.flows_backend_gone = r.flows_backend_gone;
    out.flows_table_full = r.flows_table_full;
    out.affinity_restored = r.affinity_restored;
    out.neighbors_restored = r.neighbors_restored;
    out.pods_adopted = r.pods_adopted;
    out.pods_recreated = r.pods_recreated;
    out.checkpoints = r.checkpoints;
    out.checkpoint_failures = r.checkpoint_failures;
    return out;
}

void Agent::feed_metrics(bool now) {
    if (metrics_ == nullptr)
        return;
    const auto t = std::chrono::steady_clock::now();
    if (!now && t - last_metrics_ < kMetricsPeriod)
        return;
    last_metrics_ = t;
    metrics_->update(metrics_snapshot());
}

void Agent::attach_metrics(Metrics* metrics) {
    metrics_ = metrics;
    feed_metrics(true);
}

} // namespace podlane
