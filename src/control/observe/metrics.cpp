// The metric families podlaned exposes (docs/metrics.md) and the exporter
// that serves them. Families are built at scrape time from a copy of the
// last MetricsSnapshot, on the exposer's thread; nothing here touches DPDK.
#include "control/observe/metrics.h"
#include "control/observe/metrics_health.h"

#include <cerrno>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>

namespace podlane {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

/// A worker counter, exposed summed over the workers.
struct TotalDef {
    const char* name;
    const char* help;
    uint64_t WorkerSample::*field;
};

constexpr TotalDef kTotals[] = {
    {"podlane_rx_packets_total", "Packets the workers received from any port.", &WorkerSample::rx_packets},
    {"podlane_tx_packets_total", "Packets a port's tx queue took from the workers.", &WorkerSample::tx_packets},
    {"podlane_forward_count_total", "IPv4 packets forwarded: to a local endpoint, into or out of a tunnel, to the uplink or the host.",
     &WorkerSample::forwarded},
    {"podlane_encapsulated_packets_total", "Packets sent into a VXLAN or Geneve tunnel.", &WorkerSample::encapsulated},
    {"podlane_decapsulated_packets_total", "Packets received from a VXLAN or Geneve tunnel.", &WorkerSample::decapsulated},
    {"podlane_arp_replies_total", "ARP replies sent for addresses podlane owns (the gateway, the node IP).", &WorkerSample::arp_replies},
    {"podlane_icmp_echo_replies_total", "ICMP echo replies sent for addresses podlane owns (the gateway, the node IP).", &WorkerSample::icmp_replies},
    {"podlane_icmp_errors_sent_total", "ICMP errors sent (fragmentation needed).", &WorkerSample::icmp_errors},
    {"podlane_rejected_total", "Packets of new flows to a service without backends, answered with a TCP RST or ICMP port unreachable.",
     &WorkerSample::rejected},
    {"podlane_held_packets_total", "Packets that waited in a hold queue for a next hop's MAC.", &WorkerSample::held},
    {"podlane_arp_learned_total", "ARP packets whose facts the workers passed to the control thread.", &WorkerSample::arp_learned},
    {"podlane_neighbor_facts_lost_total", "ARP facts not passed to the control thread: its ring was full.",
     &WorkerSample::neighbor_facts_lost},
    {"podlane_idle_sleeps_total", "Back-off sleeps of the workers after runs of empty polls.", &WorkerSample::idle_sleeps},
};

/// A port statistic, exposed with a port label per port.
struct PortDef {
    const char* name;
    const char* help;
    uint64_t PortSample::*field;
};

constexpr PortDef kPortStats[] = {
    {"podlane_port_rx_packets_total", "Packets received on the port.", &PortSample::rx_packets},
    {"podlane_port_tx_packets_total", "Packets sent on the port.", &PortSample::tx_packets},
    {"podlane_port_rx_bytes_total", "Bytes received on the port.", &PortSample::rx_bytes},
    {"podlane_port_tx_bytes_total", "Bytes sent on the port.", &PortSample::tx_bytes},
    {"podlane_port_rx_errors_total", "Erroneous packets received on the port.", &PortSample::rx_errors},
    {"podlane_port_tx_errors_total", "Packets the port failed to send.", &PortSample::tx_errors},
    {"podlane_port_rx_missed_total", "Packets the port dropped: its rx ring was full.", &PortSample::rx_missed},
    {"podlane_port_rx_nombuf_total", "Receive attempts that found no free mbuf.", &PortSample::rx_nombuf},
};

MetricFamily family(std::string name, std::string help, MetricType type) {
    MetricFamily f;
    f.name = std::move(name);
    f.help = std::move(help);
    f.type = type;
    return f;
}

void add(MetricFamily& f, double v, Labels labels = {}) {
    ClientMetric m;
    m.label = std::move(labels);
    (f.type == MetricType::Counter ? m.counter.value : m.gauge.value) = v;
    f.metric.push_back(std::move(m));
}

MetricFamily gauge(std::string name, std::string help, double v) {
    MetricFamily f = family(std::move(name), std::move(help), MetricType::Gauge);
    add(f, v);
    return f;
}

MetricFamily counter(std::string name, std::string help, double v) {
    MetricFamily f = family(std::move(name), std::move(help), MetricType::Counter);
    add(f, v);
    return f;
}

MetricFamily drops_family(const MetricsSnapshot& s) {
    std::string help = "Packets the dataplane dropped, by reason, summed over the workers. Reasons:";
    for (size_t r = 0; r < kDropReasonCount; ++r) {
        const auto reason = static_cast<DropReason>(r);
        help += (r == 0 ? " " : "; ") + std::string(drop_reason_name(reason)) + ": " +
                std::string(drop_reason_help(reason));
    }
    MetricFamily f = family("podlane_drop_count_total", help + ".", MetricType::Counter);
    for (size_t r = 0; r < kDropReasonCount; ++r) {
        uint64_t n = 0;
        for (const WorkerSample& w : s.workers)
            n += w.drops[r];
        add(f, static_cast<double>(n), {{"reason", std::string(drop_reason_name(static_cast<DropReason>(r)))}});
    }
    return f;
}

MetricFamily policy_family(const MetricsSnapshot& s) {
    MetricFamily f = family("podlane_policy_verdicts_total",
                            "New flows checked against network policy at a local endpoint, summed over the workers, "
                            "by direction (ingress, egress) and action (allowed, denied).",
                            MetricType::Counter);
    for (size_t k = 0; k < 4; ++k) {
        uint64_t n = 0;
        for (const WorkerSample& w : s.workers)
            n += w.policy_verdicts[k];
        add(f, static_cast<double>(n), {{"direction", k / 2 == 0 ? "ingress" : "egress"}, {"action", k % 2 ? "allowed" : "denied"}});
    }
    return f;
}

MetricFamily stages_family(const MetricsSnapshot& s) {
    std::string help = "Packets per worker and pipeline stage: kind=in entered it, translated were rewritten by it "
                       "and passed on, finished got their verdict there (dropped, answered or delivered). Stages:";
    for (size_t i = 0; i < kStageCount; ++i) {
        const auto stage = static_cast<Stage>(i);
        help += (i == 0 ? " " : "; ") + std::string(stage_name(stage)) + ": " + std::string(stage_help(stage));
    }
    MetricFamily f = family("podlane_stage_packets_total", help + ".", MetricType::Counter);
    for (const WorkerSample& w : s.workers) {
        for (size_t i = 0; i < kStageCount; ++i) {
            const std::string stage(stage_name(static_cast<Stage>(i)));
            const StageSample& n = w.stages[i];
            for (const auto& [kind, v] : {std::pair{"in", n.in}, {"translated", n.translated}, {"finished", n.finished}})
                add(f, static_cast<double>(v), {{"worker", std::to_string(w.id)}, {"stage", stage}, {"kind", kind}});
        }
    }
    return f;
}

MetricFamily histogram_family(const std::string& name, const std::string& help, const PublishHistogram& h) {
    MetricFamily f = family(name, help, MetricType::Histogram);
    ClientMetric m;
    m.histogram.sample_count = h.count;
    m.histogram.sample_sum = h.sum;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.buckets.size(); ++i) {
        cumulative += h.buckets[i];
        const double bound = i < kPublishBuckets.size() ? kPublishBuckets[i] : std::numeric_limits<double>::infinity();
        m.histogram.bucket.push_back({cumulative, bound});
    }
    f.metric.push_back(std::move(m));
    return f;
}

