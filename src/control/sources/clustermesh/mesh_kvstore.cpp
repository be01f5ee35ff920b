#include "control/sources/clustermesh/mesh_kvstore.h"

#include <nlohmann/json.hpp>

#include "control/sources/etcd/etcd_client.h"

namespace podlane::mesh {

using Ordered = nlohmann::ordered_json; // Go's encoding/json writes struct fields in declaration order
using nlohmann::json;

std::string cluster_config_key(const std::string& cluster) { return "cilium/cluster-config/" + cluster; }
std::string synced_key(const std::string& cluster, const std::string& prefix) {
    return "cilium/synced/" + cluster + "/" + prefix;
}
std::string node_key(const std::string& cluster, const std::string& node) {
    return std::string(kNodesPrefix) + "/" + cluster + "/" + node;
}
std::string service_key(const std::string& cluster, const std::string& ns, const std::string& name) {
    return std::string(kServicesPrefix) + "/" + cluster + "/" + ns + "/" + name;
}
std::string ip_key(Ipv4Addr ip) { return std::string(kIpPrefix) + "/default/" + ip.str(); }
std::string identity_key(uint32_t id) { return std::string(kIdentitiesPrefix) + "/id/" + std::to_string(id); }

namespace {

Result<json> parse(const std::string& text) {
    try {
        json j = json::parse(text);
        if (!j.is_object())
            return make_error("not a JSON object");
        return j;
    } catch (const json::exception&) {
        return make_error("not JSON");
    }
}

std::string str_at(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

uint64_t uint_at(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

/// A prefix length from Go's base64 net.IPMask of 4 bytes; nullopt if not a contiguous IPv4 mask.
std::optional<uint8_t> mask_len(const std::string& b64) {
    auto bytes = base64_decode(b64);
    if (!bytes || bytes->size() != 4)
        return std::nullopt;
    uint32_t m = 0;
    for (unsigned char c : *bytes)
        m = m << 8 | c;
    uint8_t len = 0;
    while (len < 32 && (m & (0x80000000u >> len)))
        ++len;
    if (len < 32 && (m << len) != 0)
        return std::nullopt;
    return len;
}

/// A CIDR as Cilium's nodes carry it: {"IP", "Mask"} (every release so far)
/// or "a.b.c.d/len"; nullopt for null, IPv6 or anything else.
std::optional<Ipv4Prefix> cidr_of(const json& j) {
    if (j.is_string()) {
        auto p = Ipv4Prefix::parse(j.get<std::string>());
        return p;
    }
    if (!j.is_object())
        return std::nullopt;
    auto ip = Ipv4Addr::parse(str_at(j, "IP"));
    auto len = mask_len(str_at(j, "Mask"));
    if (!ip || !len)
        return std::nullopt;
    Ipv4Prefix p{*ip, *len};
    if ((ip->host() & p.mask_host()) != ip->host())
        return std::nullopt;
    return p;
}

Ordered cidr_json(const Ipv4Prefix& p) { return Ordered{{"IP", p.addr.str()}, {"Mask", ipv4_mask_base64(p.len)}}; }

const char* proto_name(L4Proto p) { return p == L4Proto::Udp ? "UDP" : "TCP"; }

Ordered ports_json(const std::vector<ClusterService::Port>& ports) {
    Ordered o = Ordered::object();
    for (const auto& p : ports)
        o[p.name] = Ordered{{"Protocol", proto_name(p.protocol)}, {"Port", p.port}};
    return o;
}

Result<std::map<std::string, std::vector<ClusterService::Port>>> address_map(const json& j, const char* what) {
    std::map<std::string, std::vector<ClusterService::Port>> out;
    if (j.is_null())
        return out;
    if (!j.is_object())
        return make_error(std::string(what) + " is not an object");
    for (const auto& [addr, ports] : j.items()) {
        if (!Ipv4Addr::parse(addr)) {
            if (addr.find(':') != std::string::npos)
                continue; // IPv6: podlane is IPv4-only
            return make_error(std::string(what) + ": \"" + addr + "\" is not an IP address");
        }
        std::vector<ClusterService::Port>& list = out[addr];
        if (!ports.is_object())
            continue;
        for (const auto& [name, l4] : ports.items()) {
            if (!l4.is_object())
                continue;
            const std::string proto = str_at(l4, "Protocol");
            const uint64_t port = uint_at(l4, "Port");
            if ((proto != "TCP" && proto != "UDP") || port == 0 || port > 65535)
                continue; // SCTP, ANY or junk: not something podlane balances
            list.push_back({name, proto == "UDP" ? L4Proto::Udp : L4Proto::Tcp, static_cast<uint16_t>(port)});
        }
    }
    return out;
}

} // namespace

std::string ipv4_mask_base64(uint8_t len) {
    const uint32_t m = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
    std::string bytes{static_cast<char>(m >> 24), static_cast<char>(m >> 16), static_cast<char>(m >> 8),
                      static_cast<char>(m)};
    return base64_encode(bytes);
}

std::string encode_cluster_config(const ClusterConfig& c) {
    Ordered caps = Ordered::object();
    if (c.synced_canaries)
        caps["syncedCanaries"] = true;
    if (c.max_connected_clusters != 0)
        caps["maxConnectedClusters"] = c.max_connected_clusters;
    return Ordered{{"id", c.id}, {"capabilities", caps}}.dump();
}

Result<ClusterConfig> decode_cluster_config(const std::string& text) {
    auto j = parse(text);
    if (!j)
        return j.error();
    ClusterConfig c;
    auto id = j->find("id");
    if (id != j->end() && !id->is_number_unsigned())
        return make_error("id is not a cluster id");
    c.id = static_cast<uint32_t>(uint_at(*j, "id"));
    if (auto caps = j->find("capabilities"); caps != j->end() && caps->is_object()) {
        auto sc = caps->find("syncedCanaries");
        c.synced_canaries = sc != caps->end() && sc->is_boolean() && sc->get<bool>();
        c.max_connected_clusters = static_cast<uint32_t>(uint_at(*caps, "maxConnectedClusters"));
    }
    return c;
}

std::string encode_node(const Node& n) {
    Ordered secondary = nullptr;
    for (size_t i = 1; i < n.pod_cidrs.size(); ++i)
        secondary.push_back(cidr_json(n.pod_cidrs[i]));
    return Ordered{{"Name", n.name},
                   {"Cluster", n.cluster},
                   {"IPAddresses", Ordered::array({Ordered{{"Type", "InternalIP"}, {"IP", n.ip.str()}}})},
                   {"IPv4AllocCIDR", n.pod_cidrs.empty() ? Ordered(nullptr) : cidr_json(n.pod_cidrs[0])},
                   {"IPv4SecondaryAllocCIDRs", secondary},
                   {"IPv6AllocCIDR", nullptr},
                   {"IPv6SecondaryAllocCIDRs", nullptr},
                   {"IPv4HealthIP", ""},
                   {"IPv6HealthIP", ""},
                   {"IPv4IngressIP", ""},
                   {"IPv6IngressIP", ""},
                   {"ClusterID", n.cluster_id},
                   {"Source", "local"},
                   {"EncryptionKey", 0},
                   {"Labels", nullptr},
                   {"NodeIdentity", 0},
                   {"WireguardPubKey", ""}}
        .dump();
}

Result<Node> decode_node(const std::string& text) {
    auto j = parse(text);
    if (!j)
        return j.error();
    Node n;
    n.name = str_at(*j, "Name");
    n.cluster = str_at(*j, "Cluster");
    n.cluster_id = static_cast<uint32_t>(uint_at(*j, "ClusterID"));
    if (n.name.empty())
        return make_error("Name is missing");
    std::optional<Ipv4Addr> internal, external, other;
    if (auto addrs = j->find("IPAddresses"); addrs != j->end() && addrs->is_array())
        for (const json& a : *addrs) {
            if (!a.is_object())
                continue;
            auto ip = Ipv4Addr::parse(str_at(a, "IP"));
            if (!ip)
                continue; // IPv6
            std::string type = str_at(a, "Type");
            if (type.empty())
                type = str_at(a, "AddressType"); // how Cilium's older docs show it
            if (type == "InternalIP" && !internal)
                internal = ip;
            else if (type == "ExternalIP" && !external)
                external = ip;
            else if (type != "CiliumInternalIP" && !other)
                other = ip;
        }
    const auto ip = internal ? internal : external ? external : other;
    if (!ip)
        return make_error("no IPv4 node address in IPAddresses");
    n.ip = *ip;
    if (auto c = j->find("IPv4AllocCIDR"); c != j->end())
        if (auto p = cidr_of(*c))
            n.pod_cidrs.push_back(*p);
    if (auto list = j->find("IPv4SecondaryAllocCIDRs"); list != j->end() && list->is_array())
        for (const json& c : *list)
            if (auto p = cidr_of(c))
                n.pod_cidrs.push_back(*p);
    return n;
}

std::string encode_service(const ClusterService& s) {
    Ordered fe = Ordered::object(), be = Ordered::object();
    for (const auto& [ip, ports] : s.frontends)
        fe[ip] = ports_json(ports);
    for (const auto& [ip, ports] : s.backends)
        be[ip] = ports_json(ports);
    return Ordered{{"cluster", s.cluster},   {"namespace", s.ns},         {"name", s.name},
                   {"frontends", fe},        {"backends", be},            {"labels", Ordered::object()},
                   {"selector", Ordered::object()}, {"includeExternal", false}, {"shared", s.shared},
                   {"clusterID", s.cluster_id}}
        .dump();
}

Result<ClusterService> decode_service(const std::string& text) {
    auto j = parse(text);
    if (!j)
        return j.error();
    ClusterService s;
    s.cluster = str_at(*j, "cluster");
    s.ns = str_at(*j, "namespace");
    s.name = str_at(*j, "name");
    // ClusterService.validate: cluster, namespace and name are required.
    if (s.cluster.empty())
        return make_error("cluster is unset");
    if (s.ns.empty())
        return make_error("namespace is unset");
    if (s.name.empty())
        return make_error("name is unset");
    s.cluster_id = static_cast<uint32_t>(uint_at(*j, "clusterID"));
    auto shared = j->find("shared");
    s.shared = shared != j->end() && shared->is_boolean() && shared->get<bool>();
    auto fe = address_map(j->value("frontends", json()), "frontends");
    if (!fe)
        return fe.error();
    auto be = address_map(j->value("backends", json()), "backends");
    if (!be)
        return be.error();
    s.frontends = std::move(*fe);
    s.backends = std::move(*be);
    return s;
}

ClusterService cluster_service(const ServiceConfig& svc, const std::string& cluster, uint32_t cluster_id) {
    ClusterService s;
    s.cluster = cluster;
    s.cluster_id = cluster_id;
    const size_t slash = svc.name.find('/');
    s.ns = slash == std::string::npos ? "default" : svc.name.substr(0, slash);
    s.name = slash == std::string::npos ? svc.name : svc.name.substr(slash + 1);
    s.shared = svc.shared;
    std::vector<ClusterService::Port> fe, be;
    for (const ServicePortConfig& p : svc.ports) {
        fe.push_back({p.name, p.protocol, p.port});
        be.push_back({p.name, p.protocol, p.target_port});
    }
    s.frontends[svc.cluster_ip.str()] = fe;
    for (const BackendConfig& b : svc.backends)
        if (b.state == BackendState::Active)
            s.backends[b.ip.str()] = be;
    return s;
}

std::string encode_ip_identity(const IpIdentity& p) {
    Ordered o{{"IP", p.ip.str()},
              {"Mask", p.mask_len == 32 ? Ordered(nullptr) : Ordered(ipv4_mask_base64(p.mask_len))},
              {"HostIP", p.host_ip.is_zero() ? std::string() : p.host_ip.str()},
              {"ID", p.id},
              {"Key", 0},
              {"Metadata", ""}};
    if (!p.k8s_namespace.empty())
        o["K8sNamespace"] = p.k8s_namespace;
    if (!p.k8s_pod_name.empty())
        o["K8sPodName"] = p.k8s_pod_name;
    return o.dump();
}

Result<IpIdentity> decode_ip_identity(const std::string& text) {
    auto j = parse(text);
    if (!j)
        return j.error();
    IpIdentity p;
    auto ip = Ipv4Addr::parse(str_at(*j, "IP"));
    if (!ip)
        return make_error("IP is not an IPv4 address");
    p.ip = *ip;
    if (auto m = j->find("Mask"); m != j->end() && m->is_string() && !m->get<std::string>().empty()) {
        auto len = mask_len(m->get<std::string>());
        if (!len)
            return make_error("Mask is not an IPv4 mask");
        p.mask_len = *len;
    }
    if (auto host = Ipv4Addr::parse(str_at(*j, "HostIP")))
        p.host_ip = *host;
    auto id = j->find("ID");
    if (id == j->end() || !id->is_number_unsigned())
        return make_error("ID is missing");
    p.id = static_cast<uint32_t>(id->get<uint64_t>());
    p.k8s_namespace = str_at(*j, "K8sNamespace");
    p.k8s_pod_name = str_at(*j, "K8sPodName");
    return p;
}

std::string encode_identity_labels(const std::map<std::string, std::string>& labels) {
    std::string out;
    for (const auto& [k, v] : labels) // std::map: sorted by key, all of source k8s
        out += "k8s:" + k + "=" + v + ";";
    return out;
}

Result<std::map<std::string, std::string>> decode_identity_labels(const std::string& text) {
    std::map<std::string, std::string> out;
    size_t at = 0;
    while (at < text.size()) {
        const size_t end = text.find(';', at);
        if (end == std::string::npos)
            return make_error("labels do not end in ';'");
        std::string label = text.substr(at, end - at);
        at = end + 1;
        const size_t colon = label.find(':');
        if (colon == std::string::npos)
            return make_error("label \"" + label + "\" has no source");
        const std::string source = label.substr(0, colon);
        std::string kv = label.substr(colon + 1);
        const size_t eq = kv.find('=');
        std::string key = eq == std::string::npos ? kv : kv.substr(0, eq);
        std::string value = eq == std::string::npos ? "" : kv.substr(eq + 1);
        out[source == "k8s" ? key : source + ":" + key] = value;
    }
    return out;
}

} // namespace podlane::mesh
