// Tests for BGP: the bgp config section, what an instance advertises, the
// generated BIRD config and the parser of BIRD's `show protocols all`.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "control/bgp/bgp_routes.h"
#include "control/bgp/bird_config.h"
#include "control/bgp/bird_control.h"
#include "control/config/config.h"

using namespace podlane;
using Catch::Matchers::Contains;

namespace {

const std::string kNode = "node: {name: node1, ip: 192.168.50.11}\n"
                          "uplinks:\n  - {name: eth0, devargs: net_null0}\n"
                          "network: {pod_cidr: 10.210.1.0/24, gateway_ip: 10.210.1.1}\n";

const std::string kBgp = "bgp:\n"
                         "  instances:\n"
                         "    - name: tor\n"
                         "      local_asn: 65001\n"
                         "      peers:\n"
                         "        - {name: router, address: 192.168.50.1, peer_asn: 65000, hold_time_s: 9, keepalive_time_s: 3,\n"
                         "           graceful_restart: {enabled: true, restart_time_s: 15}}\n";

std::string error_of(const std::string& yaml) {
    auto r = parse_config(yaml, "config.yaml");
    return r.ok() ? "(parsed without error)" : r.error().message;
}

/// kNode + kBgp with `from` replaced by `to` in kBgp.
std::string bgp_with(const std::string& from, const std::string& to) {
    std::string b = kBgp;
    b.replace(b.find(from), from.size(), to);
    return kNode + b;
}

ServiceConfig lb_service(const std::string& name, const std::string& ip, TrafficPolicy policy,
                         std::vector<std::string> backends) {
    ServiceConfig s;
    s.name = name;
    s.type = ServiceType::LoadBalancer;
    s.cluster_ip = *Ipv4Addr::parse("10.96.0.10");
    s.load_balancer_ips = {*Ipv4Addr::parse(ip)};
    s.external_ips = {*Ipv4Addr::parse("192.168.60.10")};
    s.external_traffic_policy = policy;
    for (const std::string& b : backends) {
        BackendConfig bc;
        bc.ip = *Ipv4Addr::parse(b);
        s.backends.push_back(bc);
    }
    return s;
}

std::vector<std::string> prefixes(const std::vector<BgpRoute>& routes) {
    std::vector<std::string> out;
    for (const BgpRoute& r : routes)
        out.push_back(r.prefix.str());
    return out;
}

} // namespace

TEST_CASE("bgp: a section with every key loads with its values and defaults", "[bgp]") {
    auto r = parse_config(kNode + kBgp, "config.yaml");
    INFO((r.ok() ? "" : r.error().message));
    REQUIRE(r.ok());
    const BgpConfig& b = r->bgp;
    REQUIRE(b.enabled());
    CHECK(b.bird == "/usr/sbin/bird");
    CHECK(b.run_dir == "/run/podlane/bgp-node1");
    const BgpInstanceConfig& in = b.instances.at(0);
    CHECK(in.local_asn == 65001);
    CHECK(in.router_id.str() == "192.168.50.11"); // node.ip
    CHECK(in.advertise.pod_cidr);
    REQUIRE(in.advertise.services.size() == 1);
    CHECK(in.advertise.services[0].load_balancer_ips);
    CHECK_FALSE(in.advertise.services[0].external_ips);
    CHECK_FALSE(in.advertise.services[0].cluster_ips);
    const BgpPeerConfig& p = in.peers.at(0);
    CHECK(p.name == "router");
    CHECK(p.peer_asn == 65000);
    CHECK(p.hold_time_s == 9);
    CHECK(p.keepalive_time_s == 3);
    CHECK(p.ebgp_multihop == 1);
    CHECK(p.graceful_restart);
    CHECK(p.restart_time_s == 15);
    CHECK(p.password.empty());
}

