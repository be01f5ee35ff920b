// ServiceCompiler: Config::services and the pods' hostPorts -> LbTables, one
// CompiledUnit per service. Per service port, the active backends (all, and
// the local ones) are laid out once in an LbPicks, with its Maglev table;
// every frontend entry of that port points at one of the two.
#include "control/tables/service_compiler.h"

#include <algorithm>
#include <span>
#include <string>
#include <unordered_set>

#include <rte_byteorder.h>

#include "control/tables/maglev.h"

namespace podlane {

// ---- ids ----

std::optional<uint32_t> IdPool::acquire(uint64_t key) {
    if (auto it = ids_.find(key); it != ids_.end()) {
        ++it->second.holds;
        return it->second.id;
    }
    uint32_t id;
    if (!free_.empty()) {
        id = *free_.begin();
        free_.erase(free_.begin());
    } else if (next_ <= last_) {
        id = static_cast<uint32_t>(next_++);
    } else {
        return std::nullopt;
    }
    ids_.emplace(key, Entry{id, 1});
    return id;
}

void IdPool::release(uint64_t key) {
    auto it = ids_.find(key);
    if (it == ids_.end())
        return;
    if (--it->second.holds == 0) {
        free_.insert(it->second.id);
        ids_.erase(it);
    }
}

std::unordered_map<uint32_t, uint64_t> IdPool::keys_by_id() const {
    std::unordered_map<uint32_t, uint64_t> out;
    out.reserve(ids_.size());
    for (const auto& [key, e] : ids_)
        out.emplace(e.id, key);
    return out;
}

std::optional<uint32_t> IdPool::find(uint64_t key) const {
    auto it = ids_.find(key);
    return it == ids_.end() ? std::nullopt : std::optional<uint32_t>(it->second.id);
}

namespace {

uint64_t backend_key(Ipv4Addr ip, uint16_t port, L4Proto proto) {
    return frontend_key(ip.be, rte_cpu_to_be_16(port), static_cast<uint8_t>(proto));
}

} // namespace

std::optional<uint16_t> ServiceIds::rev_nat_id(uint64_t frontend_key) const {
    auto id = rev_nat_.find(frontend_key);
    return id ? std::optional<uint16_t>(static_cast<uint16_t>(*id)) : std::nullopt;
}
std::optional<uint32_t> ServiceIds::backend_id(Ipv4Addr ip, uint16_t port, L4Proto proto) const {
    return backends_.find(backend_key(ip, port, proto));
}
std::optional<uint16_t> ServiceIds::acquire_rev_nat_id(uint64_t frontend_key) {
    auto id = rev_nat_.acquire(frontend_key);
    return id ? std::optional<uint16_t>(static_cast<uint16_t>(*id)) : std::nullopt;
}
std::optional<uint32_t> ServiceIds::acquire_backend_id(uint64_t key) {
    return backends_.acquire(key);
}

// ---- one unit: a service, or the node's hostPorts ----

namespace {

/// A compile error; the compile functions turn it into their Result.
struct CompileFailure {
    std::string text;
};

std::string port_text(L4Proto p, uint16_t port) {
    return std::string(p == L4Proto::Tcp ? "TCP " : "UDP ") + std::to_string(port);
}

/// A backend a scope may pick, with what Maglev needs.
struct Pick {
    uint32_t id;
    Ipv4Addr ip;
    uint16_t weight;
};

/// The backends of one scope, laid out on first use.
struct Selection {
    std::vector<Pick> picks;
    bool local_only = false;
    Selection* same_as = nullptr; ///< the same picks, laid out there
    const LbPicks* laid_out = nullptr;
};

/// What a frontend's entries share besides the selection.
struct EntrySpec {
    uint16_t port;     ///< the backends' port, host order (Maglev hash string)
    L4Proto proto;
    LbAlgorithm algorithm;
    bool affinity;
    uint32_t affinity_timeout_s;
    std::string what; ///< for errors: "service default/web TCP 80"
};

/// Compiles one unit, holding its ids in `ids` as it goes; on a
/// CompileFailure the caller releases what the unit holds so far.
class UnitBuilder {
public:
    UnitBuilder(const ServiceCompileInputs& in, ServiceIds& ids, const MaglevSeed& seed, CompiledUnit& u)
        : in_(in), c_(*in.config), ids_(ids), seed_(seed), u_(u) {}

