// The agent's service side: the conntrack and affinity tables the workers
// share, compiling services into the published tables, and expiring flows.
#include "control/agent/agent.h"

#include <algorithm>
#include <map>

#include <rte_ethdev.h>
#include <rte_ip.h>

#include "dataplane/ct_state.h"

namespace podlane {

Result<void> Agent::start_services() {
    const uint32_t workers = static_cast<uint32_t>(config_.dataplane.worker_lcores.size());
    auto ct = Conntrack::create("podlane_ct", config_.conntrack.max_flows, workers, qsbr_->get());
    if (!ct)
        return make_error("conntrack.max_flows: " + ct.error().message);
    ct_ = std::move(*ct);
    // One pin per (frontend, client): a quarter of the flow budget is plenty.
    auto aff = AffinityTable::create("podlane_affinity", std::max(1024u, config_.conntrack.max_flows / 4), qsbr_->get());
    if (!aff)
        return aff.error();
    affinity_ = std::move(*aff);
    if (config_.conntrack.max_fragment_datagrams != 0) {
        auto frags = FragTable::create(config_.conntrack.max_fragment_datagrams, workers);
        if (!frags)
            return make_error("conntrack.max_fragment_datagrams: " + frags.error().message);
        frags_ = std::move(*frags);
    }
    return compile_services_now();
}

ServiceCompileInputs Agent::service_inputs() const {
    ServiceCompileInputs in;
    in.config = &config_;
    if (uplink_ || !config_.uplinks.empty())
        in.node_ip = config_.node_ip;
    in.local_pod_cidr = config_.network.pod_cidr;
    for (const PeerNodeConfig& peer : config_.nodes) {
        in.peer_node_ips.push_back(peer.ip);
        in.remote_pod_cidrs.insert(in.remote_pod_cidrs.end(), peer.pod_cidrs.begin(), peer.pod_cidrs.end());
    }
    in.endpoints = endpoint_specs();
    return in;
}

Result<void> Agent::compile_services_now() {
    const ServiceCompileInputs in = service_inputs();
    Result<void> result;
    if (lb_dirty_) {
        result = services_.compile_all(in); // on error nothing changes
    } else {
        if (!changed_services_.empty())
            result = services_.compile_changed(in, changed_services_);
        if (host_ports_dirty_)
            if (auto r = services_.compile_host_ports(in); !r && result)
                result = r;
    }
    lb_dirty_ = host_ports_dirty_ = lb_reassemble_ = false;
    changed_services_.clear();
    std::shared_ptr<LbTables> t = services_.assemble(in);
    t->ct = ct_.get();
    t->affinity = affinity_.get();
    t->frags = frags_.get();
    lb_ = std::move(t);
    return result;
}

Json Agent::services_status() const {
    const bool up = !service_inputs().node_ip.is_zero();
    const LoadBalancerConfig& lb = config_.loadbalancer;
    return Json{
        {"kube_proxy_replacement", true},
        {"frontends", lb_->frontends.size()},
        {"backends", backend_count()},
        {"algorithm", lb.algorithm == LbAlgorithm::Maglev ? "maglev" : "random"},
        {"maglev_table_size", lb.maglev_table_size},
        {"nodeport", up ? std::to_string(lb.nodeport_min) + "-" + std::to_string(lb.nodeport_max) + " (" +
                              (lb.nodeport_mode == NodePortMode::Snat ? "snat"
                               : lb.nodeport_mode == NodePortMode::Dsr ? "dsr" : "hybrid") + ")"
                        : "off (no uplink)"},
        {"masquerading", lb_->masquerade ? "to " + config_.node_ip.str() : "off"},
        {"conntrack", conntrack_stats()},
    };
}

size_t Agent::backend_count() const {
    return static_cast<size_t>(
        std::count_if(lb_->backends.begin(), lb_->backends.end(), [](const LbBackend& b) { return b.present; }));
}

Json Agent::conntrack_stats() const {
    if (!ct_)
        return nullptr;
    return Json{{"flows", ct_->flows()},
                {"capacity", ct_->capacity()},
                {"insert_failures", ct_->insert_failures()},
                {"bytes_per_flow", ct_->bytes_per_flow()},
                {"affinity_entries", affinity_ ? affinity_->size() : 0},
                {"fragments", fragment_stats()}};
}

Json Agent::fragment_stats() const {
    if (!frags_)
        return nullptr;
    const FragTotals f = frags_->totals(ct_now_s());
    return Json{{"datagrams", f.entries}, {"capacity", f.capacity}, {"tracked", f.tracked},
                {"hits", f.hits},         {"misses", f.misses},     {"table_full", f.full}};
}

void Agent::services_tick() {
    if (!ct_)
        return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_gc_ >= std::chrono::milliseconds(config_.conntrack.gc_interval_ms)) {
        last_gc_ = now;
        controller_ran("ct-gc");
        const uint32_t now_s = ct_now_s();
        ct_->expire(now_s);
        affinity_->expire(now_s, [this](uint16_t rev_nat_id) {
            for (const LbService& s : lb_->services)
                if (s.rev_nat_id == rev_nat_id)
                    return s.affinity_timeout_s;
            return 0u; // the frontend is gone: forget its pins
        });
    }
    ct_->reclaim();
    affinity_->reclaim();
}

} // namespace podlane

