// The loader's service sections (docs/config.md "Services"): loadbalancer,
// conntrack, masquerade, services and the endpoints' host_ports, with the
// checks that span them. read_config in config.cpp calls these in a fixed order.
#include <map>
#include <unordered_map>
#include <tuple>

#include "control/config/config_reader.h"
#include "control/tables/maglev.h"

namespace podlane::config_detail {

namespace {

constexpr uint32_t kMaxTimeoutS = 604800; // a week

/// A plain non-negative decimal integer, or nullopt.
std::optional<uint64_t> integer_of(std::string_view s) {
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || s[0] == '-' || !looks_like_integer(s) || ec != std::errc{} || end != s.data() + s.size())
        return std::nullopt;
    return v;
}

const char* proto_name(L4Proto p) {
    return p == L4Proto::Tcp ? "TCP" : "UDP";
}
std::string port_text(L4Proto p, uint16_t port) {
    return std::string(proto_name(p)) + " " + std::to_string(port);
}
std::string range_text(uint16_t lo, uint16_t hi) {
    return std::to_string(lo) + "-" + std::to_string(hi);
}
std::string at(const std::string& list, size_t i) {
    return list + "[" + std::to_string(i) + "]";
}

L4Proto as_proto(const Field& f) {
    const std::string s = f.node.IsScalar() ? f.node.Scalar() : "";
    if (s == "TCP" || s == "tcp")
        return L4Proto::Tcp;
    if (s == "UDP" || s == "udp")
        return L4Proto::Udp;
    invalid(f, "TCP or UDP");
}

LbAlgorithm as_algorithm(const Field& f) {
    return as_enum<LbAlgorithm>(f, {{"random", LbAlgorithm::Random}, {"maglev", LbAlgorithm::Maglev}});
}

TrafficPolicy as_policy(const Field& f) {
    return as_enum<TrafficPolicy>(f, {{"Cluster", TrafficPolicy::Cluster}, {"Local", TrafficPolicy::Local}});
}

/// A unicast address: not in 0.0.0.0/8, 127.0.0.0/8 or 224.0.0.0/3.
Ipv4Addr as_unicast(const Field& f, const std::string& example) {
    const Ipv4Addr ip = as_parsed<Ipv4Addr>("an IPv4 address like " + example)(f);
    const uint32_t first = ip.host() >> 24;
    if (first == 0 || first == 127 || first >= 224)
        invalid(f, "a unicast address, not in 0.0.0.0/8, 127.0.0.0/8 or 224.0.0.0/3, like " + example);
    return ip;
}

/// "lo-hi" with min_lo <= lo <= hi <= 65535.
std::pair<uint16_t, uint16_t> as_port_range(const Field& f, uint16_t min_lo, const std::string& example) {
    const std::string s = f.node.IsScalar() ? f.node.Scalar() : "";
    const size_t dash = s.find('-');
    auto lo = dash == std::string::npos ? std::nullopt : integer_of(std::string_view(s).substr(0, dash));
    auto hi = dash == std::string::npos ? std::nullopt : integer_of(std::string_view(s).substr(dash + 1));
    if (!lo || !hi || *lo > *hi)
        invalid(f, "a port range like " + example);
    if (*lo < min_lo || *hi > 65535)
        out_of_range(f, "a range within " + range_text(min_lo, 65535) + ", like " + example);
    return {static_cast<uint16_t>(*lo), static_cast<uint16_t>(*hi)};
}

void read_loadbalancer(const Mapping& top, Config& c) {
    const Mapping m = top.section("loadbalancer", {"algorithm", "maglev_table_size", "maglev_hash_seed",
                                                   "nodeport_range", "nodeport_mode", "no_backends", "hairpin_ip"});
    LoadBalancerConfig& lb = c.loadbalancer;
    m.read("algorithm", lb.algorithm, as_algorithm);
    m.read("maglev_table_size", lb.maglev_table_size, [](const Field& f) {
        auto v = f.node.IsScalar() ? integer_of(f.node.Scalar()) : std::nullopt;
        if (!v || *v > UINT32_MAX || !valid_maglev_size(static_cast<uint32_t>(*v)))
            invalid(f, "one of 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521 or 131071");
        return static_cast<uint32_t>(*v);
    });
    if (m.read("maglev_hash_seed", lb.maglev_hash_seed, as_string) && !parse_maglev_seed(lb.maglev_hash_seed))
        invalid(*m.get("maglev_hash_seed"), "base64 of exactly 12 bytes, like JLfvgnHc2kaSUFaI (head -c12 /dev/urandom | base64)");
    if (auto f = m.get("nodeport_range"))
        std::tie(lb.nodeport_min, lb.nodeport_max) = as_port_range(*f, 1, "30000-32767");
    m.read("nodeport_mode", lb.nodeport_mode, [&](const Field& f) {
        auto mode = as_enum<NodePortMode>(f, {{"snat", NodePortMode::Snat}, {"dsr", NodePortMode::Dsr}, {"hybrid", NodePortMode::Hybrid}});
        const bool geneve = c.routing.mode == RoutingMode::Tunnel && c.routing.protocol == TunnelProtocol::Geneve;
        if (mode != NodePortMode::Snat && !geneve)
            invalid(f, "snat: dsr and hybrid need routing.mode tunnel with routing.tunnel_protocol geneve");
        return mode;
    });
    m.read("no_backends", lb.no_backends, [](const Field& f) {
        return as_enum<NoBackendAction>(f, {{"reject", NoBackendAction::Reject}, {"drop", NoBackendAction::Drop}});
    });
    if (m.read("hairpin_ip", lb.hairpin_ip, [](const Field& f) { return as_unicast(f, "169.254.42.1"); })) {
        bool used = c.network.pod_cidr.contains(lb.hairpin_ip) || lb.hairpin_ip == c.node_ip;
        for (const PeerNodeConfig& p : c.nodes)
            used = used || p.ip == lb.hairpin_ip ||
                   std::any_of(p.pod_cidrs.begin(), p.pod_cidrs.end(), [&](const Ipv4Prefix& x) { return x.contains(lb.hairpin_ip); });
        if (used)
            invalid(*m.get("hairpin_ip"), "an address that no pod or node uses, like 169.254.42.1");
    }
}

void read_conntrack(const Mapping& top, ConntrackConfig& ct) {
    const Mapping m = top.section("conntrack", {"max_flows", "tcp_syn_timeout_s", "tcp_established_timeout_s",
                                                "tcp_close_timeout_s", "udp_timeout_s", "icmp_timeout_s", "gc_interval_ms",
                                                "max_fragment_datagrams"});
    m.read("max_flows", ct.max_flows, as_uint<uint32_t>(1024, 16777216));
    m.read("tcp_syn_timeout_s", ct.tcp_syn_timeout_s, as_uint<uint32_t>(1, kMaxTimeoutS));
    m.read("tcp_established_timeout_s", ct.tcp_established_timeout_s, as_uint<uint32_t>(1, kMaxTimeoutS));
    m.read("tcp_close_timeout_s", ct.tcp_close_timeout_s, as_uint<uint32_t>(1, kMaxTimeoutS));
    m.read("udp_timeout_s", ct.udp_timeout_s, as_uint<uint32_t>(1, kMaxTimeoutS));
    m.read("icmp_timeout_s", ct.icmp_timeout_s, as_uint<uint32_t>(1, kMaxTimeoutS));
    m.read("gc_interval_ms", ct.gc_interval_ms, as_uint<uint32_t>(10, 60000));
    m.read("max_fragment_datagrams", ct.max_fragment_datagrams, as_uint<uint32_t>(0, 1048576));
}

void read_masquerade(const Mapping& top, Config& c) {
    const Mapping m = top.section("masquerade", {"enabled", "non_masquerade_cidrs", "port_range"});
    MasqueradeConfig& mq = c.masquerade;
    m.read("enabled", mq.enabled, as_bool);
    if (auto f = m.get("non_masquerade_cidrs"))
        for (const Field& item : items(*f, "a list of IPv4 prefixes, like [192.168.0.0/16]"))
            mq.non_masquerade_cidrs.push_back(as_prefix(item, 0, 32, "192.168.0.0/16"));
    if (auto f = m.get("port_range")) {
        std::tie(mq.port_min, mq.port_max) = as_port_range(*f, 1024, "32768-65535");
        const LoadBalancerConfig& lb = c.loadbalancer;
        if (mq.port_min <= lb.nodeport_max && lb.nodeport_min <= mq.port_max)
            invalid(*f, "a range that does not overlap loadbalancer.nodeport_range " + range_text(lb.nodeport_min, lb.nodeport_max));
    }
}

/// Frontends (address, port, protocol) or node ports (address 0) in use, and
/// where: "services[0].cluster_ip (default/web)".
using Uses = std::map<std::tuple<uint32_t, uint16_t, L4Proto>, std::string>;

/// The node port of service port `where`, checked against the range and the node ports before it.
uint16_t read_node_port(const Mapping& m, const std::string& where, const ServiceConfig& s, L4Proto proto, const Config& c,
                        Uses& node_ports) {
    const LoadBalancerConfig& lb = c.loadbalancer;
    const std::string range = range_text(lb.nodeport_min, lb.nodeport_max) + " (loadbalancer.nodeport_range)";
    if (s.type == ServiceType::ClusterIP) {
        if (auto f = m.get("node_port"))
            invalid(*f, "no node_port with type ClusterIP");
        return 0;
    }
    const Field f = m.require("node_port", "a port in " + range + " with type NodePort or LoadBalancer");
    auto v = f.node.IsScalar() ? integer_of(f.node.Scalar()) : std::nullopt;
    if (!v)
        invalid(f, "a port in " + range);
    if (*v < lb.nodeport_min || *v > lb.nodeport_max)
        out_of_range(f, range);
    const auto port = static_cast<uint16_t>(*v);
    auto [it, added] = node_ports.emplace(std::tuple{0u, port, proto}, where + " (" + s.name + ")");
    if (!added)
        invalid(f, "a node port no other service port uses, but " + it->second + " already uses " + port_text(proto, port));
    return port;
}

void read_ports(const Mapping& sm, ServiceConfig& s, const Config& c, Uses& node_ports) {
    const Field list = sm.require("ports", "at least one port, like [{port: 80}]");
    for (const Field& item : items(list, "a list of ports, like [{name: http, port: 80, target_port: 8080}]")) {
        const Mapping m(item, {"name", "protocol", "port", "target_port", "node_port"});
        ServicePortConfig p;
        m.read("name", p.name, as_string);
        m.read("protocol", p.protocol, as_proto);
        const Field port = m.require("port", "the service port, like 80");
        p.port = as_uint<uint16_t>(1, 65535)(port);
        p.target_port = p.port;
        m.read("target_port", p.target_port, as_uint<uint16_t>(1, 65535));
        for (size_t i = 0; i < s.ports.size(); ++i)
            if (s.ports[i].protocol == p.protocol && s.ports[i].port == p.port)
                invalid(port, "a unique protocol and port, but " + at(sm.path("ports"), i) + " already uses " +
                        port_text(p.protocol, p.port));
        p.node_port = read_node_port(m, item.path, s, p.protocol, c, node_ports);
        s.ports.push_back(std::move(p));
    }
    if (s.ports.empty())
        invalid(list, "at least one port, like [{port: 80}]");
}

void read_backends(const Mapping& sm, ServiceConfig& s) {
    auto list = sm.get("backends");
    if (!list)
        return;
    for (const Field& item : items(*list, "a list of backends, like [{ip: 10.200.0.11}]")) {
        const Mapping m(item, {"ip", "node", "state", "weight"});
        BackendConfig b;
        const Field ip = m.require("ip", "the backend's address, like 10.200.0.11");
        b.ip = as_unicast(ip, "10.200.0.11");
        for (size_t i = 0; i < s.backends.size(); ++i)
            if (s.backends[i].ip == b.ip)
                invalid(ip, "a unique address, but " + at(sm.path("backends"), i) + " already uses it");
        m.read("node", b.node, as_node_name);
        m.read("state", b.state, [](const Field& f) {
            return as_enum<BackendState>(f, {{"active", BackendState::Active}, {"terminating", BackendState::Terminating}});
        });
        m.read("weight", b.weight, as_uint<uint16_t>(1, 65535));
        s.backends.push_back(std::move(b));
    }
}

/// Registers the service's frontends (cluster IP, external IPs, LB IPs) x ports; each must be new.
void add_frontends(const ServiceConfig& s, const std::vector<Field>& addrs, Uses& uses) {
    for (const Field& f : addrs) {
        const Ipv4Addr ip = *Ipv4Addr::parse(f.node.Scalar());
        for (const ServicePortConfig& p : s.ports) {
            auto [it, added] = uses.emplace(std::tuple{ip.host(), p.port, p.protocol}, f.path + " (" + s.name + ")");
            if (!added)
                invalid(f, "an address and port no other frontend uses, but " + it->second + " already serves " +
                        port_text(p.protocol, p.port));
        }
    }
}

/// lbipam_ips and lbipam_sharing_key (the lbipam.cilium.io annotations):
/// LoadBalancer services that LB IPAM serves, i.e. without load_balancer_ips.
void read_lbipam_keys(const Mapping& m, ServiceConfig& s) {
    const auto lb_only = [&](const Field& f) {
        if (s.type != ServiceType::LoadBalancer)
            invalid(f, "no " + f.path.substr(f.path.rfind('.') + 1) + " unless type is LoadBalancer");
        if (!s.load_balancer_ips.empty())
            invalid(f, "no " + f.path.substr(f.path.rfind('.') + 1) +
                    " with load_balancer_ips (those are fixed; LB IPAM serves services without them)");
    };
    if (auto f = m.get("lbipam_ips")) {
        lb_only(*f);
        for (const Field& item : items(*f, "a list of IPv4 addresses, like [172.16.1.10]")) {
            const Ipv4Addr ip = as_unicast(item, "172.16.1.10");
            if (std::find(s.lbipam_ips.begin(), s.lbipam_ips.end(), ip) != s.lbipam_ips.end())
                invalid(item, "an address not already in this list");
            s.lbipam_ips.push_back(ip);
        }
    }
    if (auto f = m.get("lbipam_sharing_key")) {
        lb_only(*f);
        s.lbipam_sharing_key = as_nonempty(*f);
    }
}

/// Service names already read, with their index in `services` (a lookup,
/// not a scan: a file of 10,000 services would otherwise compare 50 million
/// pairs of names).
using Names = std::unordered_map<std::string, size_t>;

ServiceConfig read_service(const Mapping& m, const Config& c, Uses& frontends, Uses& node_ports, Names& names) {
    ServiceConfig s;
    const Field name = m.require("name", "a unique service name, like default/web");
    s.name = as_nonempty(name);
    if (const auto [it, added] = names.try_emplace(s.name, c.services.size()); !added)
        invalid(name, "a unique name, but " + at("services", it->second) + " already uses it");
    m.read("type", s.type, [](const Field& f) {
        return as_enum<ServiceType>(f, {{"ClusterIP", ServiceType::ClusterIP}, {"NodePort", ServiceType::NodePort},
                                        {"LoadBalancer", ServiceType::LoadBalancer}});
    });
    std::vector<Field> addrs{m.require("cluster_ip", "the service's cluster IP, like 10.96.0.10")};
    s.cluster_ip = as_unicast(addrs[0], "10.96.0.10 (headless services are not supported)");
    if (auto f = m.get("external_ips"))
        for (const Field& item : items(*f, "a list of IPv4 addresses, like [192.168.60.10]")) {
            s.external_ips.push_back(as_unicast(item, "192.168.60.10"));
            addrs.push_back(item);
        }
    if (auto f = m.get("load_balancer_ips")) {
        for (const Field& item : items(*f, "a list of IPv4 addresses, like [192.168.70.10]")) {
            s.load_balancer_ips.push_back(as_unicast(item, "192.168.70.10"));
            addrs.push_back(item);
        }
        if (!s.load_balancer_ips.empty() && s.type != ServiceType::LoadBalancer)
            invalid(*f, "no load_balancer_ips unless type is LoadBalancer");
    }
    read_lbipam_keys(m, s);
    m.read("global", s.global, as_bool);
    m.read("shared", s.shared, as_bool);
    m.read("affinity", s.mesh_affinity, [](const Field& f) {
        return as_enum<MeshAffinity>(f, {{"none", MeshAffinity::None}, {"local", MeshAffinity::Local},
                                         {"remote", MeshAffinity::Remote}});
    });
    m.read("labels", s.labels, as_labels);
    m.read("external_traffic_policy", s.external_traffic_policy, as_policy);
    m.read("internal_traffic_policy", s.internal_traffic_policy, as_policy);
    m.read("session_affinity", s.session_affinity, [](const Field& f) {
        return as_enum<bool>(f, {{"None", false}, {"ClientIP", true}});
    });
    m.read("session_affinity_timeout_s", s.session_affinity_timeout_s, as_uint<uint32_t>(1, 86400));
    s.algorithm = c.loadbalancer.algorithm;
    m.read("algorithm", s.algorithm, as_algorithm);
    read_ports(m, s, c, node_ports);
    add_frontends(s, addrs, frontends);
    read_backends(m, s);
    return s;
}

} // namespace

