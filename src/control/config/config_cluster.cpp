// The loader's cluster sections (docs/config.md "Multi-node"): routing, ipam,
// neighbor, uplinks and nodes, and the checks that span them and the network
// section. read_config in config.cpp calls these in a fixed order.
#include "control/config/config_reader.h"
#include "control/pods/ipam.h"

namespace podlane::config_detail {

namespace {

constexpr uint32_t kMaxUplinkMtu = 9216;
constexpr uint32_t kEncapBytes = 50; // VXLAN or Geneve without options: outer Ethernet 14 + IPv4 20 + UDP 8 + 8

bool overlap(const Ipv4Prefix& a, const Ipv4Prefix& b) {
    return a.contains(b.addr) || b.contains(a.addr);
}
bool inside(const Ipv4Prefix& inner, const Ipv4Prefix& outer) {
    return inner.len >= outer.len && outer.contains(inner.addr);
}
std::string encapsulation(TunnelProtocol p) {
    return std::to_string(kEncapBytes) + " bytes of " + (p == TunnelProtocol::Vxlan ? "VXLAN" : "Geneve") + " encapsulation";
}

} // namespace

/// A pod CIDR from the config lies inside routing.native_routing_cidr
/// (0.0.0.0/0 when not set) and overlaps none of the pod CIDRs before it.
void check_pod_cidr(const Field& f, const Ipv4Prefix& cidr, const RoutingConfig& r, const std::vector<NamedCidr>& before) {
    if (!inside(cidr, r.native_routing_cidr))
        invalid(f, "a CIDR inside routing.native_routing_cidr " + r.native_routing_cidr.str());
    for (const NamedCidr& other : before)
        if (overlap(cidr, other.cidr))
            invalid(f, "a CIDR that does not overlap " + other.what);
}

void read_routing(const Mapping& top, RoutingConfig& r) {
    const Mapping m = top.section("routing", {"mode", "tunnel_protocol", "tunnel_port", "native_routing_cidr"});
    m.read("mode", r.mode, [](const Field& f) {
        return as_enum<RoutingMode>(f, {{"native", RoutingMode::Native}, {"tunnel", RoutingMode::Tunnel}});
    });
    m.read("tunnel_protocol", r.protocol, [](const Field& f) {
        return as_enum<TunnelProtocol>(f, {{"vxlan", TunnelProtocol::Vxlan}, {"geneve", TunnelProtocol::Geneve}});
    });
    r.tunnel_port = r.protocol == TunnelProtocol::Vxlan ? 8472 : 6081;
    m.read("tunnel_port", r.tunnel_port, as_uint<uint16_t>(1, 65535));
    const auto as_cidr = [](const Field& f) { return as_prefix(f, 0, 32, "10.0.0.0/8"); };
    if (!m.read("native_routing_cidr", r.native_routing_cidr, as_cidr) && r.mode == RoutingMode::Native)
        m.require("native_routing_cidr", "the CIDR that holds every pod CIDR of the cluster, like 10.0.0.0/8");
}

/// Returns the section, where cluster-pool allocation errors point.
Mapping read_ipam(const Mapping& top, Config& c) {
    const Mapping m = top.section("ipam", {"mode", "cluster_pool_cidr", "mask_size", "state_dir"});
    IpamConfig& p = c.ipam;
    p.state_dir = "/var/lib/podlane/ipam-" + c.node_name;
    if (m.read("state_dir", p.state_dir, as_string) && (p.state_dir.empty() || p.state_dir[0] != '/'))
        invalid(*m.get("state_dir"), "an absolute path, like /var/lib/podlane/ipam-node1");
    m.read("mode", p.mode, [](const Field& f) {
        return as_enum<IpamMode>(f, {{"kubernetes", IpamMode::Kubernetes}, {"cluster-pool", IpamMode::ClusterPool}});
    });
    m.read("cluster_pool_cidr", p.cluster_pool_cidr, [](const Field& f) { return as_prefix(f, 8, 29, "10.0.0.0/8"); });
    m.read("mask_size", p.mask_size, as_uint<uint8_t>(9, 30));
    if (p.mode != IpamMode::ClusterPool)
        return m;
    const Field pool = m.require("cluster_pool_cidr", "the pool that pod CIDRs are allocated from, like 10.0.0.0/8");
    if (p.mask_size <= p.cluster_pool_cidr.len) {
        if (auto f = m.get("mask_size"))
            out_of_range(*f, std::to_string(p.cluster_pool_cidr.len + 1) + "..30 (longer than ipam.cluster_pool_cidr)");
        invalid(pool, "a prefix shorter than /" + std::to_string(p.mask_size) + ", the default ipam.mask_size");
    }
    if (!inside(p.cluster_pool_cidr, c.routing.native_routing_cidr))
        invalid(pool, "a pool inside routing.native_routing_cidr " + c.routing.native_routing_cidr.str());
    return m;
}

void read_neighbor(const Mapping& top, NeighborConfig& n) {
    const Mapping m = top.section("neighbor", {"refresh_ms", "timeout_ms"});
    m.read("refresh_ms", n.refresh_ms, as_uint<uint32_t>(100, 3600000));
    m.read("timeout_ms", n.timeout_ms, as_uint<uint32_t>(101, 3600000));
    if (n.timeout_ms > n.refresh_ms)
        return;
    if (auto f = m.get("timeout_ms"))
        out_of_range(*f, std::to_string(n.refresh_ms + 1) + "..3600000 (more than neighbor.refresh_ms)");
    out_of_range(*m.get("refresh_ms"), "100.." + std::to_string(n.timeout_ms - 1) + " (less than neighbor.timeout_ms, " +
                 std::to_string(n.timeout_ms) + " by default)");
}

void read_uplinks(const Mapping& top, Config& c) {
    auto list = top.get("uplinks");
    if (!list)
        return;
    const bool tunnel = c.routing.mode == RoutingMode::Tunnel;
    const uint32_t min_mtu = kMinPodMtu + (tunnel ? kEncapBytes : 0);
    for (const Field& item : items(*list, "a list of uplinks, like [{name: eth0, devargs: \"net_af_packet0,iface=eth0\"}]")) {
        const Mapping m(item, {"name", "devargs", "mtu", "subnet", "gateway"});
        const Field name = m.require("name", "an uplink name, like eth0");
        UplinkConfig u;
        u.name = as_nonempty(name);
        u.devargs = as_nonempty(m.require("devargs", "DPDK devargs, like net_af_packet0,iface=eth0"));
        for (size_t i = 0; i < c.uplinks.size(); ++i)
            if (c.uplinks[i].name == u.name)
                invalid(name, "a unique name, but uplinks[" + std::to_string(i) + "] already uses it");
        if (m.read("mtu", u.mtu, as_uint<uint32_t>(kMinPodMtu, kMaxUplinkMtu)) && u.mtu < min_mtu)
            out_of_range(*m.get("mtu"), std::to_string(min_mtu) + ".." + std::to_string(kMaxUplinkMtu) + " in tunnel mode (pod MTU " +
                         std::to_string(kMinPodMtu) + " plus " + encapsulation(c.routing.protocol) + ")");
        u.subnet = Ipv4Prefix{Ipv4Addr::from_host(c.node_ip.host() & 0xffffff00u), 24};
        if (auto f = m.get("subnet")) {
            auto p = f->node.IsScalar() ? Ipv4Prefix::parse(f->node.Scalar()) : std::nullopt;
            if (!p || p->len < 8 || p->len > 30)
                invalid(*f, "the uplink's subnet with no host bits set, /8../30, like 192.168.50.0/24");
            u.subnet = *p;
        }
        if (!c.node_ip.is_zero() && !u.subnet.contains(c.node_ip))
            invalid(m.get("subnet") ? *m.get("subnet") : item, "a subnet containing node.ip " + c.node_ip.str());
        if (auto f = m.get("gateway")) {
            auto ip = f->node.IsScalar() ? Ipv4Addr::parse(f->node.Scalar()) : std::nullopt;
            if (!ip || !u.subnet.contains(*ip) || *ip == c.node_ip)
                invalid(*f, "a router address inside the uplink subnet " + u.subnet.str() + ", not node.ip");
            u.gateway = *ip;
        }
        c.uplinks.push_back(std::move(u));
    }
}

/// The other nodes; needs node, routing, ipam and uplinks read.
PeerFields read_peers(const Mapping& top, Config& c, bool from_source) {
    PeerFields out;
    auto list = top.get("nodes");
    if (!list)
        return out;
    const std::vector<Field> peers =
        items(*list, "a list of nodes, like [{name: node2, ip: 192.168.50.12, pod_cidrs: [10.200.1.0/24]}]");
    if (!peers.empty() && c.uplinks.empty())
        fail_at(list->node, list->path, "other nodes are reached over an uplink: expected uplinks, or no nodes");
    for (const Field& item : peers) {
        const Mapping m(item, {"name", "ip", "pod_cidrs", "tunnel_mac"});
        PeerNodeConfig p;
        const Field name = m.require("name", "the node's name, like node2");
        p.name = as_node_name(name);
        if (from_source && p.name == c.node_name)
            continue;
        if (p.name == c.node_name)
            invalid(name, "a name other than node.name (this node)");
        const Field ip = m.require("ip", "the node's IP on the underlay, like 192.168.50.12");
        p.ip = as_node_ip(ip);
        if (p.ip == c.node_ip)
            invalid(ip, "an address other than node.ip (this node)");
        if (auto f = m.get("tunnel_mac")) {
            auto mac = f->node.IsScalar() ? MacAddr::parse(f->node.Scalar()) : std::nullopt;
            if (!mac || mac->is_zero() || mac->is_multicast())
                invalid(*f, "a unicast MAC address like 02:00:00:00:20:01 (the node's kernel VXLAN device)");
            p.tunnel_mac = *mac;
        }
        for (size_t i = 0; i < c.nodes.size(); ++i) {
            const std::string other = "nodes[" + std::to_string(i) + "]";
            if (c.nodes[i].name == p.name)
                invalid(name, "a unique name, but " + other + " already uses it");
            if (c.nodes[i].ip == p.ip)
                invalid(ip, "a unique address, but " + other + " already uses it");
        }
        if (c.ipam.mode == IpamMode::ClusterPool && !from_source) {
            if (auto f = m.get("pod_cidrs"))
                invalid(*f, "no pod_cidrs with ipam.mode cluster-pool, which allocates them from ipam.cluster_pool_cidr");
        } else {
            const Field cidrs = m.require("pod_cidrs", "the node's pod CIDRs, like [10.200.1.0/24]");
            for (const Field& f : items(cidrs, "a list of pod CIDRs, like [10.200.1.0/24]")) {
                const Ipv4Prefix cidr = as_pod_cidr(f);
                check_pod_cidr(f, cidr, c.routing, out.pod_cidrs);
                out.pod_cidrs.push_back({cidr, f.path + " " + cidr.str() + " (" + p.name + ")"});
                p.pod_cidrs.push_back(cidr);
            }
            if (p.pod_cidrs.empty())
                invalid(cidrs, "at least one pod CIDR, like [10.200.1.0/24]");
        }
        out.ips.push_back(ip);
        c.nodes.push_back(std::move(p));
    }
    return out;
}

/// ipam cluster-pool: this node's and every peer's pod CIDR is its block of the pool.
void allocate_pod_cidrs(const Mapping& ipam, Config& c) {
    std::vector<std::string> names{c.node_name};
    for (const PeerNodeConfig& p : c.nodes)
        names.push_back(p.name);
    auto blocks = allocate_cluster_pool(c.ipam.cluster_pool_cidr, c.ipam.mask_size, names);
    if (!blocks) {
        const Field pool = *ipam.get("cluster_pool_cidr");
        fail_at(pool.node, pool.path, blocks.error().message + ": expected a larger pool or a larger ipam.mask_size");
    }
    c.network.pod_cidr = blocks->at(c.node_name);
    for (PeerNodeConfig& p : c.nodes)
        p.pod_cidrs = {blocks->at(p.name)};
}

/// Node IPs lie outside every pod CIDR (with cluster-pool: outside the pool).
void check_node_ips(const std::optional<Field>& node_ip, const PeerFields& peers, const Config& c) {
    std::vector<NamedCidr> pods;
    if (c.ipam.mode == IpamMode::ClusterPool) {
        pods.push_back({c.ipam.cluster_pool_cidr, "ipam.cluster_pool_cidr " + c.ipam.cluster_pool_cidr.str()});
    } else {
        pods.push_back({c.network.pod_cidr, "network.pod_cidr " + c.network.pod_cidr.str() + " (" + c.node_name + ")"});
        pods.insert(pods.end(), peers.pod_cidrs.begin(), peers.pod_cidrs.end());
    }
    auto check = [&](const Field& f, Ipv4Addr ip) {
        for (const NamedCidr& pod : pods)
            if (pod.cidr.contains(ip))
                invalid(f, "an address outside the pod CIDRs, but " + pod.what + " holds it");
    };
    if (node_ip)
        check(*node_ip, c.node_ip);
    for (size_t i = 0; i < c.nodes.size(); ++i)
        check(peers.ips[i], c.nodes[i].ip);
}

/// The largest pod MTU the uplinks carry, and why; none without uplinks.
std::optional<std::pair<uint32_t, std::string>> uplink_pod_mtu(const Config& c) {
    if (c.uplinks.empty())
        return std::nullopt;
    uint32_t mtu = kMaxUplinkMtu;
    for (const UplinkConfig& u : c.uplinks)
        mtu = std::min(mtu, u.mtu);
    const std::string why = "uplink MTU " + std::to_string(mtu);
    if (c.routing.mode == RoutingMode::Native)
        return std::pair{std::min(mtu, kMaxPodMtu), why};
    return std::pair{std::min(mtu - kEncapBytes, kMaxPodMtu), why + " minus " + encapsulation(c.routing.protocol)};
}

} // namespace podlane::config_detail
