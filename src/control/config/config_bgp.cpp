// The loader's bgp section (docs/bgp.md "Configuration"): the BGP speaker
// podlaned runs, its instances, peers and advertisements.
#include "control/config/config_reader.h"

#include <algorithm>

namespace podlane::config_detail {

namespace {

/// An instance or peer name: both become one BIRD protocol name, which has
/// at most 64 characters ("bgp_<instance>__<peer>").
std::string as_bgp_name(const Field& f) {
    const std::string s = as_string(f);
    const bool ok = !s.empty() && s.size() <= 28 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
    if (!ok)
        invalid(f, "1..28 characters of a-z, 0-9 and '-', like tor");
    return s;
}

/// A 4-byte AS number (RFC 6793); 0 is reserved.
const auto as_asn = as_uint<uint32_t>(1, 4294967295u);

/// An absolute path without characters that would need quoting in BIRD's config.
std::string as_plain_path(const Field& f) {
    const std::string s = as_nonempty(f);
    if (s[0] != '/' || s.find_first_of("\"\\\n ") != std::string::npos)
        invalid(f, "an absolute path without spaces, quotes or backslashes");
    return s;
}

const std::initializer_list<std::string_view> kPeerKeys = {
    "name", "address", "peer_asn", "hold_time_s", "keepalive_time_s", "ebgp_multihop", "graceful_restart", "password"};

BgpPeerConfig read_peer(const Field& item) {
    const Mapping m(item, kPeerKeys);
    BgpPeerConfig p;
    p.address = as_node_ip(m.require("address", "the peer's IPv4 address, like 192.168.50.1"));
    p.peer_asn = as_asn(m.require("peer_asn", "the peer's AS number, like 65000"));
    if (!m.read("name", p.name, as_bgp_name)) {
        p.name = "peer-" + p.address.str();
        std::replace(p.name.begin(), p.name.end(), '.', '-');
    }
    m.read("hold_time_s", p.hold_time_s, as_uint<uint32_t>(3, 65535));
    // Defaults follow a shorter hold time: a third of it, as RFC 4271 suggests.
    if (!m.read("keepalive_time_s", p.keepalive_time_s, as_uint<uint32_t>(1, 21845)))
        p.keepalive_time_s = std::min(p.keepalive_time_s, std::max(1u, p.hold_time_s / 3));
    if (p.keepalive_time_s >= p.hold_time_s)
        out_of_range(*m.get("keepalive_time_s"),
                     "less than hold_time_s (" + std::to_string(p.hold_time_s) + "), like a third of it");
    // The host path is one routed hop more (docs/bgp.md): 254 leaves room for it.
    m.read("ebgp_multihop", p.ebgp_multihop, as_uint<uint32_t>(1, 254));
    const Mapping gr = m.section("graceful_restart", {"enabled", "restart_time_s"});
    gr.read("enabled", p.graceful_restart, as_bool);
    // The restart time field of the capability has 12 bits (RFC 4724 3).
    gr.read("restart_time_s", p.restart_time_s, as_uint<uint32_t>(1, 4095));
    if (m.read("password", p.password, as_string)) {
        const bool ok = !p.password.empty() && p.password.size() <= 80 &&
                        std::all_of(p.password.begin(), p.password.end(),
                                    [](char c) { return c > ' ' && c < 127 && c != '"' && c != '\\'; });
        if (!ok)
            invalid(*m.get("password"), "1..80 printable characters without spaces, quotes or backslashes");
    }
    return p;
}

const std::initializer_list<std::string_view> kInstanceKeys = {"name", "local_asn", "router_id", "peers",
                                                                   "advertise"};

BgpInstanceConfig read_instance(const Field& item, const Config& c) {
    const Mapping m(item, kInstanceKeys);
    BgpInstanceConfig in;
    in.name = as_bgp_name(m.require("name", "a name for the instance, like tor"));
    in.local_asn = as_asn(m.require("local_asn", "this node's AS number, like 65001"));
    if (!m.read("router_id", in.router_id, as_parsed<Ipv4Addr>("an IPv4 address like 192.168.50.11"))) {
        if (c.node_ip.is_zero())
            m.require("router_id", "a router id (an IPv4 address) when node.ip is not set");
        in.router_id = c.node_ip;
    }
    if (in.router_id.is_zero())
        invalid(*m.get("router_id"), "a non-zero IPv4 address, like 192.168.50.11");
    const Field peers = m.require("peers", "a list of peers, like [{address: 192.168.50.1, peer_asn: 65000}]");
    for (const Field& f : items(peers, "a list of peers, like [{address: 192.168.50.1, peer_asn: 65000}]")) {
        BgpPeerConfig p = read_peer(f);
        const Mapping keys(f, kPeerKeys);
        for (const BgpPeerConfig& before : in.peers) {
            if (before.address == p.address)
                invalid(*keys.get("address"),
                        "an address no other peer of the instance uses, but peer " + quote(before.name) + " has it");
            if (before.name == p.name)
                invalid(keys.get("name").value_or(f),
                        "a name no other peer of the instance uses, but " + quote(before.name) + " is taken");
        }
        in.peers.push_back(std::move(p));
    }
    if (in.peers.empty())
        invalid(peers, "at least one peer");
    const Mapping adv = m.section("advertise", {"pod_cidr", "load_balancer_ips", "external_ips", "cluster_ips",
                                                "services", "service_selector"});
    adv.read("pod_cidr", in.advertise.pod_cidr, as_bool);
    BgpServiceAdvertisement services{.load_balancer_ips = true};
    adv.read("load_balancer_ips", services.load_balancer_ips, as_bool);
    adv.read("external_ips", services.external_ips, as_bool);
    adv.read("cluster_ips", services.cluster_ips, as_bool);
    if (auto list = adv.get("services"))
        for (const Field& f : items(*list, "a list of service names, like [default/web]"))
            services.names.push_back(as_nonempty(f));
    if (auto f = adv.get("service_selector"))
        services.selector = as_label_selector(*f);
    if (services.load_balancer_ips || services.external_ips || services.cluster_ips)
        in.advertise.services.push_back(std::move(services));
    return in;
}

} // namespace

void read_bgp(const Mapping& top, Config& c) {
    const Mapping m = top.section("bgp", {"instances", "bird", "run_dir"});
    m.read("bird", c.bgp.bird, as_plain_path);
    c.bgp.run_dir = "/run/podlane/bgp-" + c.node_name;
    m.read("run_dir", c.bgp.run_dir, as_plain_path);
    auto list = m.get("instances");
    if (!list)
        return;
    for (const Field& f : items(*list, "a list of BGP instances, like [{name: tor, local_asn: 65001, peers: [...]}]")) {
        BgpInstanceConfig in = read_instance(f, c);
        const Mapping keys(f, kInstanceKeys);
        for (const BgpInstanceConfig& before : c.bgp.instances) {
            if (before.name == in.name)
                invalid(*keys.get("name"),
                        "a name no other instance uses, but " + quote(before.name) + " is taken");
            // One speaker holds one session per neighbour address.
            for (const BgpPeerConfig& p : in.peers)
                for (const BgpPeerConfig& q : before.peers)
                    if (p.address == q.address)
                        invalid(*keys.get("peers"),
                                "peers no other instance has, but instance " + quote(before.name) + " peers with " +
                                    p.address.str() + " already");
        }
        c.bgp.instances.push_back(std::move(in));
    }
}

} // namespace podlane::config_detail
