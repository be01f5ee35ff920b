// Tests for compile_services (src/control/tables/service_compiler.cpp): frontends by
// type and traffic policy, backend selection, Maglev tables, NAT settings and
// the stability of rev_nat and backend ids across compiles.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include <rte_byteorder.h>

#include "control/config/config.h"
#include "control/tables/maglev.h"
#include "control/tables/service_compiler.h"

using namespace podlane;
using Catch::Matchers::Contains;

namespace {

// node1 (192.168.50.11, pods 10.200.0.0/24) and node2 (192.168.50.12, pods 10.200.1.0/24).
const std::string kCluster = "node: {name: node1, ip: 192.168.50.11}\n"
                             "uplinks:\n  - {name: eth0, devargs: net_null0}\n"
                             "network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.1}\n"
                             "nodes:\n  - {name: node2, ip: 192.168.50.12, pod_cidrs: [10.200.1.0/24]}\n";

// A LoadBalancer service with every kind of frontend and backend.
const std::string kWeb = R"(
services:
  - name: default/web
    type: LoadBalancer
    cluster_ip: 10.96.0.10
    external_ips: [192.168.60.10]
    load_balancer_ips: [192.168.70.10]
    ports: [{port: 80, target_port: 8080, node_port: 30080}]
    backends:
      - {ip: 10.200.0.11}                      # local: inside this node's pod CIDR
      - {ip: 10.200.1.11, node: node2}
      - {ip: 10.200.1.12}                      # remote: outside it
      - {ip: 10.200.0.12, state: terminating}  # local, but takes no new flows
      - {ip: 10.200.1.13, node: node1}         # local: its node says so
      - {ip: 10.200.0.13, node: node2}         # remote: its node says so
)";

Config config_of(const std::string& yaml) {
    auto r = parse_config(yaml, "test.yaml");
    INFO(yaml << (r.ok() ? "" : r.error().message));
    REQUIRE(r.ok());
    return *r;
}

ServiceCompileInputs inputs_of(const Config& c) {
    ServiceCompileInputs in;
    in.config = &c;
    in.node_ip = c.node_ip;
    in.local_pod_cidr = c.network.pod_cidr;
    for (const PeerNodeConfig& p : c.nodes) {
        in.peer_node_ips.push_back(p.ip);
        in.remote_pod_cidrs.insert(in.remote_pod_cidrs.end(), p.pod_cidrs.begin(), p.pod_cidrs.end());
    }
    in.endpoints = c.endpoints;
    return in;
}

LbTables compile(const ServiceCompileInputs& in, ServiceIds& ids) {
    auto r = compile_services(in, ids);
    INFO((r.ok() ? "" : r.error().message));
    REQUIRE(r.ok());
    return std::move(r).value();
}

Ipv4Addr ip(const char* s) {
    return *Ipv4Addr::parse(s);
}

uint64_t key(const char* addr, uint16_t port, L4Proto proto = L4Proto::Tcp) {
    return frontend_key(ip(addr).be, rte_cpu_to_be_16(port), static_cast<uint8_t>(proto));
}

const LbFrontend* find(const LbTables& t, const char* addr, uint16_t port, L4Proto proto = L4Proto::Tcp) {
    const uint32_t i = t.frontend_by_key.lookup(key(addr, port, proto));
    return i == kNotFound ? nullptr : &t.frontends.at(i);
}

// The backends an entry picks from, as sorted "ip:port" strings.
std::vector<std::string> picks(const LbTables& t, uint32_t service) {
    const LbService& s = t.services.at(service);
    std::vector<std::string> out;
    for (uint32_t i = 0; i < s.backends_n; ++i) {
        const LbBackend& b = t.backends.at(s.backends[i]);
        out.push_back(b.ip.str() + ":" + std::to_string(rte_be_to_cpu_16(b.port_be)));
    }
    std::sort(out.begin(), out.end());
    return out;
}

const std::vector<std::string> kAllActive = {"10.200.0.11:8080", "10.200.0.13:8080", "10.200.1.11:8080",
                                             "10.200.1.12:8080", "10.200.1.13:8080"};
const std::vector<std::string> kLocalActive = {"10.200.0.11:8080", "10.200.1.13:8080"};

} // namespace

