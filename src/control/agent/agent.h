// The node agent: owns the packet pool, the ports, the workers and the
// published tables, and serves the control API. Everything here runs on the
// control thread (the EAL main lcore); workers run on their own lcores.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "control/bgp/bgp_speaker.h"
#include "control/sources/cluster_source.h"
#include "control/sources/clustermesh/cluster_mesh.h"
#include "control/policy/policy_compiler.h"
#include "control/tables/ipcache.h"
#include "dataplane/capture.h"
#include "control/config/config.h"
#include "control/health/health_prober.h"
#include "control/health/health_responder.h"
#include "control/lbipam/lb_ipam.h"
#include "control/api/control_api.h"
#include "control/pods/ipam_store.h"
#include "control/observe/metrics.h"
#include "control/ports/neighbor_cache.h"
#include "control/ports/ports.h"
#include "control/tables/service_compiler.h"
#include "control/agent/publish_pacer.h"
#include "dataplane/affinity.h"
#include "dataplane/frag_table.h"
#include "dataplane/conntrack.h"
#include "dataplane/counters.h"
#include "dataplane/rcu_publisher.h"
#include "dataplane/snapshot.h"
#include "dataplane/worker.h"

struct rte_mempool;
struct rte_ring;

namespace podlane {

/// A pod endpoint the agent has attached.
struct EndpointRecord {
    EndpointConfig spec;
    std::string netns_path;
    std::string tap_ifname; ///< name in the agent's netns before the move
    PortQueues port;
    bool adopted = false;   ///< a persistent TAP left by a previous podlaned, re-attached as it was
};

/// A static port from the config.
struct StaticPort {
    PortConfig spec;
    PortQueues port;
};

class StepTimeline;

class Agent : public ControlApi {
public:
    explicit Agent(Config config);
    ~Agent() override;

    /// Creates the pool, attaches static ports, launches the workers and
    /// attaches the config's endpoints. EAL must be initialised. Marks its
    /// steps on `timeline` when given.
    Result<void> start(StepTimeline* timeline = nullptr);
    /// Stops the workers and unplugs every port but the pods' TAPs, which
    /// stay for the next podlaned (docs/restart.md). Idempotent. Marks its
    /// steps on `timeline` when given.
    void stop(StepTimeline* timeline = nullptr);
    /// True once stop() left pod TAPs open: the EAL must not be cleaned up
    /// (its bus cleanup would close them, setting a re-attached pod's
    /// interface down); the process's exit closes them.
    bool left_pod_ports() const noexcept { return left_pod_ports_; }
    /// Periodic control work (every ~10 ms): learns what workers saw in ARP,
    /// ages and probes neighbours, republishes when next hops change, and
    /// frees tables whose grace period is over.
    void tick();
    /// Feeds `metrics` from tick() from now on (at most every 500 ms), and
    /// now; nullptr stops. The agent does not own it.
    void attach_metrics(Metrics* metrics);
    /// Applies what a cluster-state source reports: other nodes and services
    /// are replaced or changed as the delta says, recompiled and published.
    /// Returns the names of the nodes and services that changed.
    std::vector<std::string> apply_delta(ClusterDelta delta);
    /// A source's delta: applied to the state at once and published now if
    /// the last publish is 1/tables.max_publish_rate old, else merged with
    /// the deltas that follow into one publish by flush_updates().
    void enqueue_delta(ClusterDelta delta);
    /// Publishes merged deltas once the pacer allows (the control timer calls it).
    void flush_updates();
    /// The source `podlane status` reports on (not owned; nullptr: none).
    void attach_source(ClusterSource* source);
    /// Hands this node's pods and their identities to the source (etcd shares them).
    void publish_endpoints_to_source();
    /// True while an applied delta has not reached every worker yet (its
    /// update latency is not recorded yet).
    bool update_pending() const noexcept { return !pending_latency_.empty() || !unpublished_.empty(); }
    /// Records the update latency of deltas whose tables every worker now uses.
    void check_update_latency();

