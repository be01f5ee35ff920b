// Internal to the config loader (config.cpp, config_cluster.cpp,
// config_services.cpp): the YAML reading helpers they share, and the cluster
// and service sections the other two files read for config.cpp. Problems are thrown as Failure; parse_config catches
// them, so nothing here is for use outside the loader.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "control/config/config.h"

namespace podlane::config_detail {

inline constexpr uint32_t kMinPodMtu = 576;
inline constexpr uint32_t kMaxPodMtu = 9000;

/// A problem found while reading; `line` is 1-based, 0 when unknown.
struct Failure {
    int line;
    std::string text;
};

/// A YAML node together with its key path, e.g. "endpoints[1].ip".
struct Field {
    YAML::Node node;
    std::string path;
};

/// `s` in double quotes, with quotes, backslashes and control characters escaped.
std::string quote(std::string_view s);
bool looks_like_integer(std::string_view s);
/// How a value appears in messages: integers as written, other scalars quoted.
std::string shown(const YAML::Node& n);

[[noreturn]] void fail_at(const YAML::Node& at, const std::string& path, const std::string& text);
/// Throws "<path>: <value> is not valid: expected <expected>".
[[noreturn]] void invalid(const Field& f, const std::string& expected);
/// Throws "<path>: <value> is out of range: expected <expected>".
[[noreturn]] void out_of_range(const Field& f, const std::string& expected);

/// A mapping whose keys were checked against the known ones. A missing or
/// empty mapping ("dataplane:" with nothing under it) reads as no keys.
class Mapping {
public:
    Mapping(Field self, std::initializer_list<std::string_view> known);

    std::string path(std::string_view key) const {
        return self_.path.empty() ? std::string(key) : self_.path + "." + std::string(key);
    }
    std::optional<Field> get(std::string_view key) const {
        for (const auto& [name, field] : values_)
            if (name == key)
                return field;
        return std::nullopt;
    }
    Field require(std::string_view key, const std::string& expected) const {
        if (auto f = get(key))
            return *f;
        fail_at(self_.node, path(key), "required key is missing: expected " + expected);
    }
    /// The sub-mapping at `key`, empty when absent.
    Mapping section(std::string_view key, std::initializer_list<std::string_view> known) const {
        auto f = get(key);
        return Mapping(f ? *f : Field{YAML::Node(), path(key)}, known);
    }
    /// Sets `out` from `key` through `parse` when the key is present.
    template <typename T, typename Parse>
    bool read(std::string_view key, T& out, Parse parse) const {
        auto f = get(key);
        if (f)
            out = parse(*f);
        return f.has_value();
    }

private:
    Field self_;
    std::vector<std::pair<std::string, Field>> values_; // in file order
};

/// The elements of a list; an empty value reads as an empty list.
std::vector<Field> items(const Field& f, const std::string& expected);

// ---- scalar parsers: each takes a Field and returns the value or throws ----

std::string as_string(const Field& f);
/// true or false (also True/TRUE, False/FALSE).
bool as_bool(const Field& f);
std::string as_nonempty(const Field& f);
/// 1..32 characters of a-z, 0-9, '.' and '-'.
std::string as_node_name(const Field& f);
/// A node's address on the underlay: unicast, not 0.0.0.0/8 or loopback.
Ipv4Addr as_node_ip(const Field& f);
/// A prefix with a length in lo..hi; `example` shows the form in messages.
Ipv4Prefix as_prefix(const Field& f, uint8_t lo, uint8_t hi, const std::string& example);
/// A PodCIDR: a prefix of length 8..30.
Ipv4Prefix as_pod_cidr(const Field& f);

/// An unsigned integer of type T in lo..hi.
template <typename T>
auto as_uint(uint64_t lo, uint64_t hi = std::numeric_limits<T>::max()) {
    return [lo, hi](const Field& f) -> T {
        const std::string range = std::to_string(lo) + ".." + std::to_string(hi);
        if (!f.node.IsScalar() || !looks_like_integer(f.node.Scalar()))
            invalid(f, "an integer in " + range);
        const std::string& s = f.node.Scalar();
        uint64_t v = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s[0] == '-' || ec != std::errc{} || end != s.data() + s.size() || v < lo || v > hi)
            out_of_range(f, range);
        return static_cast<T>(v);
    };
}

/// A value of type T read with T::parse (Ipv4Addr, MacAddr).
template <typename T>
auto as_parsed(std::string expected) {
    return [expected](const Field& f) -> T {
        auto v = f.node.IsScalar() ? T::parse(f.node.Scalar()) : std::nullopt;
        if (!v)
            invalid(f, expected);
        return *v;
    };
}