    void service(const ServiceConfig& s) {
        // A global service with remote clusters' backends balances over
        // those too (Cluster Mesh), narrowed by its affinity.
        std::vector<BackendConfig> merged;
        if (s.global && !s.mesh.list.empty())
            merged = s.balanced_backends();
        const std::vector<BackendConfig>& backends = merged.empty() ? s.backends : merged;
        for (const ServicePortConfig& p : s.ports) {
            Selection all, local;
            local.local_only = true;
            for (const BackendConfig& b : backends) {
                const bool is_local = backend_on_node(b, c_.node_name, in_.local_pod_cidr);
                const uint32_t id = backend(b.ip, p.target_port, p.protocol, b.state, is_local);
                if (b.state != BackendState::Active)
                    continue;
                all.picks.push_back({id, b.ip, b.weight});
                if (is_local)
                    local.picks.push_back({id, b.ip, b.weight});
            }
            if (local.picks.size() == all.picks.size()) // local is a subset of all
                local.same_as = &all;
            auto scope = [&](TrafficPolicy policy) { return policy == TrafficPolicy::Local ? &local : &all; };
            const EntrySpec spec{p.target_port, p.protocol, s.algorithm, s.session_affinity, s.session_affinity_timeout_s,
                                 "service " + s.name + " " + port_text(p.protocol, p.port)};
            frontend(s.cluster_ip, p.port, FrontendKind::ClusterIP, spec, scope(s.internal_traffic_policy), nullptr);
            if (s.type != ServiceType::ClusterIP && p.node_port != 0 && !in_.node_ip.is_zero())
                frontend(in_.node_ip, p.node_port, FrontendKind::NodePort, spec, &all, scope(s.external_traffic_policy));
            for (Ipv4Addr ip : s.lb_ips())
                frontend(ip, p.port, FrontendKind::LoadBalancer, spec, &all, scope(s.external_traffic_policy));
            for (Ipv4Addr ip : s.external_ips)
                frontend(ip, p.port, FrontendKind::ExternalIP, spec, &all, scope(s.external_traffic_policy));
        }
    }

    void host_ports(const EndpointConfig& ep) {
        if (in_.node_ip.is_zero())
            return;
        for (const HostPortConfig& hp : ep.host_ports) {
            Selection pod;
            pod.picks.push_back({backend(ep.ip, hp.container_port, hp.protocol, BackendState::Active, true), ep.ip, 1});
            const EntrySpec spec{hp.container_port, hp.protocol, LbAlgorithm::Random, false, 0,
                                 "endpoint " + ep.id + " host port " + port_text(hp.protocol, hp.host_port)};
            frontend(in_.node_ip, hp.host_port, FrontendKind::HostPort, spec, &pod, &pod);
        }
    }

private:
    uint32_t backend(Ipv4Addr ip, uint16_t port, L4Proto proto, BackendState state, bool local) {
        const uint64_t key = backend_key(ip, port, proto);
        auto id = ids_.acquire_backend_id(key);
        if (!id)
            throw CompileFailure{"no free backend id for " + ip.str() + " " + port_text(proto, port) + " (" +
                                 std::to_string(ids_.backend_count()) + " backends in use)"};
        u_.backends.push_back({key, *id, LbBackend{ip, rte_cpu_to_be_16(port), state, true, local}});
        return *id;
    }