/// Why binding `config`'s address fails, from our own probe; empty if it does not.
std::string bind_problem(const MetricsConfig& config) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return std::strerror(errno);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = config.address.be;
    sa.sin_port = htons(config.port);
    std::string problem;
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 1) != 0)
        problem = std::strerror(errno);
    ::close(fd);
    return problem;
}

} // namespace

void PublishHistogram::observe(double seconds) {
    size_t i = 0;
    while (i < kPublishBuckets.size() && seconds > kPublishBuckets[i])
        ++i;
    ++buckets[i];
    ++count;
    sum += seconds;
}

std::vector<MetricFamily> metric_families(const MetricsSnapshot& s) {
    std::vector<MetricFamily> out;
    out.push_back(gauge("podlane_agent_up", "1 while podlaned's dataplane workers run.", s.dataplane_running ? 1 : 0));
    out.push_back(gauge("podlane_uptime_seconds", "Seconds since podlaned started.", s.uptime_seconds));
    out.push_back(gauge("podlane_snapshot_generation", "Generation of the table snapshot the workers use.",
                        static_cast<double>(s.snapshot_generation)));
    out.push_back(gauge("podlane_snapshots_pending_reclaim", "Retired snapshots waiting for their RCU grace period.",
                        static_cast<double>(s.snapshots_pending_reclaim)));
    out.push_back(gauge("podlane_mbufs_available", "Free mbufs in the packet pool.", static_cast<double>(s.mbufs_available)));
    out.push_back(gauge("podlane_mbufs_capacity", "Mbufs in the packet pool.", static_cast<double>(s.mbufs_capacity)));
    out.push_back(gauge("podlane_workers", "Dataplane worker lcores.", static_cast<double>(s.workers.size())));

    for (const TotalDef& d : kTotals) {
        uint64_t n = 0;
        for (const WorkerSample& w : s.workers)
            n += w.*d.field;
        out.push_back(counter(d.name, d.help, static_cast<double>(n)));
    }
    out.push_back(drops_family(s));
    out.push_back(policy_family(s));
    out.push_back(stages_family(s));
    MetricFamily worker_rx = family("podlane_worker_rx_packets_total", "Packets received, by worker.", MetricType::Counter);
    MetricFamily worker_idle = family("podlane_worker_idle_sleeps_total", "Back-off sleeps after empty polls, by worker.",
                                      MetricType::Counter);
    MetricFamily worker_busy = family("podlane_worker_busy_seconds_total",
                                      "Time a worker spent in polling rounds that found packets, by worker: "
                                      "its rate is the worker's load (1 = saturated).",
                                      MetricType::Counter);
    for (const WorkerSample& w : s.workers) {
        add(worker_rx, static_cast<double>(w.rx_packets), {{"worker", std::to_string(w.id)}});
        add(worker_idle, static_cast<double>(w.idle_sleeps), {{"worker", std::to_string(w.id)}});
        add(worker_busy, w.busy_seconds, {{"worker", std::to_string(w.id)}});
    }
    out.push_back(std::move(worker_rx));
    out.push_back(std::move(worker_idle));
    out.push_back(std::move(worker_busy));

    for (const PortDef& d : kPortStats) {
        MetricFamily f = family(d.name, d.help, MetricType::Counter);
        for (const PortSample& p : s.ports)
            add(f, static_cast<double>(p.*d.field), {{"port", p.name}});
        out.push_back(std::move(f));
    }

    out.push_back(gauge("podlane_conntrack_flows", "Flows in the conntrack table.", static_cast<double>(s.ct_flows)));
    out.push_back(gauge("podlane_conntrack_capacity_flows", "Flows the conntrack table can hold (conntrack.max_flows).",
                        static_cast<double>(s.ct_capacity)));
    out.push_back(counter("podlane_conntrack_insert_failures_total", "New flows the conntrack table could not hold.",
                          static_cast<double>(s.ct_insert_failures)));
    out.push_back(gauge("podlane_fragment_datagrams", "IPv4 datagrams whose fragments are tracked now (first fragment's ports remembered).",
                        static_cast<double>(s.frag_datagrams)));
    {
        MetricFamily f = family("podlane_fragments_total",
                                "IPv4 fragments to services and NAT: tracked (first fragments remembered), hit (later "
                                "fragments that found them), miss (later fragments that did not: dropped), table_full "
                                "(first fragments that evicted an older datagram).",
                                MetricType::Counter);
        add(f, static_cast<double>(s.frag_tracked), {{"result", "tracked"}});
        add(f, static_cast<double>(s.frag_hits), {{"result", "hit"}});
        add(f, static_cast<double>(s.frag_misses), {{"result", "miss"}});
        add(f, static_cast<double>(s.frag_table_full), {{"result", "table_full"}});
        out.push_back(std::move(f));
    }
    out.push_back(gauge("podlane_affinity_entries", "Session affinity pins (ClientIP).", static_cast<double>(s.affinity_entries)));
    out.push_back(gauge("podlane_services", "Service frontends (ClusterIP, NodePort, LoadBalancer, ExternalIP, HostPort).",
                        static_cast<double>(s.frontends)));
    out.push_back(gauge("podlane_service_backends", "Service backends.", static_cast<double>(s.backends)));
    out.push_back(gauge("podlane_endpoints", "Local pod endpoints.", static_cast<double>(s.endpoints)));
    out.push_back(histogram_family("podlane_snapshot_publish_seconds",
                                   "Time to build and publish one table snapshot to the workers (services compiled "
                                   "when changed), from the start of the build to the pointer swap.",
                                   s.publish));
    out.push_back(histogram_family("podlane_update_latency_seconds",
                                   "From a cluster-state source event (a file reload, an etcd or Kubernetes watch "
                                   "event) to every worker using the tables that carry it.",
                                   s.update_latency));
    out.push_back(counter("podlane_snapshot_publishes_total", "Table snapshots published to the workers.",
                          static_cast<double>(s.publishes)));
    out.push_back(counter("podlane_source_updates_total", "Cluster-state updates (deltas) taken from the source.",
                          static_cast<double>(s.source_deltas)));
    out.push_back(counter("podlane_source_updates_coalesced_total",
                          "Cluster-state updates merged into a publish that carried another one "
                          "(tables.max_publish_rate).",
                          static_cast<double>(s.coalesced_deltas)));
    MetricFamily up = family("podlane_source_up",
                             "1 while the cluster-state source is in sync; 0 while it connects, is disconnected "
                             "or its data is invalid (the last good state stays in the dataplane).",
                             MetricType::Gauge);
    add(up, s.source_up ? 1.0 : 0.0, {{"source", s.source_kind}});
    out.push_back(std::move(up));
    if (s.bgp_enabled) {
        MetricFamily state = family("podlane_bgp_session_state",
                                    "1 while the BGP session with the peer is Established, else 0.", MetricType::Gauge);
        MetricFamily adv = family("podlane_bgp_advertised_prefixes",
                                  "Prefixes the speaker advertises to the peer (0 while its session is down).",
                                  MetricType::Gauge);
        MetricFamily rcv = family("podlane_bgp_received_prefixes",
                                  "Prefixes received from the peer and accepted (0 while its session is down).",
                                  MetricType::Gauge);
        for (const BgpPeerSample& p : s.bgp_peers) {
            const Labels l{{"instance", p.instance}, {"peer", p.peer}, {"address", p.address}};
            add(state, p.established ? 1.0 : 0.0, l);
            add(adv, static_cast<double>(p.advertised), l);
            add(rcv, static_cast<double>(p.received), l);
        }
        MetricFamily restarts = family("podlane_bgp_speaker_restarts_total",
                                       "Times podlaned started the BGP speaker (BIRD) again after it died.",
                                       MetricType::Counter);
        add(restarts, static_cast<double>(s.bgp_speaker_restarts), {});
        out.push_back(std::move(state));
        out.push_back(std::move(adv));
        out.push_back(std::move(rcv));
        out.push_back(std::move(restarts));
    }
    if (!s.mesh_clusters.empty()) {
        MetricFamily ready = family("podlane_clustermesh_remote_cluster_ready",
                                    "1 while the remote cluster's etcd is connected and every prefix synced.",
                                    MetricType::Gauge);
        MetricFamily nodes = family("podlane_clustermesh_remote_cluster_nodes", "Nodes the remote cluster lists.",
                                    MetricType::Gauge);
        MetricFamily eps = family("podlane_clustermesh_remote_cluster_endpoints",
                                  "Pod IPs (ipcache entries) of the remote cluster in use.", MetricType::Gauge);
        MetricFamily ids = family("podlane_clustermesh_remote_cluster_identities",
                                  "Identities the remote cluster lists.", MetricType::Gauge);
        MetricFamily svcs = family("podlane_clustermesh_remote_cluster_services",
                                   "Global services the remote cluster exports.", MetricType::Gauge);
        MetricFamily refused = family("podlane_clustermesh_refused_ipcache_entries",
                                      "Remote ipcache entries refused: identity outside the cluster's range.",
                                      MetricType::Gauge);
        MetricFamily reconn = family("podlane_clustermesh_remote_cluster_reconnects_total",
                                     "Times the remote cluster's etcd was lost and found again.", MetricType::Counter);
        for (const MeshClusterSample& c : s.mesh_clusters) {
            const Labels l{{"target_cluster", c.cluster}};
            add(ready, c.ready ? 1.0 : 0.0, l);
            add(nodes, static_cast<double>(c.nodes), l);
            add(eps, static_cast<double>(c.endpoints), l);
            add(ids, static_cast<double>(c.identities), l);
            add(svcs, static_cast<double>(c.services), l);
            add(refused, static_cast<double>(c.refused), l);
            add(reconn, static_cast<double>(c.reconnects), l);
        }
        for (MetricFamily* f : {&ready, &nodes, &eps, &ids, &svcs, &refused, &reconn})
            out.push_back(std::move(*f));
    }
    if (s.health_enabled)
        add_health_families(out, s.health, s.node_name);
    if (!s.lb_ipam_pools.empty()) {
        MetricFamily used = family("podlane_lbipam_ips_used",
                                   "Addresses of the LB IPAM pool held by a service.", MetricType::Gauge);
        MetricFamily available = family("podlane_lbipam_ips_available",
                                        "Addresses the LB IPAM pool can still give.", MetricType::Gauge);
        MetricFamily conflicting = family("podlane_lbipam_pool_conflicting",
                                          "1 while the pool overlaps an older pool (it gives no address), else 0.",
                                          MetricType::Gauge);
        MetricFamily disabled = family("podlane_lbipam_pool_disabled", "1 while the pool is disabled, else 0.",
                                       MetricType::Gauge);
        for (const LbIpamPoolSample& p : s.lb_ipam_pools) {
            const Labels l{{"pool", p.pool}};
            add(used, static_cast<double>(p.used), l);
            add(available, static_cast<double>(p.available), l);
            add(conflicting, p.conflicting ? 1.0 : 0.0, l);
            add(disabled, p.disabled ? 1.0 : 0.0, l);
        }
        out.push_back(std::move(used));
        out.push_back(std::move(available));
        out.push_back(std::move(conflicting));
        out.push_back(std::move(disabled));
    }
    append_restart_families(s.restart, out);
    return out;
}