TEST_CASE("every backend gets an id and an entry; local follows node, else the pod CIDR", "[services]") {
    const Config c = config_of(kCluster + kWeb);
    ServiceIds ids;
    const LbTables t = compile(inputs_of(c), ids);
    CHECK(t.ct == nullptr);
    CHECK(t.affinity == nullptr);
    struct Want {
        const char* ip;
        bool local;
        BackendState state;
    };
    for (const Want& w : {Want{"10.200.0.11", true, BackendState::Active}, Want{"10.200.1.11", false, BackendState::Active},
                          Want{"10.200.1.12", false, BackendState::Active}, Want{"10.200.0.12", true, BackendState::Terminating},
                          Want{"10.200.1.13", true, BackendState::Active}, Want{"10.200.0.13", false, BackendState::Active}}) {
        INFO(w.ip);
        auto id = ids.backend_id(ip(w.ip), 8080, L4Proto::Tcp);
        REQUIRE(id);
        const LbBackend& b = t.backends.at(*id);
        CHECK(b.present);
        CHECK(b.ip == ip(w.ip));
        CHECK(b.port_be == rte_cpu_to_be_16(8080));
        CHECK(b.local == w.local);
        CHECK(b.state == w.state);
        CHECK(t.backend_ips.contains(ip(w.ip)));
    }
    CHECK(ids.backend_count() == 6);
    CHECK(std::count_if(t.backends.begin(), t.backends.end(), [](const LbBackend& b) { return b.present; }) == 6);
    CHECK_FALSE(t.backend_ips.contains(ip("10.200.0.99")));
    CHECK_FALSE(ids.backend_id(ip("10.200.0.11"), 80, L4Proto::Tcp)); // by target port, not service port
}

TEST_CASE("frontends of each type, with Cluster traffic policies", "[services]") {
    const Config c = config_of(kCluster + kWeb);
    ServiceIds ids;
    const LbTables t = compile(inputs_of(c), ids);
    REQUIRE(t.frontends.size() == 4);

    const LbFrontend* cluster_ip = find(t, "10.96.0.10", 80);
    REQUIRE(cluster_ip);
    CHECK(cluster_ip->external == kNotFound);
    REQUIRE(cluster_ip->internal != kNotFound);
    const LbService& ci = t.services.at(cluster_ip->internal);
    CHECK(ci.kind == FrontendKind::ClusterIP);
    CHECK(ci.vip == ip("10.96.0.10"));
    CHECK(ci.port_be == rte_cpu_to_be_16(80));
    CHECK(ci.proto == 6);
    CHECK(ci.algorithm == LbAlgorithm::Random);
    CHECK(ci.maglev_m == 0);
    CHECK_FALSE(ci.local_only);
    CHECK_FALSE(ci.affinity);
    CHECK(picks(t, cluster_ip->internal) == kAllActive); // the terminating backend is not picked

    struct Want {
        const char* addr;
        uint16_t port;
        FrontendKind kind;
    };
    std::vector<uint16_t> rev_nat{ci.rev_nat_id};
    for (const Want& w : {Want{"192.168.50.11", 30080, FrontendKind::NodePort}, Want{"192.168.70.10", 80, FrontendKind::LoadBalancer},
                          Want{"192.168.60.10", 80, FrontendKind::ExternalIP}}) {
        INFO(w.addr);
        const LbFrontend* fe = find(t, w.addr, w.port);
        REQUIRE(fe);
        CHECK(fe->internal == fe->external); // both scopes select every backend: one entry
        const LbService& s = t.services.at(fe->internal);
        CHECK(s.kind == w.kind);
        CHECK(s.vip == ip(w.addr));
        CHECK(s.port_be == rte_cpu_to_be_16(w.port));
        CHECK_FALSE(s.local_only);
        CHECK(picks(t, fe->internal) == kAllActive);
        CHECK(ids.rev_nat_id(key(w.addr, w.port)) == s.rev_nat_id);
        rev_nat.push_back(s.rev_nat_id);
    }
    std::sort(rev_nat.begin(), rev_nat.end());
    CHECK(std::adjacent_find(rev_nat.begin(), rev_nat.end()) == rev_nat.end()); // one per frontend
    CHECK(rev_nat.front() >= 1);
    CHECK(t.services.size() == 4);
    CHECK_FALSE(find(t, "10.96.0.10", 80, L4Proto::Udp));
    CHECK_FALSE(find(t, "192.168.50.11", 80));
}

