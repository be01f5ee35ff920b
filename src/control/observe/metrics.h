// podlaned's Prometheus endpoint: an HTTP exposer (prometheus-cpp, civetweb
// threads) serving plain numbers that the control thread hands over. The
// exposer's threads never call into the agent or touch DPDK: a scrape only
// reads the last MetricsSnapshot, copied under a mutex. Names: docs/metrics.md.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/config/config.h"
#include "control/health/health_report.h"
#include "dataplane/drop_reason.h"
#include "dataplane/stage.h"

namespace prometheus {
class Exposer;
struct MetricFamily;
} // namespace prometheus

namespace podlane {

/// One stage's counters (dataplane/stage.h) in a WorkerSample.
struct StageSample {
    uint64_t in = 0, translated = 0, finished = 0;
};

/// One worker's counters (dataplane/counters.h), as plain numbers.
struct WorkerSample {
    uint32_t id = 0;
    uint64_t rx_packets = 0, tx_packets = 0, forwarded = 0, arp_replies = 0, icmp_replies = 0;
    uint64_t idle_sleeps = 0, encapsulated = 0, decapsulated = 0, icmp_errors = 0, arp_learned = 0;
    uint64_t neighbor_facts_lost = 0, held = 0, rejected = 0;
    double busy_seconds = 0; ///< busy_cycles / TSC hz
    std::array<uint64_t, kDropReasonCount> drops{}; ///< by DropReason
    std::array<StageSample, kStageCount> stages{};  ///< by Stage
    std::array<uint64_t, 4> policy_verdicts{};      ///< new flows checked by policy: [direction * 2 + allowed]
};

/// One port's statistics (rte_eth_stats), by its operator-facing name.
struct PortSample {
    std::string name; ///< endpoint id, static port name, "uplink:<name>" or "host:<ifname>"
    uint64_t rx_packets = 0, tx_packets = 0, rx_bytes = 0, tx_bytes = 0;
    uint64_t rx_errors = 0, tx_errors = 0, rx_missed = 0, rx_nombuf = 0;
};

/// Upper bounds (seconds) of the podlane_snapshot_publish_seconds buckets.
inline constexpr std::array<double, 15> kPublishBuckets = {1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4,
                                                           5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.25, 1.0};

/// Observations of snapshot publication durations: per-bucket (not cumulative) counts.
struct PublishHistogram {
    std::array<uint64_t, kPublishBuckets.size() + 1> buckets{}; ///< the last one is +Inf
    uint64_t count = 0;
    double sum = 0;
    void observe(double seconds);
};

/// One BGP peer's session (podlane_bgp_*).
struct BgpPeerSample {
    std::string instance, peer, address;
    bool established = false;
    uint64_t advertised = 0, received = 0;
};

/// One remote cluster of the mesh (podlane_clustermesh_*).
struct MeshClusterSample {
    std::string cluster;
    bool ready = false;
    uint64_t nodes = 0, endpoints = 0, identities = 0, services = 0, refused = 0, reconnects = 0;
};

/// One LB IPAM pool (podlane_lbipam_*), as `podlane lb-ipam pools` shows it.
struct LbIpamPoolSample {
    std::string pool;
    uint64_t used = 0, available = 0;
    bool conflicting = false, disabled = false;
};

/// What this podlaned restored from its predecessor at its start
/// (docs/restart.md), and the checkpoints it has written since (podlane_restart_*).
struct RestartSample {
    std::string restored_from = "none"; ///< graceful-stop, checkpoint, none or refused
    bool previous_crashed = false;      ///< the previous podlaned did not stop cleanly
    uint64_t flows_restored = 0, flows_lost = 0;
    uint64_t flows_expired = 0, flows_frontend_gone = 0, flows_backend_gone = 0, flows_table_full = 0;
    uint64_t affinity_restored = 0, neighbors_restored = 0, pods_adopted = 0, pods_recreated = 0;
    uint64_t checkpoints = 0, checkpoint_failures = 0;
};

/// Appends the podlane_restart_* families for `r` (metrics_restart.cpp).
void append_restart_families(const RestartSample& r, std::vector<prometheus::MetricFamily>& out);

/// Everything one metrics update carries, gathered by the control thread.
struct MetricsSnapshot {
    bool dataplane_running = false;
    double uptime_seconds = 0;
    uint64_t snapshot_generation = 0;
    uint64_t snapshots_pending_reclaim = 0;
    uint64_t mbufs_available = 0, mbufs_capacity = 0;
    std::vector<WorkerSample> workers;
    std::vector<PortSample> ports;
    uint64_t ct_flows = 0, ct_capacity = 0, ct_insert_failures = 0, affinity_entries = 0;
    uint64_t frag_datagrams = 0, frag_tracked = 0, frag_hits = 0, frag_misses = 0, frag_table_full = 0; ///< fragment tracking
    uint64_t frontends = 0, backends = 0, endpoints = 0;
    PublishHistogram publish; ///< every snapshot publication since the start
    PublishHistogram update_latency; ///< source event -> every worker on the new tables
    uint64_t publishes = 0;          ///< snapshots published
    uint64_t source_deltas = 0;      ///< cluster-state deltas taken from the source
    uint64_t coalesced_deltas = 0;   ///< of those, merged into a publish that carried another
    std::string source_kind = "none"; ///< "file", "etcd", "kubernetes" or "none"
    bool source_up = true;
    bool bgp_enabled = false;             ///< bgp.instances is not empty
    std::vector<BgpPeerSample> bgp_peers;
    uint64_t bgp_speaker_restarts = 0;
    std::vector<MeshClusterSample> mesh_clusters; ///< empty without clustermesh
    bool health_enabled = false;          ///< node health probing runs (control/health)
    std::string node_name;
    std::vector<NodeHealth> health;       ///< the last probe round
    std::vector<LbIpamPoolSample> lb_ipam_pools; ///< empty: LB IPAM is off (no pools)
    RestartSample restart;
};

/// The metric families a scrape shows for `s`.
std::vector<prometheus::MetricFamily> metric_families(const MetricsSnapshot& s);

/// The exporter: listens, and serves /metrics from the last update().
class Metrics {
public:
    /// Starts listening on config.listen() (port 0: any free port). A bind
    /// failure is an error naming metrics.listen and the reason.
    static Result<std::unique_ptr<Metrics>> start(const MetricsConfig& config);
    ~Metrics();
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    /// Replaces what the next scrapes show. Called by the control thread.
    void update(MetricsSnapshot s);
    /// The bound "address:port", with the chosen port when the config said 0.
    const std::string& address() const { return address_; }

private:
    class Collector;
    Metrics() = default;

    std::shared_ptr<Collector> collector_;          // outlives the exposer, which holds a weak_ptr
    std::unique_ptr<prometheus::Exposer> exposer_;
    std::string address_;
};

} // namespace podlane