    /// Adds a frontend with an entry per scope (nullptr: not reachable from there).
    void frontend(Ipv4Addr vip, uint16_t port, FrontendKind kind, const EntrySpec& spec, Selection* internal,
                  Selection* external) {
        const uint64_t key = frontend_key(vip.be, rte_cpu_to_be_16(port), static_cast<uint8_t>(spec.proto));
        if (!seen_keys_.insert(key).second)
            return; // an earlier frontend of this unit has this address, port and protocol
        auto rev_nat = ids_.acquire_rev_nat_id(key);
        if (!rev_nat)
            throw CompileFailure{"no free rev_nat id for " + spec.what + " (" + std::to_string(ids_.frontend_count()) +
                                 " frontends in use)"};
        CompiledUnit::Frontend fe{key, kNotFound, kNotFound};
        u_.frontends.push_back(fe); // held from here on, even if a Maglev build below fails
        if (internal)
            fe.internal = entry(vip, port, kind, *rev_nat, spec, *internal);
        if (external)
            fe.external = external == internal ? fe.internal : entry(vip, port, kind, *rev_nat, spec, *external);
        u_.frontends.back() = fe;
    }

    uint32_t entry(Ipv4Addr vip, uint16_t port, FrontendKind kind, uint16_t rev_nat, const EntrySpec& spec, Selection& sel) {
        const LbPicks& picks = lay_out(sel, spec);
        LbService e;
        e.vip = vip;
        e.port_be = rte_cpu_to_be_16(port);
        e.proto = static_cast<uint8_t>(spec.proto);
        e.kind = kind;
        e.rev_nat_id = rev_nat;
        e.algorithm = spec.algorithm;
        e.affinity = spec.affinity;
        e.local_only = sel.local_only;
        e.affinity_timeout_s = spec.affinity_timeout_s;
        e.backends = picks.ids.data();
        e.backends_n = static_cast<uint32_t>(picks.ids.size());
        e.maglev = picks.maglev.data();
        e.maglev_m = static_cast<uint32_t>(picks.maglev.size());
        u_.entries.push_back(e);
        return static_cast<uint32_t>(u_.entries.size() - 1);
    }

    const LbPicks& lay_out(Selection& sel, const EntrySpec& spec) {
        if (sel.laid_out)
            return *sel.laid_out;
        if (sel.same_as) {
            sel.laid_out = &lay_out(*sel.same_as, spec);
            return *sel.laid_out;
        }
        auto picks = std::make_shared<LbPicks>();
        for (const Pick& p : sel.picks)
            picks->ids.push_back(p.id);
        if (spec.algorithm == LbAlgorithm::Maglev && !sel.picks.empty()) {
            std::vector<MaglevBackend> mb;
            const MaglevL4 l4 = spec.proto == L4Proto::Tcp ? MaglevL4::tcp : MaglevL4::udp;
            for (const Pick& p : sel.picks)
                mb.push_back({maglev_backend_hash_string(p.ip, spec.port, l4), p.id, p.weight});
            auto table = build_maglev_table(mb, c_.loadbalancer.maglev_table_size, seed_);
            if (!table)
                throw CompileFailure{spec.what + ": " + table.error().message};
            picks->maglev = std::move(*table);
        }
        u_.picks.push_back(picks);
        sel.laid_out = picks.get();
        return *picks;
    }