TEST_CASE("traffic policy Local keeps only local backends in its scope", "[services]") {
    std::string yaml = kWeb;
    yaml.replace(yaml.find("    ports:"), 0, "    external_traffic_policy: Local\n    internal_traffic_policy: Local\n");
    const Config c = config_of(kCluster + yaml);
    ServiceIds ids;
    const LbTables t = compile(inputs_of(c), ids);

    const LbFrontend* cluster_ip = find(t, "10.96.0.10", 80);
    REQUIRE(cluster_ip);
    CHECK(cluster_ip->external == kNotFound);
    CHECK(picks(t, cluster_ip->internal) == kLocalActive);
    CHECK(t.services.at(cluster_ip->internal).local_only);

    for (auto [addr, port] : {std::pair{"192.168.50.11", 30080}, std::pair{"192.168.70.10", 80}, std::pair{"192.168.60.10", 80}}) {
        INFO(addr);
        const LbFrontend* fe = find(t, addr, static_cast<uint16_t>(port));
        REQUIRE(fe);
        REQUIRE(fe->internal != fe->external);
        const LbService& internal = t.services.at(fe->internal);
        const LbService& external = t.services.at(fe->external);
        CHECK(picks(t, fe->internal) == kAllActive); // internal traffic to these ignores ITP
        CHECK_FALSE(internal.local_only);
        CHECK(picks(t, fe->external) == kLocalActive);
        CHECK(external.local_only);
        CHECK(internal.rev_nat_id == external.rev_nat_id);
        CHECK(internal.kind == external.kind);
    }
}

TEST_CASE("a Local scope whose backends are all local has its own entry over the same list", "[services]") {
    const Config c = config_of(kCluster + R"(
services:
  - {name: a/np, type: NodePort, cluster_ip: 10.96.0.20, external_traffic_policy: Local,
     ports: [{port: 80, node_port: 30080}], backends: [{ip: 10.200.0.11}, {ip: 10.200.0.12}]}
)");
    ServiceIds ids;
    const LbTables t = compile(inputs_of(c), ids);
    const LbFrontend* fe = find(t, "192.168.50.11", 30080);
    REQUIRE(fe);
    REQUIRE(fe->internal != fe->external);
    const LbService& internal = t.services.at(fe->internal);
    const LbService& external = t.services.at(fe->external);
    CHECK_FALSE(internal.local_only);
    CHECK(external.local_only);
    CHECK(internal.backends == external.backends); // laid out once
    CHECK(internal.backends_n == 2);
    CHECK(external.backends_n == 2);
    CHECK(t.all_picks().size() == 1);
}

TEST_CASE("without a node IP there are no NodePort or HostPort frontends and no masquerading", "[services]") {
    const Config c = config_of(R"(
network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.1}
services:
  - {name: a/np, type: NodePort, cluster_ip: 10.96.0.20, ports: [{port: 80, node_port: 30080}], backends: [{ip: 10.200.0.11}]}
endpoints:
  - {id: default/a, ip: 10.200.0.11, netns: a, host_ports: [{host_port: 8080}]}
)");
    ServiceIds ids;
    const LbTables t = compile(inputs_of(c), ids);
    REQUIRE(t.frontends.size() == 1);
    CHECK(find(t, "10.96.0.20", 80));
    CHECK(ids.frontend_count() == 1);
    CHECK_FALSE(ids.backend_id(ip("10.200.0.11"), 8080, L4Proto::Tcp));
    CHECK(c.masquerade.enabled);
    CHECK_FALSE(t.masquerade);
}