TEST_CASE("bgp: without the section BGP is off; defaults follow a short hold time", "[bgp]") {
    auto off = parse_config(kNode, "c");
    REQUIRE(off.ok());
    CHECK_FALSE(off->bgp.enabled());
    auto r = parse_config(kNode + "bgp:\n  instances:\n    - {name: a, local_asn: 4200000000, router_id: 10.0.0.1,\n"
                                  "       peers: [{address: 192.168.50.1, peer_asn: 65000, hold_time_s: 30}]}\n",
                          "c");
    INFO((r.ok() ? "" : r.error().message));
    REQUIRE(r.ok());
    const BgpPeerConfig& p = r->bgp.instances[0].peers[0];
    CHECK(p.name == "peer-192-168-50-1");
    CHECK(p.keepalive_time_s == 10); // a third of the hold time
    CHECK_FALSE(p.graceful_restart);
    CHECK(r->bgp.instances[0].local_asn == 4200000000u);
    CHECK(r->bgp.instances[0].router_id.str() == "10.0.0.1");
}

TEST_CASE("bgp: bad input is refused with the key at fault", "[bgp]") {
    CHECK_THAT(error_of(bgp_with("local_asn: 65001", "local_asn: 0")),
               Contains("bgp.instances[0].local_asn: 0 is out of range: expected 1..4294967295"));
    CHECK_THAT(error_of(bgp_with("peer_asn: 65000", "peer_asn: -1")), Contains("bgp.instances[0].peers[0].peer_asn"));
    CHECK_THAT(error_of(bgp_with("hold_time_s: 9", "hold_time_s: 2")),
               Contains("bgp.instances[0].peers[0].hold_time_s: 2 is out of range: expected 3..65535"));
    CHECK_THAT(error_of(bgp_with("keepalive_time_s: 3", "keepalive_time_s: 9")),
               Contains("bgp.instances[0].peers[0].keepalive_time_s: 9 is out of range: expected less than hold_time_s (9)"));
    CHECK_THAT(error_of(bgp_with("restart_time_s: 15", "restart_time_s: 5000")),
               Contains("bgp.instances[0].peers[0].graceful_restart.restart_time_s: 5000 is out of range"));
    CHECK_THAT(error_of(bgp_with("address: 192.168.50.1", "address: 192.168.50")),
               Contains("bgp.instances[0].peers[0].address: \"192.168.50\" is not valid"));
    CHECK_THAT(error_of(bgp_with("name: tor", "name: Tor_1")),
               Contains("bgp.instances[0].name: \"Tor_1\" is not valid: expected 1..28 characters"));
    CHECK_THAT(error_of(bgp_with("hold_time_s: 9,", "hold_time_s: 9, password: \"a b\",")),
               Contains("bgp.instances[0].peers[0].password"));
    CHECK_THAT(error_of(bgp_with("hold_time_s: 9,", "hold: 9,")), Contains("bgp.instances[0].peers[0].hold: unknown key"));
    CHECK_THAT(error_of(kNode + "bgp: {instances: [{name: a, local_asn: 1}]}\n"),
               Contains("bgp.instances[0].peers: required key is missing"));
    CHECK_THAT(error_of(kNode + "bgp: {instances: [{name: a, local_asn: 1, peers: []}]}\n"),
               Contains("bgp.instances[0].peers: an empty list is not valid: expected at least one peer"));
    CHECK_THAT(error_of(kNode + "bgp: {bird: bird}\n"), Contains("bgp.bird: \"bird\" is not valid: expected an absolute path"));
    // Two peers with one address, in one instance or across two.
    CHECK_THAT(error_of(kNode + "bgp: {instances: [{name: a, local_asn: 1, peers: [{address: 10.1.1.1, peer_asn: 2},"
                                " {address: 10.1.1.1, peer_asn: 3}]}]}\n"),
               Contains("bgp.instances[0].peers[1].address: \"10.1.1.1\" is not valid: expected an address no other peer"));
    CHECK_THAT(error_of(kNode + "bgp: {instances: [{name: a, local_asn: 1, peers: [{address: 10.1.1.1, peer_asn: 2}]},"
                                " {name: b, local_asn: 1, peers: [{address: 10.1.1.1, peer_asn: 2}]}]}\n"),
               Contains("bgp.instances[1].peers: a list is not valid: expected peers no other instance has"));
    // Without node.ip a router id is needed.
    CHECK_THAT(error_of("network: {pod_cidr: 10.210.1.0/24, gateway_ip: 10.210.1.1}\n"
                        "bgp: {instances: [{name: a, local_asn: 1, peers: [{address: 10.1.1.1, peer_asn: 2}]}]}\n"),
               Contains("bgp.instances[0].router_id: required key is missing"));
}

