// compile_services: Config::services and the pods' hostPorts -> LbTables.
// Per service port, the active backends (all, and the local ones) are laid
// out once in service_backends and, with Maglev, once in maglev; every
// frontend entry of that port points at one of the two lists.
#include "control/service_compiler.h"

#include <algorithm>
#include <span>
#include <string>
#include <unordered_set>

#include <rte_byteorder.h>

#include "control/maglev.h"

namespace podlane {

// ---- ids ----

std::optional<uint32_t> IdPool::acquire(uint64_t key) {
    if (auto it = ids_.find(key); it != ids_.end()) {
        it->second.present = true;
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
    ids_.emplace(key, Entry{id, true});
    return id;
}

void IdPool::release_absent() {
    for (auto it = ids_.begin(); it != ids_.end();) {
        if (it->second.present) {
            it->second.present = false;
            ++it;
        } else {
            free_.insert(it->second.id);
            it = ids_.erase(it);
        }
    }
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
std::optional<uint32_t> ServiceIds::acquire_backend_id(Ipv4Addr ip, uint16_t port, L4Proto proto) {
    return backends_.acquire(backend_key(ip, port, proto));
}
void ServiceIds::release_absent() {
    rev_nat_.release_absent();
    backends_.release_absent();
}

// ---- the compiler ----

namespace {

/// A compile error; compile_services turns it into its Result.
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
    bool laid_out = false;
    uint32_t backends_off = 0;
    uint32_t maglev_off = 0;
    uint32_t maglev_m = 0;
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

class Compiler {
public:
    Compiler(const ServiceCompileInputs& in, ServiceIds& ids, const MaglevSeed& seed)
        : in_(in), c_(*in.config), ids_(ids), seed_(seed) {}

    void service(const ServiceConfig& s) {
        for (const ServicePortConfig& p : s.ports) {
            Selection all, local;
            local.local_only = true;
            for (const BackendConfig& b : s.backends) {
                const bool is_local = b.node == c_.node_name || (b.node.empty() && in_.local_pod_cidr.len > 0 &&
                                                                 in_.local_pod_cidr.contains(b.ip));
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
            for (Ipv4Addr ip : s.load_balancer_ips)
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

    LbTables finish() {
        t_.frontend_by_key = KeyMap64(keys_);
        t_.backend_ips = Ipv4Map(backend_ips_);
        return std::move(t_);
    }

private:
    uint32_t backend(Ipv4Addr ip, uint16_t port, L4Proto proto, BackendState state, bool local) {
        auto id = ids_.acquire_backend_id(ip, port, proto);
        if (!id)
            throw CompileFailure{"no free backend id for " + ip.str() + " " + port_text(proto, port) + " (" +
                                 std::to_string(ids_.backend_count()) + " backends in use)"};
        if (t_.backends.size() <= *id)
            t_.backends.resize(*id + 1);
        LbBackend& b = t_.backends[*id];
        if (!b.present) {
            b = LbBackend{ip, rte_cpu_to_be_16(port), state, true, local};
            if (!ip.is_zero() && seen_ips_.insert(ip.be).second)
                backend_ips_.push_back(ip);
        } else if (state == BackendState::Active) {
            b.state = BackendState::Active; // active in at least one service
        }
        return *id;
    }

    /// Adds a frontend with an entry per scope (nullptr: not reachable from there).
    void frontend(Ipv4Addr vip, uint16_t port, FrontendKind kind, const EntrySpec& spec, Selection* internal,
                  Selection* external) {
        const uint64_t key = frontend_key(vip.be, rte_cpu_to_be_16(port), static_cast<uint8_t>(spec.proto));
        if (!seen_keys_.insert(key).second)
            return; // an earlier frontend has this address, port and protocol
        auto rev_nat = ids_.acquire_rev_nat_id(key);
        if (!rev_nat)
            throw CompileFailure{"no free rev_nat id for " + spec.what + " (" + std::to_string(ids_.frontend_count()) +
                                 " frontends in use)"};
        LbFrontend fe;
        if (internal)
            fe.internal = entry(vip, port, kind, *rev_nat, spec, *internal);
        if (external)
            fe.external = external == internal ? fe.internal : entry(vip, port, kind, *rev_nat, spec, *external);
        keys_.push_back(key);
        t_.frontends.push_back(fe);
    }

    uint32_t entry(Ipv4Addr vip, uint16_t port, FrontendKind kind, uint16_t rev_nat, const EntrySpec& spec, Selection& sel) {
        lay_out(sel, spec);
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
        e.backends_off = sel.backends_off;
        e.backends_n = static_cast<uint32_t>(sel.picks.size());
        e.maglev_off = sel.maglev_off;
        e.maglev_m = sel.maglev_m;
        t_.services.push_back(e);
        return static_cast<uint32_t>(t_.services.size() - 1);
    }

    void lay_out(Selection& sel, const EntrySpec& spec) {
        if (sel.laid_out)
            return;
        sel.laid_out = true;
        if (sel.same_as) {
            lay_out(*sel.same_as, spec);
            sel.backends_off = sel.same_as->backends_off;
            sel.maglev_off = sel.same_as->maglev_off;
            sel.maglev_m = sel.same_as->maglev_m;
            return;
        }
        sel.backends_off = static_cast<uint32_t>(t_.service_backends.size());
        for (const Pick& p : sel.picks)
            t_.service_backends.push_back(p.id);
        if (spec.algorithm != LbAlgorithm::Maglev || sel.picks.empty())
            return;
        std::vector<MaglevBackend> mb;
        const MaglevL4 l4 = spec.proto == L4Proto::Tcp ? MaglevL4::tcp : MaglevL4::udp;
        for (const Pick& p : sel.picks)
            mb.push_back({maglev_backend_hash_string(p.ip, spec.port, l4), p.id, p.weight});
        auto table = build_maglev_table(mb, c_.loadbalancer.maglev_table_size, seed_);
        if (!table)
            throw CompileFailure{spec.what + ": " + table.error().message};
        sel.maglev_off = static_cast<uint32_t>(t_.maglev.size());
        sel.maglev_m = static_cast<uint32_t>(table->size());
        t_.maglev.insert(t_.maglev.end(), table->begin(), table->end());
    }

    const ServiceCompileInputs& in_;
    const Config& c_;
    ServiceIds& ids_;
    MaglevSeed seed_;
    LbTables t_;
    std::vector<uint64_t> keys_; ///< frontend keys, by frontend index
    std::unordered_set<uint64_t> seen_keys_;
    std::vector<Ipv4Addr> backend_ips_;
    std::unordered_set<uint32_t> seen_ips_;
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

} // namespace

Result<LbTables> compile_services(const ServiceCompileInputs& in, ServiceIds& ids) {
    if (!in.config)
        return make_error("compile_services: no config");
    const Config& c = *in.config;
    auto seed = parse_maglev_seed(c.loadbalancer.maglev_hash_seed);
    if (!seed)
        return seed.error();
    ServiceIds next = ids; // committed only on success
    LbTables t;
    try {
        Compiler compiler(in, next, *seed);
        for (const ServiceConfig& s : c.services)
            compiler.service(s);
        for (const EndpointConfig& ep : in.endpoints)
            compiler.host_ports(ep);
        t = compiler.finish();
    } catch (const CompileFailure& f) {
        return make_error(f.text);
    }
    next.release_absent();
    ids = std::move(next);

    const LoadBalancerConfig& lb = c.loadbalancer;
    t.maglev_jhash_seed = seed->jhash_v4;
    t.nodeport_mode = lb.nodeport_mode;
    t.no_backends = lb.no_backends;
    t.hairpin_ip = lb.hairpin_ip;
    t.masquerade = c.masquerade.enabled && !in.node_ip.is_zero();
    t.no_masquerade = no_masquerade(in);
    t.snat_port_min = c.masquerade.port_min;
    t.snat_port_max = c.masquerade.port_max;
    const ConntrackConfig& ct = c.conntrack;
    t.timeouts = CtTimeouts{ct.tcp_syn_timeout_s, ct.tcp_established_timeout_s, ct.tcp_close_timeout_s, ct.udp_timeout_s,
                            ct.icmp_timeout_s};
    return t;
}

} // namespace podlane