TEST_CASE("a hostPort is a frontend on the node IP with the pod as its one backend", "[services]") {
    const Config c = config_of(kCluster + R"(
endpoints:
  - {id: default/a, ip: 10.200.0.11, netns: a, host_ports: [{host_port: 8080, container_port: 80}, {host_port: 5353, protocol: UDP}]}
)");
    ServiceIds ids;
    const LbTables t = compile(inputs_of(c), ids);
    REQUIRE(t.frontends.size() == 2);
    const LbFrontend* fe = find(t, "192.168.50.11", 8080);
    REQUIRE(fe);
    CHECK(fe->internal == fe->external);
    const LbService& s = t.services.at(fe->internal);
    CHECK(s.kind == FrontendKind::HostPort);
    CHECK(s.algorithm == LbAlgorithm::Random);
    CHECK_FALSE(s.affinity);
    CHECK_FALSE(s.local_only);
    CHECK(s.maglev_m == 0);
    CHECK(s.rev_nat_id >= 1);
    CHECK(picks(t, fe->internal) == std::vector<std::string>{"10.200.0.11:80"});
    auto id = ids.backend_id(ip("10.200.0.11"), 80, L4Proto::Tcp);
    REQUIRE(id);
    CHECK(t.backends.at(*id).local);
    CHECK(t.backends.at(*id).state == BackendState::Active);
    CHECK(t.backend_ips.contains(ip("10.200.0.11")));

    const LbFrontend* udp = find(t, "192.168.50.11", 5353, L4Proto::Udp);
    REQUIRE(udp);
    CHECK(t.services.at(udp->internal).proto == 17);
    CHECK(picks(t, udp->internal) == std::vector<std::string>{"10.200.0.11:5353"});
    CHECK_FALSE(find(t, "192.168.50.11", 5353, L4Proto::Tcp));
}

TEST_CASE("a frontend key seen before is skipped: a pod's hostPort on a node port", "[services]") {
    const Config c = config_of(kCluster + R"(
services:
  - {name: a/np, type: NodePort, cluster_ip: 10.96.0.20, ports: [{port: 80, node_port: 30080}], backends: [{ip: 10.200.1.11}]}
)");
    ServiceCompileInputs in = inputs_of(c);
    EndpointConfig api_pod; // added over the API, unchecked against the node ports
    api_pod.id = "default/api";
    api_pod.ip = ip("10.200.0.30");
    api_pod.host_ports = {HostPortConfig{30080, 80, L4Proto::Tcp}};
    in.endpoints.push_back(api_pod);
    ServiceIds ids;
    const LbTables t = compile(in, ids);
    CHECK(t.frontends.size() == 2);
    const LbFrontend* fe = find(t, "192.168.50.11", 30080);
    REQUIRE(fe);
    CHECK(t.services.at(fe->internal).kind == FrontendKind::NodePort);
    CHECK(picks(t, fe->internal) == std::vector<std::string>{"10.200.1.11:80"});
}

TEST_CASE("Maglev tables are the ones build_maglev_table makes for the picked backends", "[services]") {
    const Config c = config_of(kCluster + R"(
loadbalancer: {algorithm: maglev, maglev_table_size: 251, maglev_hash_seed: AAECAwQFBgcICQoL}
services:
  - name: default/web
    type: NodePort
    cluster_ip: 10.96.0.10
    external_traffic_policy: Local
    ports: [{port: 53, target_port: 5353, protocol: UDP, node_port: 30053}]
    backends:
      - {ip: 10.200.0.11, weight: 5}
      - {ip: 10.200.0.12, state: terminating}
      - {ip: 10.200.1.11, weight: 1}
      - {ip: 10.200.1.12, weight: 2}
  - {name: default/empty, cluster_ip: 10.96.0.11, ports: [{port: 80}], backends: [{ip: 10.200.0.14, state: terminating}]}
  - {name: default/random, cluster_ip: 10.96.0.12, algorithm: random, ports: [{port: 80}], backends: [{ip: 10.200.0.15}]}
)");
    ServiceIds ids;
    const LbTables t = compile(inputs_of(c), ids);
    auto seed = parse_maglev_seed("AAECAwQFBgcICQoL");
    REQUIRE(seed.ok());
    CHECK(t.maglev_jhash_seed == seed->jhash_v4);

    auto expected = [&](std::vector<std::pair<const char*, uint16_t>> backends) {
        std::vector<MaglevBackend> mb;
        for (auto [addr, weight] : backends)
            mb.push_back({maglev_backend_hash_string(ip(addr), 5353, MaglevL4::udp),
                          *ids.backend_id(ip(addr), 5353, L4Proto::Udp), weight});
        auto table = build_maglev_table(mb, 251, *seed);
        REQUIRE(table.ok());
        return *table;
    };
    auto table_of = [&](uint32_t service) {
        const LbService& s = t.services.at(service);
        REQUIRE(s.maglev_m == 251);
        REQUIRE(s.maglev != nullptr);
        return std::vector<uint32_t>(s.maglev, s.maglev + s.maglev_m);
    };
    const std::vector<uint32_t> all = expected({{"10.200.0.11", 5}, {"10.200.1.11", 1}, {"10.200.1.12", 2}});
    const std::vector<uint32_t> local = expected({{"10.200.0.11", 5}});

    const LbFrontend* cluster_ip = find(t, "10.96.0.10", 53, L4Proto::Udp);
    REQUIRE(cluster_ip);
    CHECK(t.services.at(cluster_ip->internal).algorithm == LbAlgorithm::Maglev);
    CHECK(table_of(cluster_ip->internal) == all);
    const LbFrontend* node_port = find(t, "192.168.50.11", 30053, L4Proto::Udp);
    REQUIRE(node_port);
    CHECK(table_of(node_port->internal) == all);
    CHECK(table_of(node_port->external) == local);
    CHECK(std::count(all.begin(), all.end(), *ids.backend_id(ip("10.200.0.12"), 5353, L4Proto::Udp)) == 0);

    const LbFrontend* empty = find(t, "10.96.0.11", 80);
    REQUIRE(empty);
    CHECK(t.services.at(empty->internal).algorithm == LbAlgorithm::Maglev);
    CHECK(t.services.at(empty->internal).backends_n == 0);
    CHECK(t.services.at(empty->internal).maglev_m == 0);
    const LbFrontend* random = find(t, "10.96.0.12", 80);
    REQUIRE(random);
    CHECK(t.services.at(random->internal).algorithm == LbAlgorithm::Random);
    CHECK(t.services.at(random->internal).backends_n == 1);
    CHECK(t.services.at(random->internal).maglev_m == 0);
    size_t slots = 0;
    for (const auto& p : t.all_picks())
        slots += p->maglev.size();
    CHECK(slots == 2 * 251); // all and local, each laid out once
}