    Json status() override;
    Json endpoint_list() override;
    Result<Json> endpoint_add(const EndpointConfig& ep) override;
    Result<void> endpoint_delete(const std::string& id) override;
    Json stats() override;
    Json ipcache_list() override;
    Json identity_list() override;
    Json policy_get() override;
    Json neighbor_list() override;
    Json service_list() override;
    Result<Json> service_maglev(const std::string& service) override;
    Result<Json> service_update(const std::string& yaml) override;
    Result<Json> service_delete(const std::string& name) override;
    Json ct_list() override;
    Json nat_list() override;
    Json flow_list(uint64_t since, uint32_t last) override;
    Result<Json> capture_start(const std::string& filter, const std::string& path, uint64_t max_packets,
                               uint32_t snaplen) override;
    Result<Json> capture_status() override;
    Result<Json> capture_stop() override;
    // CNI (agent_cni.cpp).
    Result<Json> cni_add(const CniAddRequest& req) override;
    Result<Json> cni_del(const CniKey& key) override;
    Result<Json> cni_check(const CniKey& key) override;
    Result<Json> cni_gc(const std::vector<CniKey>& valid) override;
    Result<Json> cni_list() override;
    Result<Json> cni_status() override;
    /// Releases the attachments podlane-cni recorded as pending DELs while
    /// podlaned was down (common/pending_delete.h). main() calls it once the
    /// API socket listens, so that a DEL that failed to connect has recorded
    /// its attachment by then.
    void release_pending_cni_deletes();
    // BGP (agent_bgp.cpp).
    Result<Json> bgp_peers() override;
    Result<Json> bgp_routes_list() override;
    // LB IPAM (agent_lb_ipam.cpp).
    Result<Json> lb_ipam_pools() override;
    // Cluster Mesh (agent_clustermesh.cpp).
    /// The mesh whose remote clusters feed apply_mesh (not owned; nullptr: none).
    void attach_mesh(ClusterMesh* mesh);
    /// A remote cluster's state: its nodes and pods replace what the agent
    /// had of that cluster, its global services' backends merge into the
    /// same-named local global services. Prefixes not synced yet keep what was.
    void apply_mesh(MeshClusterState state);
    Result<Json> clustermesh_status() override;

private:
    // Cluster Mesh (agent_clustermesh.cpp).
    ClusterMesh* mesh_ = nullptr;
    std::map<std::string, MeshClusterState> mesh_states_; ///< the last state used of each remote cluster
    /// Sets every global service's remote backends from mesh_states_; returns the services that changed.
    std::vector<std::string> refresh_mesh_backends();
    /// What this node exports: its node, pods, identities, the global services, canaries.
    std::map<std::string, std::string> mesh_export() const;
    void mesh_tick();
    Json mesh_json() const;
    std::chrono::steady_clock::time_point last_mesh_export_{};
    // Node health (agent_health.cpp).
    Result<Json> health_status() override;
    /// The endpoint id of this node's health endpoint (Cilium's "health").
    static constexpr const char* kHealthEndpointId = "health";

private:
    // cilium-dbg status's lines (agent_status.cpp).
    Json status_details() const;
    Json masquerade_status() const;
    Json flow_observability_status() const;
    Json modules_status() const;
    // Node health (agent_health.cpp).
    void start_health();
    Result<void> start_health_endpoint();
    std::vector<HealthTarget> health_targets() const;
    void health_tick();
    void stop_health();
    void close_health_netns();
    Json cluster_health_status() const;
    std::vector<NodeHealth> health_samples() const;
    std::unique_ptr<HealthProber> health_prober_;
    std::vector<std::unique_ptr<HealthResponder>> health_responders_;
    int health_netns_fd_ = -1;          ///< the health endpoint's anonymous netns
    Ipv4Addr health_ip_;                ///< this node's health endpoint; zero: none
    std::string health_error_;          ///< why probing or the endpoint is not running
    std::chrono::steady_clock::time_point last_health_tick_{};

