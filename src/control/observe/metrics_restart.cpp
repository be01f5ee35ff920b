// The podlane_restart_* families: what this podlaned restored from the state
// its predecessor left (docs/restart.md, docs/metrics.md). The values are
// settled at the start, except the checkpoint counters, and begin again with
// every process, as a counter does after a restart.
#include "control/observe/metrics.h"

#include <prometheus/metric_family.h>

namespace podlane {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily restart_family(const char* name, const char* help, MetricType type) {
    MetricFamily f;
    f.name = name;
    f.help = help;
    f.type = type;
    return f;
}

void add_value(MetricFamily& f, uint64_t v, std::vector<ClientMetric::Label> labels = {}) {
    ClientMetric m;
    m.label = std::move(labels);
    (f.type == MetricType::Counter ? m.counter.value : m.gauge.value) = static_cast<double>(v);
    f.metric.push_back(std::move(m));
}

MetricFamily restart_counter(const char* name, const char* help, uint64_t v) {
    MetricFamily f = restart_family(name, help, MetricType::Counter);
    add_value(f, v);
    return f;
}

} // namespace

void append_restart_families(const RestartSample& r, std::vector<MetricFamily>& out) {
    MetricFamily info = restart_family(
        "podlane_restart_info",
        "1, labelled with where this podlaned's start took the previous one's state from (restored_from: "
        "graceful-stop, checkpoint, none or refused) and whether the previous podlaned crashed.",
        MetricType::Gauge);
    add_value(info, 1, {{"restored_from", r.restored_from}, {"previous_crashed", r.previous_crashed ? "true" : "false"}});
    out.push_back(std::move(info));
    out.push_back(restart_counter("podlane_restart_flows_restored_total",
                                  "Conntrack flows recreated at the start from the restart state.", r.flows_restored));
    MetricFamily dropped = restart_family(
        "podlane_restart_flows_dropped_total",
        "Flows of the restart state not recreated, by reason: expired, frontend_gone (the service is gone), "
        "backend_gone, table_full.",
        MetricType::Counter);
    add_value(dropped, r.flows_expired, {{"reason", "expired"}});
    add_value(dropped, r.flows_frontend_gone, {{"reason", "frontend_gone"}});
    add_value(dropped, r.flows_backend_gone, {{"reason", "backend_gone"}});
    add_value(dropped, r.flows_table_full, {{"reason", "table_full"}});
    out.push_back(std::move(dropped));
    out.push_back(restart_counter("podlane_restart_flows_lost_total",
                                  "Flows the previous podlaned tracked before it crashed that were not restored "
                                  "(0 after a graceful stop).",
                                  r.flows_lost));
    out.push_back(restart_counter("podlane_restart_state_refused_total",
                                  "1 when the restart state file was refused (corrupted, another format version): "
                                  "this podlaned started with empty tables.",
                                  r.restored_from == "refused" ? 1 : 0));
    out.push_back(restart_counter("podlane_restart_affinity_restored_total",
                                  "Session-affinity pins recreated from the restart state.", r.affinity_restored));
    out.push_back(restart_counter("podlane_restart_neighbors_restored_total",
                                  "Uplink neighbours recreated from the restart state.", r.neighbors_restored));
    out.push_back(restart_counter("podlane_restart_pods_adopted_total",
                                  "Pod TAPs re-attached as the previous podlaned left them.", r.pods_adopted));
    out.push_back(restart_counter("podlane_restart_pods_recreated_total",
                                  "Pod TAPs made anew at the start (none was left to re-attach).", r.pods_recreated));
    out.push_back(restart_counter("podlane_restart_checkpoints_total",
                                  "Restart-state checkpoints written (restart.checkpoint_interval_s).", r.checkpoints));
    out.push_back(restart_counter("podlane_restart_checkpoint_failures_total",
                                  "Restart-state checkpoints that could not be written.", r.checkpoint_failures));
}

} // namespace podlane