TEST_CASE("affinity and the node-wide settings are copied", "[services]") {
    const Config c = config_of("routing: {tunnel_protocol: geneve}\n" + kCluster + R"(
loadbalancer: {nodeport_mode: hybrid, no_backends: drop, hairpin_ip: 169.254.9.9}
conntrack: {tcp_syn_timeout_s: 11, tcp_established_timeout_s: 12, tcp_close_timeout_s: 13, udp_timeout_s: 14, icmp_timeout_s: 15}
masquerade: {port_range: 40000-40999}
services:
  - {name: a/b, cluster_ip: 10.96.0.10, session_affinity: ClientIP, session_affinity_timeout_s: 300, ports: [{port: 80}]}
)");
    ServiceIds ids;
    const LbTables t = compile(inputs_of(c), ids);
    const LbFrontend* fe = find(t, "10.96.0.10", 80);
    REQUIRE(fe);
    CHECK(t.services.at(fe->internal).affinity);
    CHECK(t.services.at(fe->internal).affinity_timeout_s == 300);
    CHECK(t.services.at(fe->internal).backends_n == 0);
    CHECK(t.maglev_jhash_seed == parse_maglev_seed(kMaglevDefaultSeed)->jhash_v4);
    CHECK(t.nodeport_mode == NodePortMode::Hybrid);
    CHECK(t.no_backends == NoBackendAction::Drop);
    CHECK(t.hairpin_ip == ip("169.254.9.9"));
    CHECK(t.timeouts.tcp_syn == 11);
    CHECK(t.timeouts.tcp_established == 12);
    CHECK(t.timeouts.tcp_close == 13);
    CHECK(t.timeouts.udp == 14);
    CHECK(t.timeouts.icmp == 15);
    CHECK(t.snat_port_min == 40000);
    CHECK(t.snat_port_max == 40999);
    CHECK(t.masquerade);
}