    const ServiceCompileInputs& in_;
    const Config& c_;
    ServiceIds& ids_;
    const MaglevSeed& seed_;
    CompiledUnit& u_;
    std::unordered_set<uint64_t> seen_keys_;
};

/// Destinations never masqueraded: pod CIDRs, the cluster's ranges, node IPs
/// and masquerade.non_masquerade_cidrs, each prefix once.
PrefixTable no_masquerade(const ServiceCompileInputs& in) {
    const Config& c = *in.config;
    std::vector<Ipv4Prefix> out;
    auto add = [&](const Ipv4Prefix& p) {
        if (std::find(out.begin(), out.end(), p) == out.end())
            out.push_back(p);
    };
    auto set = [](const Ipv4Prefix& p) { return p.len > 0 || !p.addr.is_zero(); };
    if (set(in.local_pod_cidr))
        add(in.local_pod_cidr);
    for (const Ipv4Prefix& p : in.remote_pod_cidrs)
        if (set(p))
            add(p);
    if (set(c.routing.native_routing_cidr))
        add(c.routing.native_routing_cidr);
    if (c.ipam.mode == IpamMode::ClusterPool)
        add(c.ipam.cluster_pool_cidr);
    if (!in.node_ip.is_zero())
        add(Ipv4Prefix{in.node_ip, 32});
    for (Ipv4Addr ip : in.peer_node_ips)
        add(Ipv4Prefix{ip, 32});
    for (const Ipv4Prefix& p : c.masquerade.non_masquerade_cidrs)
        add(p);
    return PrefixTable(out);
}

/// A binary search: compile_changed's services are sorted by name (the
/// agent keeps them so). No scan for a name that is not there: that is every
/// deleted service, and a range delete of 10,000 made it 10,000 scans.
const ServiceConfig* find_service(const std::vector<ServiceConfig>& sorted, const std::string& name) {
    auto it = std::lower_bound(sorted.begin(), sorted.end(), name,
                               [](const ServiceConfig& s, const std::string& n) { return s.name < n; });
    return it != sorted.end() && it->name == name ? &*it : nullptr;
}

} // namespace

// ---- the incremental compiler ----

void ServiceCompiler::release_ids(const CompiledUnit& u) {
    for (const CompiledUnit::Frontend& fe : u.frontends)
        ids_.release_rev_nat_id(fe.key);
    for (const CompiledUnit::Backend& b : u.backends)
        ids_.release_backend_id(b.key);
}

Result<CompiledUnit> ServiceCompiler::compile_unit(const ServiceCompileInputs& in, const ServiceConfig* service,
                                                   const std::vector<EndpointConfig>* host_ports) {
    auto seed = parse_maglev_seed(in.config->loadbalancer.maglev_hash_seed);
    if (!seed)
        return seed.error();
    CompiledUnit u;
    try {
        UnitBuilder b(in, ids_, *seed, u);
        if (service)
            b.service(*service);
        if (host_ports)
            for (const EndpointConfig& ep : *host_ports)
                b.host_ports(ep);
    } catch (const CompileFailure& f) {
        release_ids(u);
        return make_error(f.text);
    }
    return u;
}

void ServiceCompiler::remove(const CompiledUnit& u) {
    assembler_.remove(u);
    release_ids(u);
}

Result<void> ServiceCompiler::compile_all(const ServiceCompileInputs& in) {
    if (!in.config)
        return make_error("compile_services: no config");
    // New units first, holding their ids, so that what stays keeps its id.
    std::map<std::string, CompiledUnit> units;
    auto undo = [&] {
        for (auto& [name, u] : units)
            release_ids(u);
    };
    for (const ServiceConfig& s : in.config->services) {
        auto u = compile_unit(in, &s, nullptr);
        if (!u) {
            undo();
            return u.error();
        }
        units.insert_or_assign(s.name, std::move(*u));
    }
    auto hp = compile_unit(in, nullptr, &in.endpoints);
    if (!hp) {
        undo();
        return hp.error();
    }
    for (auto& [name, u] : units_)
        remove(u);
    remove(host_ports_);
    units_ = std::move(units);
    host_ports_ = std::move(*hp);
    for (auto& [name, u] : units_)
        add(&name, u);
    add(nullptr, host_ports_);
    return {};
}

Result<void> ServiceCompiler::compile_changed(const ServiceCompileInputs& in, const std::vector<std::string>& names) {
    if (!in.config)
        return make_error("compile_services: no config");
    std::string errors;
    for (const std::string& name : names) {
        const ServiceConfig* s = find_service(in.config->services, name);
        auto old = units_.find(name);
        if (s == nullptr) {
            if (old != units_.end()) {
                remove(old->second);
                units_.erase(old);
            }
            continue;
        }
        auto u = compile_unit(in, s, nullptr);
        if (!u) {
            errors += (errors.empty() ? "" : "; ") + u.error().message + " (service " + name + " keeps its previous version)";
            continue;
        }
        if (old != units_.end()) {
            remove(old->second);
            old->second = std::move(*u); // same map node
            add(&old->first, old->second);
        } else {
            auto added = units_.emplace(name, std::move(*u)).first;
            add(&added->first, added->second);
        }
    }
    if (!errors.empty())
        return make_error(errors);
    return {};
}

Result<void> ServiceCompiler::compile_host_ports(const ServiceCompileInputs& in) {
    if (!in.config)
        return make_error("compile_services: no config");
    auto hp = compile_unit(in, nullptr, &in.endpoints);
    if (!hp)
        return hp.error();
    remove(host_ports_);
    host_ports_ = std::move(*hp);
    add(nullptr, host_ports_);
    return {};
}

std::shared_ptr<LbTables> ServiceCompiler::assemble(const ServiceCompileInputs& in) {
    auto t = std::make_shared<LbTables>();
    assembler_.fill(*t); // frontends, backends and their IPs: what changed is rebuilt, the rest shared

    const Config& c = *in.config;
    const LoadBalancerConfig& lb = c.loadbalancer;
    if (auto seed = parse_maglev_seed(lb.maglev_hash_seed))
        t->maglev_jhash_seed = seed->jhash_v4;
    t->nodeport_mode = lb.nodeport_mode;
    t->no_backends = lb.no_backends;
    t->hairpin_ip = lb.hairpin_ip;
    t->masquerade = c.masquerade.enabled && !in.node_ip.is_zero();
    t->no_masquerade = no_masquerade(in);
    t->snat_port_min = c.masquerade.port_min;
    t->snat_port_max = c.masquerade.port_max;
    const ConntrackConfig& ct = c.conntrack;
    t->timeouts = CtTimeouts{ct.tcp_syn_timeout_s, ct.tcp_established_timeout_s, ct.tcp_close_timeout_s,
                             ct.udp_timeout_s, ct.icmp_timeout_s};
    return t;
}

ServiceIds::Holds ServiceCompiler::holds() const {
    ServiceIds::Holds h;
    auto collect = [&](const CompiledUnit& u) {
        for (const CompiledUnit::Frontend& f : u.frontends)
            h.frontends.push_back(f.key);
        for (const CompiledUnit::Backend& b : u.backends)
            h.backends.push_back(b.key);
    };
    for (const auto& [name, u] : units_)
        collect(u);
    collect(host_ports_);
    return h;
}

Result<LbTables> compile_services(const ServiceCompileInputs& in, ServiceIds& ids) {
    if (!in.config)
        return make_error("compile_services: no config");
    if (auto seed = parse_maglev_seed(in.config->loadbalancer.maglev_hash_seed); !seed)
        return seed.error();
    ServiceIds::Holds previous = ids.last_compile;
    ServiceCompiler sc(ids); // a copy: `ids` changes only on success
    sc.ids().last_compile = {};
    if (auto r = sc.compile_all(in); !r)
        return r.error();
    std::shared_ptr<LbTables> t = sc.assemble(in);
    for (uint64_t k : previous.frontends)
        sc.ids().release_rev_nat_id(k);
    for (uint64_t k : previous.backends)
        sc.ids().release_backend_id(k);
    ids = sc.ids();
    ids.last_compile = sc.holds();
    // The compiler's units own the backend lists the tables point into; the
    // tables hold them through their frontend shards, so the compiler may go.
    return std::move(*t);
}

} // namespace podlane
