// Loads podlaned's YAML configuration into Config and validates it (schema:
// docs/config.md). Every problem becomes one operator-facing message:
//   <source>:<line>: <key path>: <value> is not valid: expected <what>
// Inside the loader (this file, config_cluster.cpp, config_services.cpp)
// problems are thrown as Failure and caught in parse_config; no exception
// leaves it.
#include "control/config/config.h"
#include "control/sources/cluster_source.h"

#include <cctype>

#include "common/file.h"
#include "control/config/config_reader.h"
#include "control/ports/unix_socket.h"

namespace podlane {

// ---- the reading helpers shared with config_cluster.cpp (config_reader.h) ----

namespace config_detail {

std::string quote(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c < 0x20) {
            out += {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
            continue;
        }
        if (c == '"' || c == '\\')
            out += '\\';
        out += static_cast<char>(c);
    }
    return out + "\"";
}

bool looks_like_integer(std::string_view s) {
    if (!s.empty() && s[0] == '-')
        s.remove_prefix(1);
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string shown(const YAML::Node& n) {
    switch (n.Type()) {
    case YAML::NodeType::Scalar:
        return looks_like_integer(n.Scalar()) ? n.Scalar() : quote(n.Scalar());
    case YAML::NodeType::Sequence: return n.size() == 0 ? "an empty list" : "a list";
    case YAML::NodeType::Map: return "a mapping";
    default: return "an empty value";
    }
}

namespace {
std::string join(std::initializer_list<std::string_view> names) {
    std::string out;
    for (auto n : names)
        out += (out.empty() ? "" : ", ") + std::string(n);
    return out;
}
} // namespace

void fail_at(const YAML::Node& at, const std::string& path, const std::string& text) {
    YAML::Mark m = at.Mark();
    throw Failure{m.is_null() ? 0 : m.line + 1, (path.empty() ? "top level" : path) + ": " + text};
}
void invalid(const Field& f, const std::string& expected) {
    fail_at(f.node, f.path, shown(f.node) + " is not valid: expected " + expected);
}
void out_of_range(const Field& f, const std::string& expected) {
    fail_at(f.node, f.path, shown(f.node) + " is out of range: expected " + expected);
}

Mapping::Mapping(Field self, std::initializer_list<std::string_view> known) : self_(std::move(self)) {
    if (self_.node.IsNull())
        return;
    if (!self_.node.IsMap())
        invalid(self_, "a mapping with keys " + join(known));
    for (const auto& kv : self_.node) {
        if (!kv.first.IsScalar())
            invalid(Field{kv.first, self_.path}, "plain key names (" + join(known) + ")");
        const std::string& key = kv.first.Scalar();
        if (std::find(known.begin(), known.end(), key) == known.end())
            fail_at(kv.first, path(key), "unknown key (known keys: " + join(known) + ")");
        if (get(key))
            fail_at(kv.first, path(key), "duplicate key");
        values_.emplace_back(key, Field{kv.second, path(key)});
    }
}

std::vector<Field> items(const Field& f, const std::string& expected) {
    std::vector<Field> out;
    if (f.node.IsNull())
        return out;
    if (!f.node.IsSequence())
        invalid(f, expected);
    for (const auto& item : f.node)
        out.push_back(Field{item, f.path + "[" + std::to_string(out.size()) + "]"});
    return out;
}

std::string as_string(const Field& f) {
    if (!f.node.IsScalar())
        invalid(f, "a string");
    return f.node.Scalar();
}

bool as_bool(const Field& f) {
    const std::string s = f.node.IsScalar() ? f.node.Scalar() : "";
    if (s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE")
        return s[0] == 't' || s[0] == 'T';
    invalid(f, "true or false");
}

std::string as_nonempty(const Field& f) {
    std::string s = as_string(f);
    if (s.empty())
        invalid(f, "a non-empty string");
    return s;
}

std::string as_node_name(const Field& f) {
    std::string s = as_string(f);
    bool ok = !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    });
    if (!ok)
        invalid(f, "1..32 characters of a-z, 0-9, '.' and '-', like node1");
    return s;
}

Ipv4Addr as_node_ip(const Field& f) {
    const Ipv4Addr ip = as_parsed<Ipv4Addr>("an IPv4 address like 192.168.50.11")(f);
    const uint32_t first = ip.host() >> 24;
    if (first == 0 || first == 127 || first >= 224)
        invalid(f, "a unicast address, not in 0.0.0.0/8, 127.0.0.0/8 or 224.0.0.0/3, like 192.168.50.11");
    return ip;
}

Ipv4Prefix as_prefix(const Field& f, uint8_t lo, uint8_t hi, const std::string& example) {
    const std::string s = f.node.IsScalar() ? f.node.Scalar() : "";
    auto prefix = Ipv4Prefix::parse(s);
    if (!prefix) {
        // Tell "10.200.0.1/24" (host bits set) apart from text that is no prefix at all.
        size_t slash = s.find('/');
        auto addr = Ipv4Addr::parse(std::string_view(s).substr(0, slash));
        auto len = slash == std::string::npos ? std::nullopt : Ipv4Prefix::parse("0.0.0.0" + s.substr(slash));
        if (addr && len)
            invalid(f, "a prefix with no host bits set, like " + example);
        invalid(f, "an IPv4 prefix like " + example);
    }
    if (prefix->len < lo || prefix->len > hi)
        out_of_range(f, "a prefix length of " + std::to_string(lo) + ".." + std::to_string(hi) + ", like " + example);
    return *prefix;
}

Ipv4Prefix as_pod_cidr(const Field& f) {
    return as_prefix(f, 8, 30, "10.200.0.0/24");
}

} // namespace config_detail