TEST_CASE("pod CIDRs, cluster ranges, node IPs and non-masquerade CIDRs are not masqueraded", "[services]") {
    const Config c = config_of(kCluster + "masquerade: {non_masquerade_cidrs: [192.168.0.0/16, 172.16.0.0/12, 10.200.0.0/24]}\n");
    ServiceIds ids;
    const LbTables t = compile(inputs_of(c), ids);
    CHECK(t.masquerade);
    for (const char* kept : {"10.200.0.11", "10.200.1.200", "192.168.50.11", "192.168.50.12", "192.168.99.1", "172.20.0.1"}) {
        INFO(kept);
        CHECK(t.no_masquerade.lookup(ip(kept)) != kNotFound);
    }
    for (const char* masqueraded : {"8.8.8.8", "10.201.0.1", "172.32.0.1"}) {
        INFO(masqueraded);
        CHECK(t.no_masquerade.lookup(ip(masqueraded)) == kNotFound); // routing.native_routing_cidr unset: not 0.0.0.0/0
    }

    // Without non-masquerade CIDRs, a node IP is kept but its neighbour is not.
    const Config plain = config_of(kCluster);
    const LbTables p = compile(inputs_of(plain), ids);
    CHECK(p.no_masquerade.lookup(ip("192.168.50.12")) != kNotFound);
    CHECK(p.no_masquerade.lookup(ip("192.168.50.13")) == kNotFound);

    // native_routing_cidr and the cluster pool count as inside the cluster.
    const Config native = config_of("routing: {mode: native, native_routing_cidr: 10.0.0.0/8}\n" + kCluster);
    CHECK(compile(inputs_of(native), ids).no_masquerade.lookup(ip("10.9.9.9")) != kNotFound);
    const Config pool = config_of("node: {name: node1, ip: 192.168.50.11}\nuplinks:\n  - {name: eth0, devargs: net_null0}\n"
                                  "ipam: {mode: cluster-pool, cluster_pool_cidr: 10.0.0.0/16}\n");
    CHECK(compile(inputs_of(pool), ids).no_masquerade.lookup(ip("10.0.200.1")) != kNotFound);
    CHECK(compile(inputs_of(pool), ids).no_masquerade.lookup(ip("10.1.0.1")) == kNotFound);

    const Config off = config_of(kCluster + "masquerade: {enabled: false}\n");
    CHECK_FALSE(compile(inputs_of(off), ids).masquerade);
}

TEST_CASE("ids stay with their frontends and backends across compiles", "[services]") {
    auto cluster = [](const std::string& services) { return config_of(kCluster + "services:\n" + services); };
    const std::string a = "  - {name: a/a, cluster_ip: 10.96.0.1, ports: [{port: 80}], backends: [{ip: 10.200.0.11}, {ip: 10.200.0.12}]}\n";
    const std::string b = "  - {name: a/b, cluster_ip: 10.96.0.2, ports: [{port: 80}], backends: [{ip: 10.200.0.21}, {ip: 10.200.0.22}]}\n";
    const std::string b_less = "  - {name: a/b, cluster_ip: 10.96.0.2, ports: [{port: 80}], backends: [{ip: 10.200.0.22}]}\n";
    const std::string c = "  - {name: a/c, cluster_ip: 10.96.0.3, ports: [{port: 80}], backends: [{ip: 10.200.0.31}, {ip: 10.200.0.32}]}\n";
    const std::string d = "  - {name: a/d, cluster_ip: 10.96.0.4, ports: [{port: 80}], backends: [{ip: 10.200.0.41}, {ip: 10.200.0.42}]}\n";

    ServiceIds ids;
    const Config first = cluster(a + b);
    compile(inputs_of(first), ids);
    const uint16_t rev_a = *ids.rev_nat_id(key("10.96.0.1", 80));
    const uint16_t rev_b = *ids.rev_nat_id(key("10.96.0.2", 80));
    const uint32_t id_a1 = *ids.backend_id(ip("10.200.0.11"), 80, L4Proto::Tcp);
    const uint32_t id_a2 = *ids.backend_id(ip("10.200.0.12"), 80, L4Proto::Tcp);
    const uint32_t id_b1 = *ids.backend_id(ip("10.200.0.21"), 80, L4Proto::Tcp);
    const uint32_t id_b2 = *ids.backend_id(ip("10.200.0.22"), 80, L4Proto::Tcp);
    CHECK(std::vector<uint32_t>{id_a1, id_a2, id_b1, id_b2} == std::vector<uint32_t>{0, 1, 2, 3});
    CHECK(std::vector<uint16_t>{rev_a, rev_b} == std::vector<uint16_t>{1, 2});

    // a goes, b loses a backend, c comes: b keeps its ids, c does not get the ids released now.
    const Config second = cluster(b_less + c);
    const LbTables t2 = compile(inputs_of(second), ids);
    CHECK(ids.rev_nat_id(key("10.96.0.2", 80)) == rev_b);
    CHECK(ids.backend_id(ip("10.200.0.22"), 80, L4Proto::Tcp) == id_b2);
    CHECK_FALSE(ids.rev_nat_id(key("10.96.0.1", 80)));
    CHECK_FALSE(ids.backend_id(ip("10.200.0.11"), 80, L4Proto::Tcp));
    CHECK_FALSE(ids.backend_id(ip("10.200.0.21"), 80, L4Proto::Tcp));
    CHECK(ids.rev_nat_id(key("10.96.0.3", 80)) == 3);
    CHECK(ids.backend_id(ip("10.200.0.31"), 80, L4Proto::Tcp) == 4);
    CHECK(ids.backend_id(ip("10.200.0.32"), 80, L4Proto::Tcp) == 5);
    CHECK(ids.frontend_count() == 2);
    CHECK(ids.backend_count() == 3);
    CHECK_FALSE(t2.backends.at(id_a1).present);
    CHECK_FALSE(t2.backends.at(id_b1).present);
    CHECK(t2.backends.at(id_b2).present);
    CHECK(t2.services.at(find(t2, "10.96.0.2", 80)->internal).rev_nat_id == rev_b);

    // d comes later: it reuses the released ids, lowest first; b and c keep theirs.
    const Config third = cluster(b_less + c + d);
    const LbTables t3 = compile(inputs_of(third), ids);
    CHECK(ids.rev_nat_id(key("10.96.0.4", 80)) == rev_a);
    CHECK(ids.backend_id(ip("10.200.0.41"), 80, L4Proto::Tcp) == id_a1);
    CHECK(ids.backend_id(ip("10.200.0.42"), 80, L4Proto::Tcp) == id_a2);
    CHECK(ids.rev_nat_id(key("10.96.0.2", 80)) == rev_b);
    CHECK(ids.rev_nat_id(key("10.96.0.3", 80)) == 3);
    CHECK(ids.backend_id(ip("10.200.0.22"), 80, L4Proto::Tcp) == id_b2);
    CHECK(ids.backend_id(ip("10.200.0.31"), 80, L4Proto::Tcp) == 4);
    CHECK(t3.backends.at(id_a1).ip == ip("10.200.0.41"));
    CHECK_FALSE(t3.backends.at(id_b1).present); // still free
    CHECK(picks(t3, t3.frontends.at(t3.frontend_by_key.lookup(key("10.96.0.4", 80))).internal) ==
          std::vector<std::string>{"10.200.0.41:80", "10.200.0.42:80"});
}