TEST_CASE("bgp: routes follow the PodCIDR, LB IPs and externalTrafficPolicy Local", "[bgp]") {
    auto r = parse_config(kNode + kBgp, "c");
    REQUIRE(r.ok());
    Config c = *r;
    BgpInstanceConfig in = c.bgp.instances[0];
    // Cluster: advertised whatever the backends; Local: only with an active local one.
    c.services = {lb_service("default/cluster", "172.16.0.10", TrafficPolicy::Cluster, {"10.210.2.11"}),
                  lb_service("default/local", "172.16.0.20", TrafficPolicy::Local, {"10.210.1.11", "10.210.2.11"}),
                  lb_service("default/remote", "172.16.0.30", TrafficPolicy::Local, {"10.210.2.11"})};
    CHECK(prefixes(bgp_routes(in, c)) == std::vector<std::string>{"10.210.1.0/24", "172.16.0.10/32", "172.16.0.20/32"});

    c.services[1].backends[0].state = BackendState::Terminating; // the last local backend is going
    CHECK(prefixes(bgp_routes(in, c)) == std::vector<std::string>{"10.210.1.0/24", "172.16.0.10/32"});
    c.services[2].backends[0].node = "node1"; // a backend on this node by its node name
    CHECK(prefixes(bgp_routes(in, c)) == std::vector<std::string>{"10.210.1.0/24", "172.16.0.10/32", "172.16.0.30/32"});

    in.advertise.services[0].external_ips = true;
    in.advertise.pod_cidr = false;
    in.advertise.services[0].names = {"default/cluster"};
    const auto routes = bgp_routes(in, c);
    REQUIRE(prefixes(routes) == std::vector<std::string>{"172.16.0.10/32", "192.168.60.10/32"});
    CHECK(routes[0].kind == BgpRouteKind::LoadBalancerIp);
    CHECK(routes[0].service == "default/cluster");
    CHECK(routes[1].kind == BgpRouteKind::ExternalIp);
}

TEST_CASE("bgp: the BIRD config has the peer's settings and exports only our routes", "[bgp]") {
    auto r = parse_config(bgp_with("hold_time_s: 9,", "hold_time_s: 9, password: s3cret, ebgp_multihop: 2,"), "c");
    INFO((r.ok() ? "" : r.error().message));
    REQUIRE(r.ok());
    const BgpInstanceConfig& in = r->bgp.instances[0];
    BgpRouteSet routes{{"tor", bgp_routes(in, *r)}};
    const std::string conf = bird_config(r->bgp, routes, r->node_ip, "node1");
    CHECK(bird_protocol_name(in, in.peers[0]) == "bgp_tor__router");
    CHECK_THAT(conf, Contains("router id 192.168.50.11;"));
    CHECK_THAT(conf, Contains("protocol static adv_tor {\n  ipv4 { table t_tor; };\n  route 10.210.1.0/24 blackhole;"));
    CHECK_THAT(conf, Contains("protocol bgp bgp_tor__router {"));
    CHECK_THAT(conf, Contains("  local 192.168.50.11 as 65001;\n  neighbor 192.168.50.1 as 65000;\n"));
    CHECK_THAT(conf, Contains("  multihop 3;\n")); // the host path is one hop more
    CHECK_THAT(conf, Contains("  hold time 9;\n  keepalive time 3;\n"));
    CHECK_THAT(conf, Contains("  graceful restart on;\n  graceful restart time 15;\n"));
    CHECK_THAT(conf, Contains("  password \"s3cret\";\n"));
    CHECK_THAT(conf, Contains("export where source = RTS_STATIC;"));
    CHECK_THAT(conf, !Contains("protocol kernel")); // podlane's dataplane forwards, not the node's kernel
    // A route change touches the static protocol only: the BGP protocol's text is the same.
    BgpRouteSet more = routes;
    more["tor"].push_back(BgpRoute{*Ipv4Prefix::parse("172.16.0.10/32"), BgpRouteKind::LoadBalancerIp, "default/web"});
    const std::string conf2 = bird_config(r->bgp, more, r->node_ip, "node1");
    CHECK(conf2.substr(conf2.find("protocol bgp")) == conf.substr(conf.find("protocol bgp")));
    CHECK_THAT(conf2, Contains("  route 172.16.0.10/32 blackhole; # LoadBalancerIP default/web\n"));
}

