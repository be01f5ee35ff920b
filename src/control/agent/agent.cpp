#include "control/agent/agent.h"
#include "control/agent/step_timeline.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_arp.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_cycles.h>

#include "control/tables/identity.h"
#include "control/tables/ipcache.h"
#include "control/observe/metrics.h"
#include "control/ports/netlink.h"
#include "control/tables/snapshot_builder.h"
#include "dataplane/drop_reason.h"
#include "dataplane/stage.h"

namespace podlane {

namespace {

constexpr const char* kVersion = "0.1.0";

Json counters_json(const WorkerCounters& c) {
    Json drops = Json::object();
    for (size_t r = 0; r < kDropReasonCount; ++r)
        drops[std::string(drop_reason_name(static_cast<DropReason>(r)))] = c.drops[r].get();
    return Json{{"rx_packets", c.rx_packets.get()},   {"tx_packets", c.tx_packets.get()},
                {"forwarded", c.forwarded.get()},     {"arp_replies", c.arp_replies.get()},
                {"icmp_replies", c.icmp_replies.get()}, {"idle_sleeps", c.idle_sleeps.get()},
                {"busy_cycles", c.busy_cycles.get()},
                {"encapsulated", c.encapsulated.get()}, {"decapsulated", c.decapsulated.get()},
                {"icmp_errors", c.icmp_errors.get()},   {"arp_learned", c.arp_learned.get()},
                {"neighbor_facts_lost", c.neighbor_facts_lost.get()}, {"held", c.held.get()},
                {"rejected", c.rejected.get()}, {"drops", drops}};
}

/// Per-stage counters of `n` workers from `c` on, summed, in the pipeline's
/// order: [{"stage", "in", "translated", "finished"}].
Json stages_json(const WorkerCounters* c, size_t n) {
    Json stages = Json::array();
    for (size_t i = 0; i < kStageCount; ++i) {
        const auto s = static_cast<Stage>(i);
        uint64_t in = 0, translated = 0, finished = 0;
        for (size_t w = 0; w < n; ++w) {
            in += c[w].stage(s).in.get();
            translated += c[w].stage(s).translated.get();
            finished += c[w].stage(s).finished.get();
        }
        stages.push_back(
            Json{{"stage", std::string(stage_name(s))}, {"in", in}, {"translated", translated}, {"finished", finished}});
    }
    return stages;
}

/// Adds every number in `from` into `into` (same shape, nested objects allowed).
void add_counters(Json& into, const Json& from) {
    if (!into.is_object())
        into = Json::object();
    for (auto& [k, v] : from.items()) {
        if (v.is_object())
            add_counters(into[k], v);
        else if (v.is_number())
            into[k] = into.value(k, uint64_t{0}) + v.get<uint64_t>();
    }
}

} // namespace

Agent::Agent(Config config) : config_(std::move(config)), neighbors_(config_.neighbor) {
    // Sorted by name, as apply_delta keeps them (a binary search per change).
    std::stable_sort(config_.services.begin(), config_.services.end(),
                     [](const ServiceConfig& a, const ServiceConfig& b) { return a.name < b.name; });
    std::stable_sort(config_.nodes.begin(), config_.nodes.end(),
                     [](const PeerNodeConfig& a, const PeerNodeConfig& b) { return a.name < b.name; });
    run_lb_ipam();
}

Agent::~Agent() { stop(); }

Result<void> Agent::check_workers_available() const {
    for (uint32_t lcore : config_.dataplane.worker_lcores) {
        if (!rte_lcore_is_enabled(lcore))
            return make_error("dataplane.worker_lcores: lcore " + std::to_string(lcore) +
                              " is not enabled in EAL (check dataplane.lcore_map)");
        if (lcore == rte_get_main_lcore())
            return make_error("dataplane.worker_lcores: lcore " + std::to_string(lcore) +
                              " is the main lcore, which runs the control thread");
    }
    return {};
}

Result<void> Agent::start(StepTimeline* timeline) {
    const auto mark = [timeline](const char* step) {
        if (timeline != nullptr)
            timeline->mark(step);
    };
    const DataplaneConfig& dp = config_.dataplane;
    if (auto r = check_workers_available(); !r)
        return r;
    const uint32_t n_workers = static_cast<uint32_t>(dp.worker_lcores.size());

    const std::string pool_name = "podlane_pkts";
    pool_ = rte_pktmbuf_pool_create(pool_name.c_str(), dp.mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    static_cast<int>(rte_socket_id()));
    if (pool_ == nullptr)
        return make_error("cannot create a pool of " + std::to_string(dp.mbufs) +
                          " mbufs: " + rte_strerror(rte_errno) +
                          " (raise dataplane.memory_mb or lower dataplane.mbufs)");
    ports_ = std::make_unique<PortManager>(PortSetup{pool_, static_cast<uint16_t>(n_workers),
                                                     dp.rx_ring_size, dp.tx_ring_size});

    qsbr_ = std::make_unique<Qsbr>(n_workers);
    tables_ = std::make_unique<RcuPublisher<Snapshot>>(qsbr_->get(), std::make_unique<Snapshot>());
    mark("pool");
    if (auto r = start_services(); !r)
        return r;
    publish();
    mark("services");

    if (auto r = start_uplink(); !r)
        return r;
    for (const PortConfig& pc : config_.ports) {
        auto port = ports_->attach(pc.devargs);
        if (!port)
            return make_error("ports: " + pc.name + ": " + port.error().message);
        static_ports_.push_back(StaticPort{pc, *port});
    }
    mark("uplink");

    counters_ = std::make_unique<WorkerCounters[]>(n_workers);
    if (auto r = start_observe(); !r)
        return r;
    if (auto r = start_capture_taps(); !r)
        return r;
    worker_ctx_.resize(n_workers);
    for (uint32_t w = 0; w < n_workers; ++w) {
        worker_ctx_[w] = WorkerContext{
            .worker_id = w,
            .tables = tables_.get(),
            .qsbr = qsbr_->get(),
            .counters = &counters_[w],
            .hold = hold_queues_.emplace_back(std::make_unique<HoldQueue>(rte_get_tsc_hz())).get(),
            .stop = &stop_workers_,
            .burst_size = dp.burst_size,
            .idle_sleep_us = dp.idle_sleep_us,
            .idle_polls_before_sleep = dp.idle_polls_before_sleep,
            .flows = taps_ ? &taps_[w] : nullptr,
            .capture = &capture_taps_[w],
        };
    }
    mark("observe");
    restore_restart_state(); // flows, affinity, neighbours a previous podlaned left
    publish(); // static ports, before the workers look
    mark("restore");
    workers_started_tsc_ = rte_rdtsc();
    for (uint32_t w = 0; w < n_workers; ++w) {
        if (int ret = rte_eal_remote_launch(worker_main, &worker_ctx_[w], dp.worker_lcores[w]); ret != 0)
            return make_error("cannot launch worker on lcore " + std::to_string(dp.worker_lcores[w]) +
                              ": " + rte_strerror(-ret));
    }
    workers_running_ = true;
    mark("workers");

    for (size_t i = 0; i < config_.endpoints.size(); ++i) {
        if (auto r = endpoint_add(config_.endpoints[i]); !r)
            return make_error("endpoints[" + std::to_string(i) + "] (" + config_.endpoints[i].id +
                              "): " + r.error().message);
    }
    mark("endpoints");
    if (auto r = start_bgp(); !r)
        return r;
    if (auto r = start_cni(); !r) // pods attached through CNI before a restart
        return r;
    start_health(); // a failure shows in status and health status; podlaned runs on
    mark("bgp+cni+health");
    return {};
}

void Agent::stop(StepTimeline* timeline) {
    const auto mark = [timeline](const char* step) {
        if (timeline != nullptr)
            timeline->mark(step);
    };
    stop_bgp(); // while the host path still carries its Cease to the peers
    mark("bgp");
    stop_health();
    mark("health");
    if (workers_running_) {
        stop_workers_.store(true);
        for (uint32_t lcore : config_.dataplane.worker_lcores)
            rte_eal_wait_lcore(lcore);
        workers_running_ = false;
        mark("workers");
    }
    if (tables_)
        stop_capture_taps(); // a running capture's file is completed
    mark("capture");
    if (tables_ && ct_ && workers_started_tsc_ != 0) {
        auto saved = save_restart_state("graceful-stop");
        if (!saved)
            std::fprintf(stderr, "podlaned: restart state: %s\n", saved.error().message.c_str());
        mark("state");
    }
    const bool taps_left = std::any_of(endpoints_.begin(), endpoints_.end(), [](const auto& e) {
        return e.second.spec.vhost_socket.empty() && e.second.spec.memif_socket.empty();
    });
    left_pod_ports_ = left_pod_ports_ || (ports_ && taps_left);
    if (ports_) {
        // Pod TAPs stay as they are (persistent, up, configured) for the next
        // podlaned: closing them here would set a re-attached one down in its
        // pod, which flushes the pod's routes. The process's exit closes them.
        for (auto& [id, rec] : endpoints_)
            if (!rec.spec.vhost_socket.empty() || !rec.spec.memif_socket.empty())
                ports_->detach(rec.port.port_id);
        for (auto& sp : static_ports_)
            ports_->detach(sp.port.port_id);
        if (uplink_)
            ports_->detach(uplink_->port.port_id);
        if (host_port_)
            ports_->detach(host_port_->port_id);
        mark("ports");
    }
    host_port_.reset();
    endpoints_.clear();
    close_health_netns(); // its endpoint's port is gone
    static_ports_.clear();
    uplink_.reset();
    tables_.reset(); // workers are gone: no grace period to wait for
    ct_.reset();
    affinity_.reset();
    frags_.reset();
    mark("tables");
    if (control_tx_ != nullptr) { // probes no worker sent
        rte_mbuf* m;
        while (rte_ring_sc_dequeue(control_tx_, reinterpret_cast<void**>(&m)) == 0)
            rte_pktmbuf_free(m);
    }
    stop_observe();
    rte_ring_free(control_tx_); // both accept nullptr
    rte_ring_free(neighbor_ring_);
    control_tx_ = neighbor_ring_ = nullptr;
    if (pool_ != nullptr && !taps_left) { // a TAP left open still holds the pool's mbufs in its rx ring
        rte_mempool_free(pool_);
        pool_ = nullptr;
    }
    mark("rings");
}

void Agent::publish() {
    const auto begin = std::chrono::steady_clock::now();
    SnapshotInputs in;
    in.generation = ++generation_;
    in.pod_cidr = config_.network.pod_cidr;
    in.gateway_ip = config_.network.gateway_ip;
    in.gateway_mac = config_.network.gateway_mac;
    in.workers = static_cast<uint32_t>(config_.dataplane.worker_lcores.size());
    for (const auto& [id, rec] : endpoints_)
        in.endpoints.push_back(AttachedEndpoint{rec.spec.ip, rec.spec.mac, rec.port, identity_for_labels(rec.spec.labels, config_.cluster.id, config_.cluster.max_connected_clusters)});
    for (const StaticPort& sp : static_ports_)
        in.plain_ports.push_back(sp.port);
    if (uplink_) {
        UplinkInput u;
        u.port = uplink_->port;
        u.node_ip = config_.node_ip;
        u.node_mac = node_mac_;
        u.mtu = static_cast<uint16_t>(config_.uplinks[0].mtu);
        u.routing = config_.routing.mode == RoutingMode::Native ? Routing::Native
                    : config_.routing.protocol == TunnelProtocol::Geneve ? Routing::Geneve
                                                                          : Routing::Vxlan;
        u.tunnel_port = config_.routing.tunnel_port;
        u.neighbor_ring = neighbor_ring_;
        u.control_tx = control_tx_;
        for (const PeerNodeConfig& peer : config_.nodes) {
            auto mac = neighbors_.lookup(peer.ip);
            u.nodes.push_back(RemoteNodeInput{peer.ip, peer.pod_cidrs, mac.value_or(MacAddr{}), mac.has_value(), peer.tunnel_mac});
        }
        u.subnet = config_.uplinks[0].subnet;
        u.gateway = config_.uplinks[0].gateway;
        for (const auto& [ip, e] : neighbors_.entries())
            if (e.mac_valid)
                u.neighbors.emplace_back(ip, e.mac);
        u.host_port = host_port_;
        u.host_mac = host_mac();
        in.uplink = std::move(u);
    }
    if (lb_dirty_ || host_ports_dirty_ || lb_reassemble_ || !changed_services_.empty()) {
        auto r = compile_services_now();
        controller_ran("service-compile", r ? "" : r.error().message);
        if (!r)
            std::fprintf(stderr, "podlaned: services: %s (keeping the previous tables)\n", r.error().message.c_str());
    }
    in.lb = lb_;
    compile_policy_now();
    in.policy = policy_.tables;
    tables_->publish(build_snapshot(in));
    const auto end = std::chrono::steady_clock::now();
    publish_times_.observe(std::chrono::duration<double>(end - begin).count());
    ++publishes_;
    pacer_.published(end);
    // Every absorbed delta rides on this publish: its latency ends when the workers use it.
    for (const auto received : unpublished_)
        pending_latency_.push_back(PendingLatency{tables_->last_token(), received});
    unpublished_.clear();
    tables_->reclaim();
}

std::vector<EndpointConfig> Agent::endpoint_specs() const {
    std::vector<EndpointConfig> specs;
    for (const auto& [id, rec] : endpoints_)
        specs.push_back(rec.spec);
    return specs;
}

Json Agent::ipcache_list() { return ipcache_json(config_, endpoint_specs()); }

Json Agent::identity_list() { return identity_list_json(config_, endpoint_specs()); }

Result<Json> Agent::endpoint_add(const EndpointConfig& ep) {
    if (auto r = validate_endpoint(ep, config_, "endpoint"); !r)
        return r.error();
    if (endpoints_.count(ep.id))
        return make_error("endpoint \"" + ep.id + "\" already exists");
    for (const auto& [id, rec] : endpoints_) {
        if (rec.spec.ip == ep.ip)
            return make_error("endpoint ip " + ep.ip.str() + " is already used by \"" + id + "\"");
        for (const HostPortConfig& mine : ep.host_ports)
            for (const HostPortConfig& theirs : rec.spec.host_ports)
                if (mine.host_port == theirs.host_port && mine.protocol == theirs.protocol)
                    return make_error("hostPort " + std::to_string(mine.host_port) +
                                      (mine.protocol == L4Proto::Tcp ? "/TCP" : "/UDP") + " is already used by \"" +
                                      id + "\"");
    }
    if (endpoints_.size() >= config_.tables.max_endpoints)
        return make_error("tables.max_endpoints (" + std::to_string(config_.tables.max_endpoints) +
                          ") reached");
    // A vhost-user or memif pod needs no namespace: nothing is configured in it.
    auto netns = ep.netns.empty() && ep.over_socket() ? Result<std::string>{""} : resolve_netns_path(ep.netns);
    if (!netns)
        return netns.error();

    EndpointRecord rec{ep, *netns, "", {}, false};
    auto attached = !ep.vhost_socket.empty() ? attach_vhost(rec) : !ep.memif_socket.empty() ? attach_memif(rec)
                                                                                              : attach_tap(rec);
    if (!attached)
        return attached.error();
    auto [it, inserted] = endpoints_.emplace(ep.id, std::move(rec));
    host_ports_dirty_ = host_ports_dirty_ || !ep.host_ports.empty();
    publish();
    publish_endpoints_to_source();
    return endpoint_json(it->second);
}

/// Hot-plugs a TAP for `rec` and moves its kernel side into the pod as
/// rec.spec.ifname with the pod's MAC, address, MTU and routes.
Result<void> Agent::attach_tap(EndpointRecord& rec) {
    const EndpointConfig& ep = rec.spec;
    if (auto adopted = adopt_tap(rec); !adopted)
        return adopted.error();
    else if (*adopted)
        return {}; // left by a previous podlaned, as it was
    const uint32_t seq = tap_seq_++;
    char ifname[16];
    std::snprintf(ifname, sizeof ifname, "pl%04x%05u", static_cast<unsigned>(getpid() & 0xffff), seq % 100000);
    rec.tap_ifname = ifname;
    const std::string devargs = "net_tap_pl" + std::to_string(seq) + ",iface=" + rec.tap_ifname;
    auto port = ports_->attach(devargs);
    if (!port)
        return port.error();
    rec.port = *port;

    PodInterfaceSpec pod{
        .host_ifname = rec.tap_ifname,
        .netns_path = rec.netns_path,
        .pod_ifname = ep.ifname,
        .mac = ep.mac,
        .ip = ep.ip,
        .gateway = config_.network.gateway_ip,
        .mtu = config_.network.pod_mtu,
    };
    if (auto r = attach_pod_interface(pod); !r) {
        ports_->detach(rec.port.port_id);
        return make_error("endpoint \"" + ep.id + "\": " + r.error().message);
    }
    keep_tap(rec, true);
    ++restart_.pods_recreated;
    return {};
}

Result<void> Agent::endpoint_delete(const std::string& id) {
    auto it = endpoints_.find(id);
    if (it == endpoints_.end())
        return make_error("endpoint \"" + id + "\" does not exist");
    const uint16_t port = it->second.port.port_id;
    host_ports_dirty_ = host_ports_dirty_ || !it->second.spec.host_ports.empty();
    if (it->second.spec.vhost_socket.empty() && it->second.spec.memif_socket.empty())
        keep_tap(it->second, false); // the TAP goes when the port closes
    endpoints_.erase(it);
    publish();
    publish_endpoints_to_source();
    // Workers may still hold the old table, which polls and names the port:
    // unplug it only after the grace period.
    tables_->synchronize();
    ports_->detach(port);
    return {};
}

Json Agent::endpoint_json(const EndpointRecord& rec) const {
    Json labels = Json::object();
    for (const auto& [k, v] : rec.spec.labels)
        labels[k] = v;
    Json host_ports = Json::array();
    for (const HostPortConfig& hp : rec.spec.host_ports)
        host_ports.push_back(Json{{"host_port", hp.host_port},
                                  {"container_port", hp.container_port},
                                  {"protocol", hp.protocol == L4Proto::Tcp ? "TCP" : "UDP"}});
    return Json{{"id", rec.spec.id},       {"ip", rec.spec.ip.str()},   {"mac", rec.spec.mac.str()},
                {"port_id", rec.port.port_id},  {"netns", rec.spec.netns},   {"ifname", rec.spec.ifname},
                {"tap", rec.tap_ifname},   {"labels", labels},        {"host_ports", host_ports},
                {"vhost_socket", rec.spec.vhost_socket}, {"memif_socket", rec.spec.memif_socket},
                {"memif_role", rec.spec.memif_socket.empty() ? Json() : Json(memif_role_name(rec.spec.memif_role))},
                {"memif_zero_copy", rec.spec.memif_zero_copy}, {"policy", endpoint_policy_json(rec.spec.id)}};
}

Json Agent::endpoint_list() {
    Json list = Json::array();
    for (const auto& [id, rec] : endpoints_)
        list.push_back(endpoint_json(rec));
    return list;
}

Json Agent::status() {
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
    Json workers = Json::array();
    const Snapshot* snap = tables_ ? tables_->load() : nullptr;
    for (uint32_t w = 0; w < worker_ctx_.size(); ++w) {
        size_t rxq = snap && w < snap->workers.size() ? snap->workers[w].rx.size() : 0;
        workers.push_back({{"id", w}, {"lcore", config_.dataplane.worker_lcores[w]}, {"rx_queues", rxq}});
    }
    Json j{
        {"node", config_.node_name},
        {"version", kVersion},
        {"uptime_s", uptime.count()},
        {"dataplane", workers_running_ ? "running" : "stopped"},
        {"pod_cidr", config_.network.pod_cidr.str()},
        {"node_ip", config_.node_ip.is_zero() ? "" : config_.node_ip.str()},
        {"node_mac", uplink_ ? node_mac_.str() : ""},
        {"uplink", uplink_ ? uplink_->spec.name : ""},
        {"host_path", host_port_ ? config_.host.ifname : ""},
        {"routing", !uplink_ ? "none (single node)"
                    : config_.routing.mode == RoutingMode::Native ? "native"
                    : config_.routing.protocol == TunnelProtocol::Geneve ? "tunnel (geneve)" : "tunnel (vxlan)"},
        {"remote_nodes", config_.nodes.size()},
        {"gateway_ip", config_.network.gateway_ip.str()},
        {"gateway_mac", config_.network.gateway_mac.str()},
        {"pod_mtu", config_.network.pod_mtu},
        {"hugepages", config_.dataplane.hugepages},
        {"idle_sleep_us", config_.dataplane.idle_sleep_us},
        {"snapshot_generation", snap ? snap->generation : 0},
        {"snapshots_pending_reclaim", tables_ ? tables_->pending() : 0},
        {"endpoints", endpoints_.size()},
        {"ports", endpoints_.size() + static_ports_.size() + (uplink_ ? 1 : 0) + (host_port_ ? 1 : 0)},
        {"mbufs_free", pool_ ? rte_mempool_avail_count(pool_) : 0},
        {"mbufs_total", config_.dataplane.mbufs},
        {"workers", workers},
        {"services", services_status()},
        {"updates", updates_status()},
        {"metrics", metrics_ ? metrics_->address() : "off"},
        {"source", source_status()},
        {"ipam", ipam_json()},
        {"controllers", controllers_json()},
        {"bgp", bgp_status()},
        {"restart", restart_status()},
        {"clustermesh", mesh_json()},
    };
    j.update(status_details()); // agent_status.cpp
    return j;
}

std::vector<std::pair<uint16_t, std::string>> Agent::named_ports() const {
    std::vector<std::pair<uint16_t, std::string>> out;
    for (const auto& [id, rec] : endpoints_)
        out.emplace_back(rec.port.port_id, id);
    for (const StaticPort& sp : static_ports_)
        out.emplace_back(sp.port.port_id, sp.spec.name);
    if (uplink_)
        out.emplace_back(uplink_->port.port_id, "uplink:" + uplink_->spec.name);
    if (host_port_)
        out.emplace_back(host_port_->port_id, "host:" + config_.host.ifname);
    return out;
}

Json Agent::stats() {
    Json workers = Json::array();
    Json totals = Json::object();
    for (uint32_t w = 0; w < worker_ctx_.size(); ++w) {
        Json c = counters_json(counters_[w]);
        add_counters(totals, c);
        c["stages"] = stages_json(&counters_[w], 1);
        c["id"] = w;
        c["lcore"] = config_.dataplane.worker_lcores[w];
        workers.push_back(std::move(c));
    }
    totals["stages"] = stages_json(counters_.get(), worker_ctx_.size());
    Json ports = Json::array();
    for (const auto& [port, name] : named_ports()) {
        PortStats s = PortManager::stats(port);
        Json p{{"port_id", port},           {"name", name},
               {"rx_packets", s.rx_packets}, {"tx_packets", s.tx_packets},
               {"rx_bytes", s.rx_bytes},     {"tx_bytes", s.tx_bytes},
               {"rx_errors", s.rx_errors},   {"tx_errors", s.tx_errors},
               {"rx_missed", s.rx_missed},   {"rx_nombuf", s.rx_nombuf}};
        ports.push_back(std::move(p));
    }
    // busy_cycles / elapsed_cycles: a worker's load; busy_cycles / rx_packets:
    // its cost per packet (both since the workers started).
    return Json{{"workers", workers},
                {"totals", totals},
                {"ports", ports},
                {"conntrack", conntrack_stats()},
                {"tsc_hz", rte_get_tsc_hz()},
                {"elapsed_cycles", workers_started_tsc_ == 0 ? 0 : rte_rdtsc() - workers_started_tsc_}};
}

} // namespace podlane