TEST_CASE("compile errors leave the ids as they were", "[services]") {
    const Config c = config_of(kCluster + kWeb);
    ServiceIds few(3); // backend ids 0..2 for 6 backends
    auto r = compile_services(inputs_of(c), few);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Contains("no free backend id for 10.200.0.12 TCP 8080 (3 backends in use)"));
    CHECK(few.backend_count() == 0);
    CHECK(few.frontend_count() == 0);

    Config bad_size = c; // the loader refuses this; the compiler reports it too
    bad_size.services[0].algorithm = LbAlgorithm::Maglev;
    bad_size.loadbalancer.maglev_table_size = 1000;
    ServiceIds ids;
    auto m = compile_services(inputs_of(bad_size), ids);
    REQUIRE_FALSE(m.ok());
    CHECK_THAT(m.error().message, Contains("service default/web TCP 80: invalid Maglev table size 1000"));
    CHECK(ids.backend_count() == 0);

    CHECK_FALSE(compile_services(ServiceCompileInputs{}, ids).ok());
}

TEST_CASE("rev_nat ids run out after 65535 frontends", "[services]") {
    Config c = config_of(kCluster);
    ServiceConfig s;
    s.name = "a/many";
    s.cluster_ip = ip("10.96.0.1");
    for (uint32_t port = 1; port <= 65535; ++port)
        s.ports.push_back(ServicePortConfig{"", L4Proto::Tcp, static_cast<uint16_t>(port), static_cast<uint16_t>(port), 0});
    c.services.push_back(s);
    ServiceIds ids;
    const LbTables t = compile(inputs_of(c), ids);
    CHECK(ids.frontend_count() == 65535);
    CHECK(t.frontends.size() == 65535);

    s.name = "a/one-more";
    s.cluster_ip = ip("10.96.0.2");
    s.ports.resize(1);
    c.services.push_back(s);
    auto r = compile_services(inputs_of(c), ids);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "no free rev_nat id for service a/one-more TCP 1 (65535 frontends in use)");
    CHECK(ids.frontend_count() == 65535);
}