namespace {

using namespace config_detail;

constexpr uint32_t kMaxLcore = 127;
constexpr size_t kMaxWorkers = 16;

uint16_t as_ring_size(const Field& f) {
    uint16_t v = as_uint<uint16_t>(64, 4096)(f);
    if ((v & (v - 1)) != 0)
        invalid(f, "a power of two in 64..4096, like 1024");
    return v;
}

const auto as_ip = as_parsed<Ipv4Addr>("an IPv4 address like 10.200.0.11");
const auto as_mac = as_parsed<MacAddr>("a MAC address like 0a:58:0a:c8:00:0b");

// ---- checks shared by config endpoints and API endpoints ----

/// Why `ip` cannot be a host address in `cidr`, as an "expected ..." text.
std::optional<std::string> host_address_problem(Ipv4Addr ip, const Ipv4Prefix& cidr) {
    if (!cidr.contains(ip))
        return "an address inside network.pod_cidr " + cidr.str();
    if (ip == cidr.addr)
        return "a host address, not the network address of " + cidr.str();
    if (ip.host() == (cidr.addr.host() | ~cidr.mask_host()))
        return "a host address, not the broadcast address of " + cidr.str();
    return std::nullopt;
}

std::optional<std::string> mac_problem(const MacAddr& mac) {
    if (mac.is_zero() || mac.is_multicast())
        return "a unicast, non-zero MAC address like 0a:58:0a:c8:00:0b";
    return std::nullopt;
}

bool valid_ifname(const std::string& s) {
    return !s.empty() && s.size() <= 15 && std::none_of(s.begin(), s.end(), [](unsigned char c) {
        return c == '/' || std::isspace(c);
    });
}

/// A problem with one endpoint field: `text` is "<value> is not valid: expected ...".
struct Problem {
    std::string field;
    std::string text;
};

/// memif_socket, memif_role and memif_zero_copy together.
std::optional<Problem> memif_problem(const EndpointConfig& ep, const std::string& socket_path) {
    const bool client = ep.memif_role == MemifRole::Client;
    if (ep.memif_socket.empty()) {
        if (client)
            return Problem{"memif_role", "\"client\" is not valid: expected memif_role only with memif_socket"};
        if (ep.memif_zero_copy)
            return Problem{"memif_zero_copy", "true is not valid: expected memif_zero_copy only with memif_socket"};
        return std::nullopt;
    }
    if (!check_socket_path(ep.memif_socket, "memif").ok())
        return Problem{"memif_socket", quote(ep.memif_socket) + " is not valid: expected " + socket_path};
    if (!ep.vhost_socket.empty())
        return Problem{"memif_socket", quote(ep.memif_socket) + " is not valid: expected no memif_socket together "
                       "with vhost_socket (a pod attaches over vhost-user or memif, not both)"};
    if (ep.memif_zero_copy && !client)
        return Problem{"memif_zero_copy", "true is not valid: expected false with memif_role server "
                       "(zero-copy is DPDK's memif client mode: set memif_role: client)"};
    return std::nullopt;
}

std::optional<Problem> endpoint_problem(const EndpointConfig& ep, const Config& config) {
    auto bad = [](std::string field, const std::string& value, const std::string& expected) {
        return Problem{std::move(field), quote(value) + " is not valid: expected " + expected};
    };
    if (ep.id.empty())
        return bad("id", ep.id, "a non-empty id, like default/web-1");
    if (auto e = host_address_problem(ep.ip, config.network.pod_cidr))
        return bad("ip", ep.ip.str(), *e);
    if (ep.ip == config.network.gateway_ip)
        return bad("ip", ep.ip.str(), "an address other than network.gateway_ip");
    if (auto e = mac_problem(ep.mac))
        return bad("mac", ep.mac.str(), *e);
    const std::string socket_path = "an absolute path of at most 107 bytes without commas or spaces";
    if (!ep.vhost_socket.empty() && !check_socket_path(ep.vhost_socket, "vhost-user").ok())
        return bad("vhost_socket", ep.vhost_socket, socket_path);
    if (auto p = memif_problem(ep, socket_path))
        return p;
    if ((ep.netns.empty() && !ep.over_socket()) ||
        (!ep.netns.empty() && ep.netns[0] != '/' && ep.netns.find('/') != std::string::npos))
        return bad("netns", ep.netns, "a namespace name under /run/netns (like pl-pod-a) or an absolute path");
    if (!valid_ifname(ep.ifname))
        return bad("ifname", ep.ifname, "an interface name of 1..15 characters without '/' or whitespace");
    for (const auto& [key, value] : ep.labels)
        if (key.empty())
            return bad("labels", key, "non-empty label keys");
    for (size_t i = 0; i < ep.host_ports.size(); ++i) {
        const std::string at = "host_ports[" + std::to_string(i) + "]";
        if (auto e = host_port_problem(ep, i, config))
            return Problem{at + ".host_port", std::to_string(ep.host_ports[i].host_port) + " is not valid: expected " + *e};
        if (ep.host_ports[i].container_port == 0)
            return Problem{at + ".container_port", "0 is not valid: expected a port in 1..65535"};
    }
    return std::nullopt;
}

// ---- sections ----

void read_dataplane(const Mapping& top, Config& c) {
    const Mapping m = top.section("dataplane", {"main_lcore", "worker_lcores", "lcore_map", "hugepages",
        "memory_mb", "file_prefix", "eal_args", "mbufs", "burst_size", "rx_ring_size", "tx_ring_size",
        "idle_sleep_us", "idle_polls_before_sleep"});
    DataplaneConfig& d = c.dataplane;
    m.read("main_lcore", d.main_lcore, as_uint<uint32_t>(0, kMaxLcore));
    if (auto f = m.get("worker_lcores")) {
        d.worker_lcores.clear();
        for (const Field& item : items(*f, "a list of lcores, like [1, 2]")) {
            uint32_t lcore = as_uint<uint32_t>(0, kMaxLcore)(item);
            if (std::find(d.worker_lcores.begin(), d.worker_lcores.end(), lcore) != d.worker_lcores.end())
                invalid(item, "each lcore once, but it is listed twice");
            if (lcore == d.main_lcore)
                invalid(item, "lcores other than dataplane.main_lcore (" + std::to_string(d.main_lcore) + ")");
            d.worker_lcores.push_back(lcore);
        }
        if (d.worker_lcores.empty() || d.worker_lcores.size() > kMaxWorkers)
            fail_at(f->node, f->path, std::to_string(d.worker_lcores.size()) +
                    " lcores is out of range: expected 1.." + std::to_string(kMaxWorkers) + " lcores, like [1, 2]");
    } else if (d.main_lcore == d.worker_lcores.front()) {
        invalid(*m.get("main_lcore"), "an lcore other than the default worker lcore 1");
    }
    m.read("lcore_map", d.lcore_map, as_string);
    m.read("hugepages", d.hugepages, as_bool);
    m.read("memory_mb", d.memory_mb, as_uint<uint32_t>(64));
    d.file_prefix = "podlane-" + c.node_name;
    if (m.read("file_prefix", d.file_prefix, as_nonempty) && d.file_prefix.find('/') != std::string::npos)
        invalid(*m.get("file_prefix"), "a name without '/', like podlane-node1");
    if (auto f = m.get("eal_args"))
        for (const Field& item : items(*f, "a list of strings, like [\"--log-level=7\"]"))
            d.eal_args.push_back(as_string(item));
    m.read("mbufs", d.mbufs, as_uint<uint32_t>(1023, 1048575));
    m.read("burst_size", d.burst_size, as_uint<uint16_t>(1, 64));
    m.read("rx_ring_size", d.rx_ring_size, as_ring_size);
    m.read("tx_ring_size", d.tx_ring_size, as_ring_size);
    m.read("idle_sleep_us", d.idle_sleep_us, as_uint<uint32_t>(0));
    m.read("idle_polls_before_sleep", d.idle_polls_before_sleep, as_uint<uint32_t>(0));
}

/// The pod network; with ipam cluster-pool, after allocate_pod_cidrs.
void read_network(const Mapping& top, Config& c, const PeerFields& peers) {
    NetworkConfig& n = c.network;
    const bool pool = c.ipam.mode == IpamMode::ClusterPool;
    const Mapping m = top.section("network", {"pod_cidr", "gateway_ip", "gateway_mac", "pod_mtu"});
    // ipam kubernetes with the Kubernetes source: without pod_cidr, this
    // node's Node object gives it (and the gateway, its first address) at start.
    const auto source = top.get("source");
    const bool k8s = source && source->node.IsMap() && source->node["kind"] && source->node["kind"].IsScalar() &&
                     source->node["kind"].Scalar() == "kubernetes";
    if (!pool && k8s && !m.get("pod_cidr")) {
        n.pod_cidr_from_node = true;
        if (auto gw = m.get("gateway_ip"))
            invalid(*gw, "no gateway_ip without pod_cidr (the PodCIDR comes from the Node object: the gateway is its "
                         "first address)");
    } else if (!pool) {
        const Field cidr = m.require("pod_cidr", "this node's pod CIDR, like 10.200.0.0/24");
        n.pod_cidr = as_pod_cidr(cidr);
        check_pod_cidr(cidr, n.pod_cidr, c.routing, peers.pod_cidrs);
    } else if (auto f = m.get("pod_cidr"); f && as_pod_cidr(*f) != n.pod_cidr) {
        invalid(*f, n.pod_cidr.str() + ", the block ipam cluster-pool allocated to " + c.node_name + " (or no pod_cidr)");
    }
    auto gw = m.get("gateway_ip");
    n.gateway_ip = Ipv4Addr::from_host(n.pod_cidr.addr.host() + 1); // cluster-pool default
    if (!gw && !pool && !n.pod_cidr_from_node)
        gw = m.require("gateway_ip", "an address inside network.pod_cidr, like 10.200.0.1");
    if (gw) {
        n.gateway_ip = as_ip(*gw);
        if (auto e = host_address_problem(n.gateway_ip, n.pod_cidr))
            invalid(*gw, *e);
    }
    n.gateway_mac = MacAddr::from_ipv4(n.gateway_ip);
    if (m.read("gateway_mac", n.gateway_mac, as_mac))
        if (auto e = mac_problem(n.gateway_mac))
            invalid(*m.get("gateway_mac"), *e);
    const auto limit = uplink_pod_mtu(c);
    if (!m.read("pod_mtu", n.pod_mtu, as_uint<uint32_t>(kMinPodMtu, kMaxPodMtu)))
        n.pod_mtu = limit ? limit->first : 1500;
    else if (limit && n.pod_mtu > limit->first)
        out_of_range(*m.get("pod_mtu"), "at most " + std::to_string(limit->first) + " (" + limit->second + ")");
}

void read_ports(const Mapping& top, std::vector<PortConfig>& ports) {
    auto list = top.get("ports");
    if (!list)
        return;
    for (const Field& item : items(*list, "a list of ports, like [{name: uplink, devargs: net_null0}]")) {
        const Mapping m(item, {"name", "devargs"});
        const Field name = m.require("name", "a port name, like uplink");
        PortConfig p{as_nonempty(name), as_nonempty(m.require("devargs", "DPDK devargs, like net_null0"))};
        for (size_t i = 0; i < ports.size(); ++i)
            if (ports[i].name == p.name)
                invalid(name, "a unique name, but ports[" + std::to_string(i) + "] already uses it");
        ports.push_back(std::move(p));
    }
}

EndpointConfig read_endpoint(const Mapping& m) {
    EndpointConfig ep;
    ep.id = as_string(m.require("id", "an endpoint id, like default/web-1"));
    ep.ip = as_ip(m.require("ip", "an address inside network.pod_cidr, like 10.200.0.11"));
    ep.mac = MacAddr::from_ipv4(ep.ip);
    m.read("mac", ep.mac, as_mac);
    m.read("vhost_socket", ep.vhost_socket, as_string);
    m.read("memif_socket", ep.memif_socket, as_string);
    m.read("memif_role", ep.memif_role, [](const Field& f) {
        return as_enum<MemifRole>(f, {{"server", MemifRole::Server}, {"client", MemifRole::Client}});
    });
    m.read("memif_zero_copy", ep.memif_zero_copy, as_bool);
    if (!ep.over_socket())
        ep.netns = as_string(m.require("netns", "a namespace name under /run/netns, like pl-pod-a"));
    else
        m.read("netns", ep.netns, as_string);
    m.read("ifname", ep.ifname, as_string);
    if (auto f = m.get("labels"); f && !f->node.IsNull()) {
        if (!f->node.IsMap())
            invalid(*f, "a mapping of label names to values, like {app: web}");
        for (const auto& kv : f->node) {
            std::string key = as_string(Field{kv.first, f->path});
            if (!ep.labels.emplace(key, as_string(Field{kv.second, f->path + "." + key})).second)
                fail_at(kv.first, f->path + "." + key, "duplicate key");
        }
    }
    return ep;
}

void read_endpoints(const Mapping& top, Config& c) {
    auto list = top.get("endpoints");
    if (!list)
        return;
    for (const Field& item : items(*list, "a list of endpoints, like [{id: default/web-1, ip: 10.200.0.11, netns: pl-web-1}]")) {
        const Mapping m(item, {"id", "ip", "mac", "netns", "ifname", "labels", "host_ports", "vhost_socket",
                               "memif_socket", "memif_role", "memif_zero_copy", "named_ports"});
        EndpointConfig ep = read_endpoint(m);
        read_named_ports(m, ep);
        read_host_ports(m, ep, c);
        if (auto p = endpoint_problem(ep, c)) {
            auto f = m.get(p->field);
            fail_at(f ? f->node : item.node, m.path(p->field), p->text);
        }
        for (size_t i = 0; i < c.endpoints.size(); ++i) {
            const std::string other = "endpoints[" + std::to_string(i) + "]";
            if (c.endpoints[i].id == ep.id)
                invalid(*m.get("id"), "a unique id, but " + other + " already uses it");
            if (c.endpoints[i].ip == ep.ip)
                invalid(*m.get("ip"), "a unique address, but " + other + " already uses it");
        }
        c.endpoints.push_back(std::move(ep));
    }
    if (c.endpoints.size() > c.tables.max_endpoints)
        fail_at(list->node, list->path, std::to_string(c.endpoints.size()) + " entries is out of range: expected at most " +
                std::to_string(c.tables.max_endpoints) + " (tables.max_endpoints)");
}

/// The metrics section: enabled, and listen as "a.b.c.d:port" (port 0: any free port).
void read_metrics(const Mapping& top, MetricsConfig& m) {
    const Mapping sec = top.section("metrics", {"enabled", "listen"});
    sec.read("enabled", m.enabled, as_bool);
    auto f = sec.get("listen");
    if (!f)
        return;
    const std::string s = f->node.IsScalar() ? f->node.Scalar() : "";
    const size_t colon = s.rfind(':');
    if (colon == std::string::npos)
        invalid(*f, "an IPv4 address and port like 127.0.0.1:9962 (0.0.0.0:9962: every interface)");
    auto addr = Ipv4Addr::parse(std::string_view(s).substr(0, colon));
    if (!addr)
        invalid(*f, "an IPv4 address before the port, like 127.0.0.1:9962 (0.0.0.0:9962: every interface)");
    if (addr->host() >> 24 >= 224)
        invalid(*f, "a local unicast address or 0.0.0.0 before the port, like 127.0.0.1:9962");
    const std::string port = s.substr(colon + 1);
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (!looks_like_integer(port) || port[0] == '-')
        invalid(*f, "a port after the address, like 127.0.0.1:9962");
    if (ec != std::errc{} || end != port.data() + port.size() || v > 65535)
        out_of_range(*f, "a port in 0..65535 after the address (0: any free port)");
    m.address = *addr;
    m.port = static_cast<uint16_t>(v);
}

Config read_config(const YAML::Node& root) {
    Config c;
    const Mapping top(Field{root, ""}, {"node", "dataplane", "network", "uplinks", "routing", "ipam", "nodes",
                                        "neighbor", "host", "ports", "endpoints", "tables", "api",
                                        "loadbalancer", "conntrack", "masquerade", "services", "metrics", "source",
                                        "observe", "bgp", "lb_ipam", "restart", "cluster",
                                        "max_connected_clusters", "clustermesh", "health", "policies"});
    const Mapping node = top.section("node", {"name", "ip", "labels"});
    node.read("name", c.node_name, as_node_name);
    node.read("labels", c.node_labels, as_labels);
    node.read("ip", c.node_ip, as_node_ip);
    read_dataplane(top, c);
    read_routing(top, c.routing);
    const Mapping ipam = read_ipam(top, c);
    read_neighbor(top, c.neighbor);
    read_uplinks(top, c);
    const Mapping host = top.section("host", {"enabled", "ifname"});
    host.read("enabled", c.host.enabled, as_bool);
    if (host.read("ifname", c.host.ifname, as_string) && !valid_ifname(c.host.ifname))
        invalid(*host.get("ifname"), "an interface name of 1..15 characters without '/' or whitespace");
    if (!c.uplinks.empty())
        node.require("ip", "this node's IP on the uplink, like 192.168.50.11");
    const PeerFields peers = read_peers(top, c);
    if (c.ipam.mode == IpamMode::ClusterPool)
        allocate_pod_cidrs(ipam, c);
    read_network(top, c, peers);
    check_node_ips(node.get("ip"), peers, c);
    const Mapping tables = top.section("tables", {"max_endpoints", "max_publish_rate"});
    tables.read("max_endpoints", c.tables.max_endpoints, as_uint<uint32_t>(1, 65536));
    tables.read("max_publish_rate", c.tables.max_publish_rate, as_uint<uint32_t>(1, 1000));
    const Mapping api = top.section("api", {"socket"});
    if (api.read("socket", c.api.socket, as_string) && (c.api.socket.empty() || c.api.socket[0] != '/'))
        invalid(*api.get("socket"), "an absolute path, like /run/podlane/podlane.sock");
    read_metrics(top, c.metrics);
    read_source(top, c.source);
    const Mapping obs = top.section("observe", {"enabled", "sample_every", "ring_size", "history", "aggregate_ms"});
    obs.read("enabled", c.observe.enabled, as_bool);
    obs.read("sample_every", c.observe.sample_every, as_uint<uint32_t>(0, 1u << 20));
    if (obs.read("ring_size", c.observe.ring_size, as_uint<uint32_t>(64, 1u << 20)) &&
        (c.observe.ring_size & (c.observe.ring_size - 1)) != 0)
        invalid(*obs.get("ring_size"), "a power of two, like 4096");
    obs.read("history", c.observe.history, as_uint<uint32_t>(16, 1u << 22));
    obs.read("aggregate_ms", c.observe.aggregate_ms, as_uint<uint32_t>(0, 3600000));
    read_ports(top, c.ports);
    read_lb_settings(top, c);
    read_services(top, c);
    read_endpoints(top, c);
    read_bgp(top, c);
    read_lb_ipam(top, c);
    const Mapping restart = top.section("restart", {"checkpoint_interval_s"});
    restart.read("checkpoint_interval_s", c.restart.checkpoint_interval_s, as_uint<uint32_t>(0, 86400));
    read_clustermesh(top, c);
    read_health(top, c);
    read_policies(top, c);
    return c;
}

std::string prefix(const std::string& source, int line) {
    std::string where = source;
    if (line > 0)
        where += (where.empty() ? "line " : ":") + std::to_string(line);
    return where.empty() ? where : where + ": ";
}

} // namespace