// ---- the service, conntrack and NAT views of the API ----

namespace podlane {

namespace {

std::string proto_name(uint8_t proto) {
    switch (proto) {
    case IPPROTO_TCP:
        return "TCP";
    case IPPROTO_UDP:
        return "UDP";
    case IPPROTO_ICMP:
        return "ICMP";
    }
    return std::to_string(proto);
}

std::string addr_port(rte_be32_t ip, rte_be16_t port) {
    return Ipv4Addr{ip}.str() + ":" + std::to_string(rte_be_to_cpu_16(port));
}

const char* kind_name(FrontendKind k) {
    switch (k) {
    case FrontendKind::ClusterIP:
        return "ClusterIP";
    case FrontendKind::NodePort:
        return "NodePort";
    case FrontendKind::LoadBalancer:
        return "LoadBalancer";
    case FrontendKind::ExternalIP:
        return "ExternalIP";
    case FrontendKind::HostPort:
        return "HostPort";
    }
    return "?";
}

std::string frontend_text(const LbService& s) { return addr_port(s.vip.be, s.port_be) + "/" + proto_name(s.proto); }

Json backend_json(const LbTables& lb, uint32_t id) {
    const LbBackend& b = lb.backends[id];
    return Json{{"id", id},
                {"address", addr_port(b.ip.be, b.port_be)},
                {"state", b.state == BackendState::Active ? "active" : "terminating"},
                {"local", b.local}};
}

/// A global service's Cluster Mesh view (service list --clustermesh-affinity):
/// its settings and every backend of every cluster, each marked preferred
/// under the affinity and in use when the frontend balances over it.
Json mesh_service_json(const ServiceConfig& sc, const std::string& local_cluster, const Json& in_use) {
    auto used = [&](Ipv4Addr ip) {
        for (const Json& b : in_use)
            if (b["address"].get<std::string>().rfind(ip.str() + ":", 0) == 0)
                return true;
        return false;
    };
    Json list = Json::array();
    for (const BackendConfig& b : sc.backends)
        list.push_back(Json{{"ip", b.ip.str()}, {"cluster", local_cluster}, {"preferred", sc.preferred(false)},
                            {"in_use", used(b.ip)}});
    for (const MeshBackend& m : sc.mesh.list)
        list.push_back(Json{{"ip", m.backend.ip.str()}, {"cluster", m.cluster}, {"preferred", sc.preferred(true)},
                            {"in_use", used(m.backend.ip)}});
    return Json{{"global", true}, {"shared", sc.shared}, {"affinity", mesh_affinity_name(sc.mesh_affinity)},
                {"backends", list}};
}

Json flags_json(uint8_t f) {
    Json out = Json::array();
    const std::pair<uint8_t, const char*> names[] = {{kCtDnat, "dnat"},        {kCtSnat, "snat"},
                                                     {kCtDsr, "dsr"},          {kCtSeenReply, "seen_reply"},
                                                     {kCtHairpin, "hairpin"},  {kCtNodePort, "nodeport"},
                                                     {kCtInbound, "inbound"},  {kCtHost, "host"}};
    for (const auto& [bit, name] : names)
        if (f & bit)
            out.push_back(name);
    return out;
}

const char* tcp_state_name(uint8_t s) {
    switch (static_cast<CtTcpState>(s)) {
    case CtTcpState::SynSent:
        return "syn_sent";
    case CtTcpState::Established:
        return "established";
    case CtTcpState::Closing:
        return "closing";
    }
    return "?";
}

} // namespace

/// The service names of the frontends, by frontend key (config services and
/// endpoints' hostPorts).
static std::map<uint64_t, std::string> frontend_names(const Config& config, const std::vector<EndpointConfig>& eps,
                                                      Ipv4Addr node_ip) {
    std::map<uint64_t, std::string> names;
    for (const ServiceConfig& s : config.services) {
        for (const ServicePortConfig& p : s.ports) {
            const auto proto = static_cast<uint8_t>(p.protocol);
            const rte_be16_t port = rte_cpu_to_be_16(p.port);
            names[frontend_key(s.cluster_ip.be, port, proto)] = s.name;
            for (Ipv4Addr ip : s.external_ips)
                names[frontend_key(ip.be, port, proto)] = s.name;
            for (Ipv4Addr ip : s.lb_ips())
                names[frontend_key(ip.be, port, proto)] = s.name;
            if (p.node_port != 0 && !node_ip.is_zero())
                names[frontend_key(node_ip.be, rte_cpu_to_be_16(p.node_port), proto)] = s.name;
        }
    }
    for (const EndpointConfig& ep : eps)
        for (const HostPortConfig& hp : ep.host_ports)
            names[frontend_key(node_ip.be, rte_cpu_to_be_16(hp.host_port), static_cast<uint8_t>(hp.protocol))] =
                ep.id;
    return names;
}

const ServiceConfig* Agent::service_named(const std::string& name) const {
    // config_.services is sorted by name (Agent's constructor, apply_delta).
    auto it = std::lower_bound(config_.services.begin(), config_.services.end(), name,
                               [](const ServiceConfig& sc, const std::string& n) { return sc.name < n; });
    return it != config_.services.end() && it->name == name ? &*it : nullptr;
}

Json Agent::service_list() {
    const auto names = frontend_names(config_, endpoint_specs(), service_inputs().node_ip);
    Json list = Json::array();
    // One row per frontend: its internal entry (or external when internal is absent).
    for (const LbFrontend& fe : lb_->frontends) {
        const uint32_t main = fe.internal != kNotFound ? fe.internal : fe.external;
        if (main == kNotFound)
            continue;
        const LbService& s = lb_->services[main];
        const uint64_t key = frontend_key(s.vip.be, s.port_be, s.proto);
        auto scope = [&](uint32_t idx) -> Json {
            if (idx == kNotFound)
                return nullptr;
            const LbService& e = lb_->services[idx];
            Json ids = Json::array();
            for (uint32_t i = 0; i < e.backends_n; ++i)
                ids.push_back(e.backends[i]);
            return Json{{"backend_ids", ids}, {"local_only", e.local_only}, {"maglev_m", e.maglev_m}};
        };
        // Every backend the frontend knows, terminating ones included.
        Json backends = Json::array();
        std::vector<uint32_t> seen;
        auto add = [&](uint32_t id) {
            if (std::find(seen.begin(), seen.end(), id) == seen.end()) {
                seen.push_back(id);
                backends.push_back(backend_json(*lb_, id));
            }
        };
        for (uint32_t idx : {fe.internal, fe.external})
            if (idx != kNotFound)
                for (uint32_t i = 0; i < lb_->services[idx].backends_n; ++i)
                    add(lb_->services[idx].backends[i]);
        const auto named = names.find(key);
        if (named != names.end()) {
            // config_.services is sorted by name (Agent's constructor, apply_delta).
            auto first = std::lower_bound(config_.services.begin(), config_.services.end(), named->second,
                                          [](const ServiceConfig& sc, const std::string& n) { return sc.name < n; });
            for (auto it = first; it != config_.services.end() && it->name == named->second; ++it) {
                const ServiceConfig& sc = *it;
                for (const ServicePortConfig& p : sc.ports) {
                    if (static_cast<uint8_t>(p.protocol) != s.proto ||
                        (s.port_be != rte_cpu_to_be_16(p.port) && s.port_be != rte_cpu_to_be_16(p.node_port)))
                        continue;
                    for (const BackendConfig& b : sc.backends)
                        if (auto id = services_.ids().backend_id(b.ip, p.target_port, p.protocol))
                            add(*id);
                }
            }
        }
        Json row{{"id", s.rev_nat_id},
                 {"name", named != names.end() ? named->second : ""},
                 {"frontend", frontend_text(s)},
                 {"type", kind_name(s.kind)},
                 {"algorithm", s.algorithm == LbAlgorithm::Maglev ? "maglev" : "random"},
                 {"session_affinity", s.affinity},
                 {"affinity_timeout_s", s.affinity_timeout_s},
                 {"internal", scope(fe.internal)},
                 {"external", scope(fe.external)},
                 {"backends", backends}};
        if (named != names.end())
            if (const ServiceConfig* sc = service_named(named->second); sc && sc->global)
                row["clustermesh"] = mesh_service_json(*sc, config_.cluster.name, backends);
        if (s.kind == FrontendKind::LoadBalancer && named != names.end())
            if (const ServiceConfig* sc = service_named(named->second); sc && !sc->lb_ipam.pool.empty() &&
                std::find(sc->lb_ipam.ips.begin(), sc->lb_ipam.ips.end(), s.vip) != sc->lb_ipam.ips.end())
                row["lb_ipam_pool"] = sc->lb_ipam.pool;
        list.push_back(std::move(row));
    }
    std::sort(list.begin(), list.end(), [](const Json& a, const Json& b) { return a["id"] < b["id"]; });
    // LoadBalancer services LB IPAM could not give an address: no frontend, id 0.
    for (const ServiceConfig& sc : config_.services)
        if (sc.lb_ipam.managed && !sc.lb_ipam.pending.empty())
            list.push_back(Json{{"id", 0}, {"name", sc.name}, {"frontend", nullptr}, {"type", "LoadBalancer"},
                                {"pending", sc.lb_ipam.pending}, {"backends", Json::array()}});
    return list;
}

Result<Json> Agent::service_maglev(const std::string& service) {
    const Json services = service_list();
    for (const Json& s : services) {
        if (s.contains("pending"))
            continue;
        if (s["name"] != service && s["frontend"] != service && std::to_string(s["id"].get<int>()) != service)
            continue;
        for (const LbService& e : lb_->services) {
            if (e.rev_nat_id != s["id"].get<int>() || e.maglev_m == 0)
                continue;
            Json table = Json::array();
            std::map<uint32_t, uint32_t> slots;
            for (uint32_t i = 0; i < e.maglev_m; ++i) {
                table.push_back(e.maglev[i]);
                ++slots[e.maglev[i]];
            }
            Json backends = Json::array();
            for (const auto& [id, n] : slots) {
                Json b = backend_json(*lb_, id);
                b["slots"] = n;
                backends.push_back(b);
            }
            return Json{{"id", e.rev_nat_id}, {"name", s["name"]}, {"frontend", s["frontend"]},
                        {"m", e.maglev_m},     {"local_only", e.local_only}, {"backends", backends},
                        {"table", table}};
        }
        return make_error("service " + service + " (" + s["frontend"].get<std::string>() +
                          ") has no Maglev table: its algorithm is " + s["algorithm"].get<std::string>() +
                          " or it has no active backend");
    }
    return make_error("no service " + service + " (give a name, a frontend ip:port/PROTO, or an id from 'podlane service list')");
}

Json Agent::ct_list() {
    Json list = Json::array();
    if (!ct_)
        return list;
    const uint32_t now = ct_now_s();
    ct_->for_each([&](const CtFlowView& f) {
        const CtTuple& o = f.orig;
        const CtEntry& e = *f.entry;
        const CtTuple x = ct_apply(o, f.fwd);
        const uint32_t expires = e.expires.load(std::memory_order_relaxed);
        Json flow{{"proto", proto_name(o.proto)},
                  {"src", addr_port(o.src, o.sport)},
                  {"dst", addr_port(o.dst, o.dport)},
                  {"xlate_src", addr_port(x.src, x.sport)},
                  {"xlate_dst", addr_port(x.dst, x.dport)},
                  {"expires_in_s", static_cast<int64_t>(expires) - static_cast<int64_t>(now)},
                  {"packets", e.packets.load(std::memory_order_relaxed)},
                  {"bytes", e.bytes()},
                  {"flags", flags_json(e.flags.load(std::memory_order_relaxed))},
                  {"rev_nat_id", f.rev_nat_id},
                  {"backend_id", f.backend_id}};
        if (o.proto == IPPROTO_TCP)
            flow["tcp_state"] = tcp_state_name(e.tcp_state.load(std::memory_order_relaxed));
        if (e.flags.load(std::memory_order_relaxed) & kCtDnat)
            flow["backend"] = addr_port(x.dst, x.dport);
        list.push_back(std::move(flow));
    });
    return list;
}

Json Agent::nat_list() {
    Json list = Json::array();
    if (!ct_)
        return list;
    ct_->for_each([&](const CtFlowView& f) {
        if (!(f.entry->flags.load(std::memory_order_relaxed) & kCtSnat))
            return;
        const CtTuple& o = f.orig;
        const CtTuple x = ct_apply(o, f.fwd);
        const CtTuple r = ct_reverse(x);
        // As cilium bpf nat list: the egress mapping, then its ingress twin.
        list.push_back(Json{{"proto", proto_name(o.proto)}, {"direction", "out"},
                            {"src", addr_port(o.src, o.sport)}, {"dst", addr_port(x.dst, x.dport)},
                            {"xlate", addr_port(x.src, x.sport)}, {"xlate_field", "src"}});
        list.push_back(Json{{"proto", proto_name(o.proto)}, {"direction", "in"},
                            {"src", addr_port(r.src, r.sport)}, {"dst", addr_port(r.dst, r.dport)},
                            {"xlate", addr_port(o.src, o.sport)}, {"xlate_field", "dst"}});
    });
    return list;
}

} // namespace podlane