    // LB IPAM (agent_lb_ipam.cpp).
    /// Assigns the LoadBalancer addresses again (control/lbipam) into
    /// config_.services' lb_ipam; returns the services whose status changed.
    std::vector<std::string> run_lb_ipam();
    /// Takes a delta's pools and LB IPAM records; true when LB IPAM must run again.
    bool absorb_lb_ipam(const ClusterDelta& delta);
    /// Asks the source to record what changed in the last run (first writer wins).
    void record_lb_ips();
    std::vector<LbIpamPoolStatus> lb_ipam_pools_; ///< from the last run_lb_ipam
    std::map<std::string, std::vector<Ipv4Addr>> lb_records_; ///< the source's records kept apart (etcd)
    /// What record_lb_ips last asked for each service (asked once per change).
    struct LbRecordAsk {
        std::vector<Ipv4Addr> ips, recorded;
        bool operator==(const LbRecordAsk&) const = default;
    };
    std::map<std::string, LbRecordAsk> lb_asked_;

    // BGP (agent_bgp.cpp).
    Result<void> start_bgp();
    /// Takes a delta's BGP instances: starts, reconfigures or stops the speaker.
    void absorb_bgp(const ClusterDelta& delta);
    void bgp_tick();
    void stop_bgp();
    BgpRouteSet bgp_route_set() const;
    Json bgp_status() const;
    std::vector<BgpPeerSample> bgp_samples() const;
    std::unique_ptr<BgpSpeaker> bgp_;    ///< the BGP speaker, when bgp.instances is not empty
    std::chrono::steady_clock::time_point last_bgp_tick_{};
    /// What to advertise as of snapshot generation bgp_routes_generation_:
    /// recomputed only when a publish changed the services or the node
    /// (every change that moves a route publishes), not every tick.
    BgpRouteSet bgp_routes_;
    uint64_t bgp_routes_generation_ = 0;

    Result<void> attach_tap(EndpointRecord& rec);
    // Restart (agent_restart.cpp, agent_tap_adopt.cpp; docs/restart.md).
    /// Re-attaches the pod's persistent TAP left by a previous podlaned, when
    /// the pod has one that matches the endpoint; false: there is none.
    Result<bool> adopt_tap(EndpointRecord& rec);
    /// The TAP of `rec` outlives podlaned (TUNSETPERSIST in the pod); a failure is logged.
    void keep_tap(const EndpointRecord& rec, bool persistent);
    /// Before the workers start: reads what a previous podlaned left and
    /// restores what still applies (flows, affinity, neighbours); records
    /// what was restored and lost in restart_.
    void restore_restart_state();
    /// Writes the restart state (`reason`: graceful-stop or checkpoint).
    Result<size_t> save_restart_state(const std::string& reason);
    /// Periodic checkpoints and the liveness marker (every tick).
    void restart_tick();
    Json restart_status() const;
    std::string restart_state_path() const;
    struct RestartReport {
        std::string source = "none";      ///< graceful-stop, checkpoint, none, refused
        std::string error;                ///< why a state file was refused
        bool previous_crashed = false;    ///< the previous podlaned did not stop cleanly
        uint64_t previous_pid = 0;
        uint64_t previous_flows = 0;      ///< flows it tracked at its last liveness mark
        int64_t state_age_ms = 0;
        uint64_t flows_restored = 0, flows_expired = 0, flows_frontend_gone = 0, flows_backend_gone = 0,
                 flows_table_full = 0;
        uint64_t affinity_restored = 0, affinity_dropped = 0, neighbors_restored = 0;
        uint64_t pods_adopted = 0, pods_recreated = 0;
        double restore_ms = 0;
        uint64_t checkpoints = 0, checkpoint_failures = 0;
        double last_checkpoint_ms = 0;
        std::string last_checkpoint_error;
        /// Flows the crashed predecessor tracked that were not restored.
        uint64_t flows_lost() const {
            return previous_crashed && previous_flows > flows_restored ? previous_flows - flows_restored : 0;
        }
    };
    RestartReport restart_;
    bool left_pod_ports_ = false;
    std::chrono::steady_clock::time_point last_checkpoint_{}, last_mark_{};
    Result<void> attach_vhost(EndpointRecord& rec); // agent_vhost.cpp
    Result<void> attach_memif(EndpointRecord& rec); // agent_memif.cpp
    // CNI (agent_cni.cpp).
    Result<void> start_cni();
    Result<IpamStore*> cni_store();
    Result<Json> attach_cni(const CniAttachment& a);
    Json cni_result(const CniAttachment& a) const;
    std::unique_ptr<IpamStore> ipam_store_;