namespace {

/// Runs `read` on the root `load` returns, turning loader failures and YAML
/// errors into one "<source>:<line>: <message>" error.
template <typename Load, typename Read>
auto guarded_read(Load load, const std::string& source_name, Read read) -> Result<decltype(read(YAML::Node()))> {
    try {
        return read(load());
    } catch (const Failure& f) {
        return make_error(prefix(source_name, f.line) + f.text);
    } catch (const YAML::Exception& e) { // syntax errors (ParserException) and the like
        if (e.mark.is_null())
            return make_error(prefix(source_name, 0) + "invalid YAML: " + e.msg);
        return make_error(prefix(source_name, e.mark.line + 1) + "invalid YAML: " + e.msg + " (column " +
                          std::to_string(e.mark.column + 1) + ")");
    } catch (const std::exception& e) {
        return make_error(prefix(source_name, 0) + "cannot read the configuration: " + e.what());
    }
}

/// Reads the `nodes:` and `services:` of `root` against a copy of `node_config`.
ClusterObjects read_cluster_objects(const YAML::Node& root, const Config& node_config) {
    Config c = node_config;
    c.nodes.clear();
    c.services.clear();
    const Mapping top(Field{root, ""}, {"nodes", "services"});
    read_peers(top, c, /*from_source=*/true);
    read_services(top, c);
    return ClusterObjects{std::move(c.nodes), std::move(c.services)};
}

} // namespace