/// One of the named values of E; the message lists the names ("native or tunnel").
template <typename E>
E as_enum(const Field& f, std::initializer_list<std::pair<std::string_view, E>> values) {
    std::string names;
    size_t i = 0;
    for (const auto& [name, value] : values) {
        if (f.node.IsScalar() && f.node.Scalar() == name)
            return value;
        names += (i == 0 ? "" : i + 1 == values.size() ? " or " : ", ") + std::string(name);
        ++i;
    }
    invalid(f, names);
}

// ---- the cluster sections (config_cluster.cpp) ----

/// A pod CIDR with where it was given, for messages that name two of them:
/// "nodes[0].pod_cidrs[1] 10.200.1.0/24 (node2)".
struct NamedCidr {
    Ipv4Prefix cidr;
    std::string what;
};

/// What read_peers saw that the checks after the network section point at.
struct PeerFields {
    std::vector<Field> ips;           ///< nodes[i].ip
    std::vector<NamedCidr> pod_cidrs; ///< every nodes[i].pod_cidrs[j] (ipam kubernetes)
};

/// A pod CIDR from the config lies inside routing.native_routing_cidr
/// (0.0.0.0/0 when not set) and overlaps none of the pod CIDRs before it.
void check_pod_cidr(const Field& f, const Ipv4Prefix& cidr, const RoutingConfig& r, const std::vector<NamedCidr>& before);

void read_routing(const Mapping& top, RoutingConfig& r);
/// Needs routing read. Returns the section, where cluster-pool allocation errors point.
Mapping read_ipam(const Mapping& top, Config& c);
void read_neighbor(const Mapping& top, NeighborConfig& n);
/// Needs routing read.
void read_uplinks(const Mapping& top, Config& c);
/// The other nodes; needs node, routing, ipam and uplinks read. With
/// `from_source` (a cluster-state source, not the config file), nodes may
/// carry pod_cidrs under ipam cluster-pool and an entry for this node is skipped.
PeerFields read_peers(const Mapping& top, Config& c, bool from_source = false);
/// ipam cluster-pool: sets this node's and every peer's pod CIDR to its block of the pool.
void allocate_pod_cidrs(const Mapping& ipam, Config& c);
/// Node IPs lie outside every pod CIDR (with cluster-pool: outside the pool). Needs the network read.
void check_node_ips(const std::optional<Field>& node_ip, const PeerFields& peers, const Config& c);
/// The largest pod MTU the uplinks carry and why, e.g. {1450, "uplink MTU 1500
/// minus 50 bytes of VXLAN encapsulation"}; nullopt without uplinks.
std::optional<std::pair<uint32_t, std::string>> uplink_pod_mtu(const Config& c);

/// The bgp section (config_bgp.cpp); needs node and node.ip read.
void read_bgp(const Mapping& top, Config& c);
/// A mapping of label names to values (config_selector.cpp).
LabelMap as_labels(const Field& f);
/// {match_labels: {...}, match_expressions: [{key, operator, values}]}.
LabelSelector as_label_selector(const Field& f);
/// The match_labels and match_expressions keys of a mapping that has others too.
LabelSelector read_label_selector(const Mapping& m);

/// The lb_ipam section (config_lb_ipam.cpp).
void read_lb_ipam(const Mapping& top, Config& c);

/// The health section (config_health.cpp).
void read_health(const Mapping& top, Config& c);
/// The policies section (config_policies.cpp).
void read_policies(const Mapping& top, Config& c);
/// An endpoint's named_ports: {http: 8080, dns: 53/UDP}.
void read_named_ports(const Mapping& endpoint, EndpointConfig& ep);
/// One NetworkPolicy or CiliumNetworkPolicy object.
PolicyConfig read_policy_object(const Field& obj);

/// The source section (config_source.cpp).
void read_source(const Mapping& top, SourceConfig& s);
/// An etcd client URL: http://host:port or https://host:port (config_source.cpp).
std::string as_etcd_url(const Field& f);
/// A readable file named by an absolute path (config_source.cpp).
std::string as_readable_file(const Field& f);

/// The cluster and clustermesh sections (config_clustermesh.cpp); needs node and source read.
void read_clustermesh(const Mapping& top, Config& c);

// ---- the service sections (config_services.cpp) ----

/// loadbalancer, conntrack and masquerade; needs routing, node and network read.
void read_lb_settings(const Mapping& top, Config& c);
/// The services; needs loadbalancer read.
void read_services(const Mapping& top, Config& c);
/// An endpoint's host_ports; needs the services and the endpoints before it
/// (c.endpoints) read. Hostports are unique per protocol across endpoints.
void read_host_ports(const Mapping& endpoint, EndpointConfig& ep, const Config& c);
/// Why ep.host_ports[i].host_port cannot be used, as an "expected ..." text:
/// zero, used twice in `ep` with one protocol, or a node port of a service.
std::optional<std::string> host_port_problem(const EndpointConfig& ep, size_t i, const Config& c);

} // namespace podlane::config_detail