void read_lb_settings(const Mapping& top, Config& c) {
    read_loadbalancer(top, c);
    read_conntrack(top, c.conntrack);
    read_masquerade(top, c);
}

void read_services(const Mapping& top, Config& c) {
    auto list = top.get("services");
    if (!list)
        return;
    Uses frontends, node_ports;
    Names names;
    for (size_t i = 0; i < c.services.size(); ++i)
        names.try_emplace(c.services[i].name, i);
    for (const Field& item : items(*list, "a list of services, like [{name: default/web, cluster_ip: 10.96.0.10, ports: [{port: 80}]}]")) {
        const Mapping m(item, {"name", "type", "cluster_ip", "external_ips", "load_balancer_ips", "external_traffic_policy",
                               "internal_traffic_policy", "session_affinity", "session_affinity_timeout_s", "algorithm",
                               "ports", "backends", "lbipam_ips", "lbipam_sharing_key", "global", "shared",
                               "affinity", "labels"});
        c.services.push_back(read_service(m, c, frontends, node_ports, names));
    }
}

void read_host_ports(const Mapping& endpoint, EndpointConfig& ep, const Config& c) {
    auto list = endpoint.get("host_ports");
    if (!list)
        return;
    for (const Field& item : items(*list, "a list of host ports, like [{host_port: 8080, container_port: 80}]")) {
        const Mapping m(item, {"host_port", "container_port", "protocol"});
        HostPortConfig hp;
        const Field port = m.require("host_port", "a port on the node IP, like 8080");
        hp.host_port = as_uint<uint16_t>(1, 65535)(port);
        hp.container_port = hp.host_port;
        m.read("container_port", hp.container_port, as_uint<uint16_t>(1, 65535));
        m.read("protocol", hp.protocol, as_proto);
        ep.host_ports.push_back(hp);
        if (auto e = host_port_problem(ep, ep.host_ports.size() - 1, c))
            invalid(port, *e);
        for (size_t i = 0; i < c.endpoints.size(); ++i)
            for (size_t j = 0; j < c.endpoints[i].host_ports.size(); ++j)
                if (const HostPortConfig& o = c.endpoints[i].host_ports[j]; o.host_port == hp.host_port && o.protocol == hp.protocol)
                    invalid(port, "a host port no other endpoint uses, but " + at("endpoints", i) + "." + at("host_ports", j) +
                            " already uses " + port_text(hp.protocol, hp.host_port));
    }
}

std::optional<std::string> host_port_problem(const EndpointConfig& ep, size_t i, const Config& c) {
    const HostPortConfig& hp = ep.host_ports[i];
    if (hp.host_port == 0)
        return "a port in 1..65535";
    for (size_t j = 0; j < i; ++j)
        if (ep.host_ports[j].host_port == hp.host_port && ep.host_ports[j].protocol == hp.protocol)
            return "a unique protocol and host port, but " + at("host_ports", j) + " already uses " + port_text(hp.protocol, hp.host_port);
    for (size_t s = 0; s < c.services.size(); ++s)
        for (size_t p = 0; p < c.services[s].ports.size(); ++p) {
            const ServicePortConfig& sp = c.services[s].ports[p];
            if (sp.node_port == hp.host_port && sp.protocol == hp.protocol)
                return "a port that is no service's node port, but " + at("services", s) + "." + at("ports", p) + " (" +
                       c.services[s].name + ") uses " + port_text(hp.protocol, hp.host_port);
        }
    return std::nullopt;
}

} // namespace podlane::config_detail