Result<Config> parse_config(const std::string& yaml_text, const std::string& source_name) {
    return guarded_read([&] { return YAML::Load(yaml_text); }, source_name,
                        [](const YAML::Node& root) { return read_config(root); });
}

Result<ClusterObjects> parse_cluster_objects(const std::string& text, const Config& node_config,
                                             const std::string& source_name) {
    return guarded_read([&] { return YAML::Load(text); }, source_name,
                        [&](const YAML::Node& root) { return read_cluster_objects(root, node_config); });
}

Result<ClusterObjects> parse_cluster_objects(const YAML::Node& root, const Config& node_config,
                                             const std::string& source_name) {
    return guarded_read([&] { return root; }, source_name,
                        [&](const YAML::Node& r) { return read_cluster_objects(r, node_config); });
}

Result<Config> load_config_file(const std::string& path) {
    auto text = read_file(path);
    if (!text)
        return text.error();
    return parse_config(*text, path);
}

Result<void> validate_endpoint(const EndpointConfig& ep, const Config& config, const std::string& where) {
    if (auto p = endpoint_problem(ep, config))
        return make_error(where + "." + p->field + ": " + p->text);
    if (!ep.host_ports.empty() && config.uplinks.empty())
        return make_error(where + ".host_ports: hostPort " + std::to_string(ep.host_ports[0].host_port) +
                          " cannot be served: hostPorts are served on node.ip through an uplink, and this node has "
                          "none (uplinks: in podlaned's config); drop the port mappings or give the node an uplink");
    return {};
}

} // namespace podlane