    Result<void> start_uplink();
    void send_arp_probe(Ipv4Addr target);
    std::vector<EndpointConfig> endpoint_specs() const;
    MacAddr host_mac() const;
    Result<void> check_workers_available() const;
    void publish();
    // Services (agent_services.cpp).
    Result<void> start_services();
    Result<void> compile_services_now();
    void services_tick();
    ServiceCompileInputs service_inputs() const;
    Json services_status() const;
    /// The service of config_.services with this name, or nullptr.
    const ServiceConfig* service_named(const std::string& name) const;
    Json conntrack_stats() const;
    Json fragment_stats() const; ///< the fragment table's counters, or null when off
    Json endpoint_json(const EndpointRecord& rec) const;
    size_t backend_count() const;
    /// Every attached port with its operator-facing name (as in stats()).
    std::vector<std::pair<uint16_t, std::string>> named_ports() const;
    // Metrics (agent_metrics.cpp).
    MetricsSnapshot metrics_snapshot() const;
    RestartSample restart_sample() const; // restart_ for podlane_restart_* (agent_metrics.cpp)
    void feed_metrics(bool now);

    Json source_status() const;
    Json updates_status() const;
    Json applied(const std::vector<std::string>& changed);
    /// Applies a delta to the state (not published yet); its changed names,
    /// and whether the workers' tables must change.
    std::pair<std::vector<std::string>, bool> absorb(ClusterDelta& delta);

    Config config_;
    rte_mempool* pool_ = nullptr;
    std::unique_ptr<PortManager> ports_;
    std::unique_ptr<Qsbr> qsbr_;
    std::unique_ptr<RcuPublisher<Snapshot>> tables_;
    std::unique_ptr<WorkerCounters[]> counters_;
    std::vector<std::unique_ptr<HoldQueue>> hold_queues_;
    // Flow events (agent_observe.cpp).
    std::unique_ptr<FlowTap[]> taps_;           ///< one per worker when observe is on
    std::vector<rte_ring*> flow_rings_;
    struct StoredFlow {
        uint64_t seq;
        double time;                            ///< seconds since the epoch
        FlowEvent event;
    };
    std::deque<StoredFlow> flows_;
    uint64_t flow_seq_ = 0;
    Result<void> start_observe();
    void stop_observe();
    void drain_flows();
    Json flow_json(const StoredFlow& f, const std::vector<IpcacheEntry>& ipcache) const;
    // Packet capture (agent_capture.cpp).
    std::unique_ptr<CaptureTap[]> capture_taps_; ///< one per worker
    rte_mempool* capture_pool_ = nullptr;        ///< pcapng copies; made by the first capture
    struct CaptureRun {
        rte_pcapng_t* file = nullptr;            ///< non-null while the capture runs
        std::string path;                        ///< empty: no capture ran yet
        std::string filter;
        uint64_t max_packets = 0;                ///< 0: until stopped
        uint64_t written = 0;
        uint64_t matched_base = 0, lost_base = 0; ///< the taps' counters when it started
        bool write_failed = false;
        std::string error;
        std::chrono::steady_clock::time_point started, stopped;
    };
    CaptureRun capture_;
    Result<void> start_capture_taps();
    void stop_capture_taps();
    void write_captured();
    void drain_capture();
    Json finish_capture();
    Json capture_json() const;
    std::vector<WorkerContext> worker_ctx_;
    std::atomic<bool> stop_workers_{false};
    bool workers_running_ = false;