/// The Collectable the exposer calls on its own threads: copies the last
/// update under the mutex, then builds the families from the copy.
class Metrics::Collector : public prometheus::Collectable {
public:
    std::vector<MetricFamily> Collect() const override {
        MetricsSnapshot s;
        {
            std::lock_guard lock(mutex_);
            s = snapshot_;
        }
        return metric_families(s);
    }
    void update(MetricsSnapshot s) {
        std::lock_guard lock(mutex_);
        snapshot_ = std::move(s);
    }

private:
    mutable std::mutex mutex_;
    MetricsSnapshot snapshot_;
};

Result<std::unique_ptr<Metrics>> Metrics::start(const MetricsConfig& config) {
    std::unique_ptr<Metrics> m(new Metrics());
    m->collector_ = std::make_shared<Collector>();
    try {
        m->exposer_ = std::make_unique<prometheus::Exposer>(config.listen(), 2);
    } catch (const std::exception& e) {
        const std::string why = bind_problem(config);
        return make_error("metrics.listen: cannot listen on " + config.listen() + ": " + (why.empty() ? e.what() : why) +
                          " (choose another address or port, or set metrics.enabled: false)");
    }
    m->exposer_->RegisterCollectable(m->collector_);
    const std::vector<int> ports = m->exposer_->GetListeningPorts();
    m->address_ = config.address.str() + ":" + std::to_string(ports.empty() ? config.port : ports.front());
    return m;
}

Metrics::~Metrics() = default;

void Metrics::update(MetricsSnapshot s) { collector_->update(std::move(s)); }

} // namespace podlane