TEST_CASE("bgp: BIRD's show protocols all is parsed into session state", "[bgp]") {
    // As BIRD 2.0.12 answers on its socket (timeformat protocol "%s"), codes as birdc hides them.
    auto line = [](int code, std::string text) { return BirdLine{code, std::move(text)}; };
    const std::vector<BirdLine> reply = {
        line(2002, "Name       Proto      Table      State  Since         Info"),
        line(1002, "device1    Device     ---        up     1796672402    "),
        line(1006, ""),
        line(1002, "adv_tor    Static     t_tor      up     1796672402    "),
        line(1006, "  Channel ipv4"),
        line(1006, "    Routes:         2 imported, 0 exported, 2 preferred"),
        line(1002, "bgp_tor__router BGP        ---        up     1796672405    Established   "),
        line(1006, "  Description:    instance tor, peer router"),
        line(1006, "  BGP state:          Established"),
        line(1006, "    Neighbor address: 192.168.50.1"),
        line(1006, "    Neighbor AS:      65000"),
        line(1006, "    Local AS:         65001"),
        line(1006, "    Local capabilities"),
        line(1006, "      Graceful restart"),
        line(1006, "        Restart time: 15"),
        line(1006, "    Neighbor capabilities"),
        line(1006, "      Graceful restart"),
        line(1006, "        Restart time: 120"),
        line(1006, "        Restart recovery"),
        line(1006, "    Session:          external multihop AS4"),
        line(1006, "    Hold timer:       7.274/9"),
        line(1006, "    Keepalive timer:  0.488/3"),
        line(1006, "  Channel ipv4"),
        line(1006, "    Routes:         1 imported, 3 exported, 0 preferred"),
        line(1002, "bgp_tor__other BGP        ---        start  1796672409    Active        Socket: Connection refused"),
        line(1006, "  BGP state:          Active"),
        line(1006, "    Last error:       Socket: Connection refused"),
        line(0, ""),
    };
    const auto s = parse_bird_protocols(reply);
    REQUIRE(s.size() == 2);
    CHECK(s[0].name == "bgp_tor__router");
    CHECK(s[0].bgp_state == "Established");
    CHECK(s[0].since == 1796672405);
    CHECK(s[0].hold_time_s == 9);
    CHECK(s[0].keepalive_time_s == 3);
    CHECK(s[0].local_graceful_restart);
    CHECK(s[0].peer_graceful_restart);
    CHECK(s[0].peer_restart_time_s == 120);
    CHECK(s[0].imported == 1);
    CHECK(s[0].exported == 3);
    CHECK(s[1].state == "start");
    CHECK(s[1].info == "Active        Socket: Connection refused");
    CHECK(s[1].last_error == "Socket: Connection refused");
    CHECK_FALSE(s[1].peer_graceful_restart);
}

TEST_CASE("bgp: bird_command reports a missing socket", "[bgp]") {
    auto r = bird_command("/nonexistent/bird.ctl", "show status", std::chrono::milliseconds(100));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Contains("cannot connect to BIRD at /nonexistent/bird.ctl"));
}