    std::map<std::string, EndpointRecord> endpoints_; ///< by id
    std::vector<StaticPort> static_ports_;
    std::optional<StaticPort> uplink_;  ///< config.uplinks[0], when present
    std::optional<PortQueues> host_port_; ///< the host path's TAP, when on
    Result<void> start_host_path();
    MacAddr node_mac_;
    rte_ring* neighbor_ring_ = nullptr; ///< workers -> control: NeighborFact
    rte_ring* control_tx_ = nullptr;    ///< control -> worker 0: packets for the uplink
    NeighborCache neighbors_;
    std::unique_ptr<Conntrack> ct_;
    std::unique_ptr<AffinityTable> affinity_;
    std::unique_ptr<FragTable> frags_; ///< IPv4 fragment tracking (conntrack.max_fragment_datagrams)
    ServiceCompiler services_;          ///< one compiled unit per service; recompiles what changed
    std::shared_ptr<const LbTables> lb_ = std::make_shared<const LbTables>(); ///< the last assembled tables, shared by snapshots
    CompiledPolicy policy_;         ///< the last compiled network policy (agent_policy.cpp)
    uint64_t policy_revision_ = 0;
    /// Compiles the policies for the current endpoints and identities (every publish).
    void compile_policy_now();
    /// The policy enforcement of local endpoint `id`, for endpoint.list.
    Json endpoint_policy_json(const std::string& id) const;
    bool lb_dirty_ = true;              ///< recompile every service (node-wide settings changed)
    bool host_ports_dirty_ = false;     ///< local endpoints' hostPorts changed
    bool lb_reassemble_ = false;        ///< node-wide inputs (other nodes) changed: assemble again
    std::vector<std::string> changed_services_; ///< services to recompile, by name
    std::chrono::steady_clock::time_point last_gc_{};
    uint64_t generation_ = 0;
    uint32_t tap_seq_ = 0;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    uint64_t workers_started_tsc_ = 0;  ///< TSC when the workers were launched: their busy share's base
    Metrics* metrics_ = nullptr;
    PublishHistogram publish_times_;    ///< how long each publish() took
    std::chrono::steady_clock::time_point last_metrics_{};
    ClusterSource* source_ = nullptr;
    /// A control loop as `podlane status` shows it (cilium-dbg's controllers).
    struct Controller {
        uint64_t runs = 0;
        uint64_t failures = 0;      ///< runs that ended in an error
        uint64_t consecutive_failures = 0;
        std::string last_error;
        std::chrono::steady_clock::time_point last_run{};
    };
    std::map<std::string, Controller> controllers_;
    void controller_ran(const std::string& name, const std::string& error = "");
    Json controllers_json() const;
    Json ipam_json() const;
    uint64_t state_updates_ = 0;        ///< deltas that changed something
    struct PendingLatency {
        uint64_t token;                 ///< QSBR token of the publish that carried the delta
        std::chrono::steady_clock::time_point received;
    };
    std::deque<PendingLatency> pending_latency_;
    /// When each absorbed delta still waiting for a publish was received.
    std::vector<std::chrono::steady_clock::time_point> unpublished_;
    PublishPacer pacer_{config_.tables.max_publish_rate};
    uint64_t publishes_ = 0;            ///< snapshots published
    uint64_t source_deltas_ = 0;        ///< deltas enqueue_delta took
    uint64_t coalesced_ = 0;            ///< of those, merged into a publish that carried another
    PublishHistogram update_latency_;   ///< source event -> every worker on the new tables
};

} // namespace podlane
