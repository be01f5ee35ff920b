// Tests for the loader's service sections (src/control/config/config_services.cpp):
// loadbalancer, conntrack, masquerade, services and the endpoints' host_ports.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "control/config/config.h"

using namespace podlane;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;

namespace {

const std::string kNet = "network:\n"
                         "  pod_cidr: 10.200.0.0/24\n"
                         "  gateway_ip: 10.200.0.1\n";

// kNet plus a services list holding `items` (each "  - {...}\n").
std::string services(const std::string& items) {
    return kNet + "services:\n" + items;
}

// A one-port ClusterIP service item with extra keys.
std::string svc(const std::string& name, const std::string& ip, const std::string& extra = "") {
    return "  - {name: " + name + ", cluster_ip: " + ip + ", ports: [{port: 80}]" + (extra.empty() ? "" : ", " + extra) + "}\n";
}

// A NodePort service item with one port.
std::string nodeport(const std::string& name, const std::string& ip, const std::string& port) {
    return "  - {name: " + name + ", type: NodePort, cluster_ip: " + ip + ", ports: [" + port + "]}\n";
}

// kNet plus endpoints "default/a".. with the given host_ports lists.
std::string endpoints(const std::vector<std::string>& host_ports) {
    std::string out = "endpoints:\n";
    for (size_t i = 0; i < host_ports.size(); ++i)
        out += "  - {id: default/p" + std::to_string(i) + ", ip: 10.200.0." + std::to_string(11 + i) + ", netns: p" +
               std::to_string(i) + ", host_ports: " + host_ports[i] + "}\n";
    return out;
}

std::string error_of(const std::string& yaml) {
    auto r = parse_config(yaml, "config.yaml");
    return r.ok() ? "(parsed without error)" : r.error().message;
}

Config parsed(const std::string& yaml) {
    auto r = parse_config(yaml, "config.yaml");
    INFO(yaml << (r.ok() ? "" : r.error().message));
    REQUIRE(r.ok());
    return *r;
}

} // namespace

TEST_CASE("every service key can be set explicitly", "[services]") {
    const std::string yaml = R"(
node: {name: node1, ip: 192.168.50.11}
uplinks:
  - {name: eth0, devargs: net_null0}
routing: {tunnel_protocol: geneve}
network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.1}
loadbalancer:
  algorithm: maglev
  maglev_table_size: 251
  maglev_hash_seed: AAECAwQFBgcICQoL
  nodeport_range: 31000-31999
  nodeport_mode: dsr
  no_backends: drop
  hairpin_ip: 169.254.7.7
conntrack:
  max_flows: 1024
  tcp_syn_timeout_s: 30
  tcp_established_timeout_s: 7200
  tcp_close_timeout_s: 5
  udp_timeout_s: 40
  icmp_timeout_s: 20
  gc_interval_ms: 500
masquerade:
  enabled: false
  non_masquerade_cidrs: [192.168.0.0/16, 172.16.0.0/12]
  port_range: 40000-50000
services:
  - name: default/web
    type: LoadBalancer
    cluster_ip: 10.96.0.10
    external_ips: [192.168.60.10, 192.168.60.11]
    load_balancer_ips: [192.168.70.10]
    external_traffic_policy: Local
    internal_traffic_policy: Local
    session_affinity: ClientIP
    session_affinity_timeout_s: 600
    algorithm: random
    ports:
      - {name: http, protocol: TCP, port: 80, target_port: 8080, node_port: 31080}
      - {name: dns, protocol: udp, port: 53, node_port: 31053}
    backends:
      - {ip: 10.200.0.11, node: node1, state: active, weight: 3}
      - {ip: 10.200.1.11, node: node2, state: terminating, weight: 65535}
  - name: kube-system/dns
    cluster_ip: 10.96.0.53
    ports: [{port: 53, protocol: UDP}, {port: 53}]
endpoints:
  - id: default/a
    ip: 10.200.0.11
    netns: a
    host_ports: [{host_port: 8080, container_port: 80, protocol: TCP}, {host_port: 8080, protocol: udp}]
)";
    const Config c = parsed(yaml);
    const LoadBalancerConfig& lb = c.loadbalancer;
    CHECK(lb.algorithm == LbAlgorithm::Maglev);
    CHECK(lb.maglev_table_size == 251);
    CHECK(lb.maglev_hash_seed == "AAECAwQFBgcICQoL");
    CHECK(lb.nodeport_min == 31000);
    CHECK(lb.nodeport_max == 31999);
    CHECK(lb.nodeport_mode == NodePortMode::Dsr);
    CHECK(lb.no_backends == NoBackendAction::Drop);
    CHECK(lb.hairpin_ip.str() == "169.254.7.7");
    CHECK(c.conntrack.max_flows == 1024);
    CHECK(c.conntrack.tcp_syn_timeout_s == 30);
    CHECK(c.conntrack.tcp_established_timeout_s == 7200);
    CHECK(c.conntrack.tcp_close_timeout_s == 5);
    CHECK(c.conntrack.udp_timeout_s == 40);
    CHECK(c.conntrack.icmp_timeout_s == 20);
    CHECK(c.conntrack.gc_interval_ms == 500);
    CHECK_FALSE(c.masquerade.enabled);
    REQUIRE(c.masquerade.non_masquerade_cidrs.size() == 2);
    CHECK(c.masquerade.non_masquerade_cidrs[1].str() == "172.16.0.0/12");
    CHECK(c.masquerade.port_min == 40000);
    CHECK(c.masquerade.port_max == 50000);

    REQUIRE(c.services.size() == 2);
    const ServiceConfig& s = c.services[0];
    CHECK(s.name == "default/web");
    CHECK(s.type == ServiceType::LoadBalancer);
    CHECK(s.cluster_ip.str() == "10.96.0.10");
    REQUIRE(s.external_ips.size() == 2);
    CHECK(s.external_ips[1].str() == "192.168.60.11");
    REQUIRE(s.load_balancer_ips.size() == 1);
    CHECK(s.load_balancer_ips[0].str() == "192.168.70.10");
    CHECK(s.external_traffic_policy == TrafficPolicy::Local);
    CHECK(s.internal_traffic_policy == TrafficPolicy::Local);
    CHECK(s.session_affinity);
    CHECK(s.session_affinity_timeout_s == 600);
    CHECK(s.algorithm == LbAlgorithm::Random); // the service's own, over loadbalancer.algorithm
    REQUIRE(s.ports.size() == 2);
    CHECK(s.ports[0].name == "http");
    CHECK(s.ports[0].protocol == L4Proto::Tcp);
    CHECK(s.ports[0].port == 80);
    CHECK(s.ports[0].target_port == 8080);
    CHECK(s.ports[0].node_port == 31080);
    CHECK(s.ports[1].protocol == L4Proto::Udp);
    CHECK(s.ports[1].target_port == 53);
    CHECK(s.ports[1].node_port == 31053);
    REQUIRE(s.backends.size() == 2);
    CHECK(s.backends[0].ip.str() == "10.200.0.11");
    CHECK(s.backends[0].node == "node1");
    CHECK(s.backends[0].state == BackendState::Active);
    CHECK(s.backends[0].weight == 3);
    CHECK(s.backends[1].node == "node2");
    CHECK(s.backends[1].state == BackendState::Terminating);
    CHECK(s.backends[1].weight == 65535);
    // The same port number with two protocols is two ports.
    REQUIRE(c.services[1].ports.size() == 2);
    CHECK(c.services[1].ports[0].protocol == L4Proto::Udp);
    CHECK(c.services[1].ports[1].protocol == L4Proto::Tcp);
    CHECK(c.services[1].algorithm == LbAlgorithm::Maglev); // from loadbalancer.algorithm

    REQUIRE(c.endpoints.size() == 1);
    const auto& hp = c.endpoints[0].host_ports;
    REQUIRE(hp.size() == 2);
    CHECK(hp[0].host_port == 8080);
    CHECK(hp[0].container_port == 80);
    CHECK(hp[0].protocol == L4Proto::Tcp);
    CHECK(hp[1].container_port == 8080); // defaults to host_port
    CHECK(hp[1].protocol == L4Proto::Udp);
}

TEST_CASE("service sections default as documented", "[services]") {
    const Config c = parsed(services(svc("default/web", "10.96.0.10", "backends: [{ip: 10.200.0.11}]")) +
                            endpoints({"[{host_port: 9000}]"}));
    const LoadBalancerConfig& lb = c.loadbalancer;
    CHECK(lb.algorithm == LbAlgorithm::Random);
    CHECK(lb.maglev_table_size == 16381);
    CHECK(lb.maglev_hash_seed == "JLfvgnHc2kaSUFaI");
    CHECK(lb.nodeport_min == 30000);
    CHECK(lb.nodeport_max == 32767);
    CHECK(lb.nodeport_mode == NodePortMode::Snat);
    CHECK(lb.no_backends == NoBackendAction::Reject);
    CHECK(lb.hairpin_ip.str() == "169.254.42.1");
    CHECK(c.conntrack.max_flows == 262144);
    CHECK(c.conntrack.tcp_syn_timeout_s == 60);
    CHECK(c.conntrack.tcp_established_timeout_s == 21600);
    CHECK(c.conntrack.tcp_close_timeout_s == 10);
    CHECK(c.conntrack.udp_timeout_s == 60);
    CHECK(c.conntrack.icmp_timeout_s == 60);
    CHECK(c.conntrack.gc_interval_ms == 1000);
    CHECK(c.masquerade.enabled);
    CHECK(c.masquerade.non_masquerade_cidrs.empty());
    CHECK(c.masquerade.port_min == 32768);
    CHECK(c.masquerade.port_max == 65535);

    REQUIRE(c.services.size() == 1);
    const ServiceConfig& s = c.services[0];
    CHECK(s.type == ServiceType::ClusterIP);
    CHECK(s.external_ips.empty());
    CHECK(s.load_balancer_ips.empty());
    CHECK(s.external_traffic_policy == TrafficPolicy::Cluster);
    CHECK(s.internal_traffic_policy == TrafficPolicy::Cluster);
    CHECK_FALSE(s.session_affinity);
    CHECK(s.session_affinity_timeout_s == 10800);
    CHECK(s.algorithm == LbAlgorithm::Random);
    REQUIRE(s.ports.size() == 1);
    CHECK(s.ports[0].name.empty());
    CHECK(s.ports[0].protocol == L4Proto::Tcp);
    CHECK(s.ports[0].target_port == 80);
    CHECK(s.ports[0].node_port == 0);
    REQUIRE(s.backends.size() == 1);
    CHECK(s.backends[0].node.empty());
    CHECK(s.backends[0].state == BackendState::Active);
    CHECK(s.backends[0].weight == 1);
    const HostPortConfig& hp = c.endpoints.at(0).host_ports.at(0);
    CHECK(hp.container_port == 9000);
    CHECK(hp.protocol == L4Proto::Tcp);

    // Empty sections and lists read as defaults too.
    const Config e = parsed(kNet + "loadbalancer:\nconntrack: {}\nmasquerade:\nservices: []\n");
    CHECK(e.services.empty());
    CHECK(e.loadbalancer.nodeport_max == 32767);
    // The services' algorithm follows loadbalancer.algorithm, whichever comes first in the file.
    CHECK(parsed(services(svc("a/b", "10.96.0.1")) + "loadbalancer: {algorithm: maglev}\n").services[0].algorithm ==
          LbAlgorithm::Maglev);
}

TEST_CASE("service errors carry the line and the exact message", "[services]") {
    const std::string yaml = kNet + R"(services:
  - name: default/web
    type: NodePort
    cluster_ip: 10.96.0.10
    ports:
      - {port: 80, node_port: 30080}
      - {port: 443, node_port: 40000}
)";
    CHECK(error_of(yaml) == "config.yaml:10: services[0].ports[1].node_port: 40000 is out of range: "
                            "expected 30000-32767 (loadbalancer.nodeport_range)");
    CHECK(error_of(kNet + "loadbalancer:\n  nodeport_mode: dsr\n") ==
          "config.yaml:5: loadbalancer.nodeport_mode: \"dsr\" is not valid: expected snat: dsr and hybrid need "
          "routing.mode tunnel with routing.tunnel_protocol geneve");
}

TEST_CASE("bad service configs are refused with the key path", "[services]") {
    struct Case {
        std::string yaml;
        std::string expect; // the whole message after "config.yaml:<line>: "
    };
    const std::string lbs = "  - {name: a/lb, type: LoadBalancer, cluster_ip: 10.96.0.9, ";
    const std::vector<Case> cases = {
        // loadbalancer
        {kNet + "loadbalancer: {algorithm: roundrobin}\n",
         "loadbalancer.algorithm: \"roundrobin\" is not valid: expected random or maglev"},
        {kNet + "loadbalancer: {maglev_table_size: 1000}\n",
         "loadbalancer.maglev_table_size: 1000 is not valid: expected one of 251, 509, 1021, 2039, 4093, 8191, 16381, "
         "32749, 65521 or 131071"},
        {kNet + "loadbalancer: {maglev_table_size: big}\n",
         "loadbalancer.maglev_table_size: \"big\" is not valid: expected one of 251, 509, 1021, 2039, 4093, 8191, "
         "16381, 32749, 65521 or 131071"},
        {kNet + "loadbalancer: {maglev_hash_seed: AAECAwQFBgc=}\n",
         "loadbalancer.maglev_hash_seed: \"AAECAwQFBgc=\" is not valid: expected base64 of exactly 12 bytes, like "
         "JLfvgnHc2kaSUFaI (head -c12 /dev/urandom | base64)"},
        {kNet + "loadbalancer: {maglev_hash_seed: \"not base64!\"}\n",
         "loadbalancer.maglev_hash_seed: \"not base64!\" is not valid: expected base64 of exactly 12 bytes, like "
         "JLfvgnHc2kaSUFaI (head -c12 /dev/urandom | base64)"},
        {kNet + "loadbalancer: {nodeport_range: 32767-30000}\n",
         "loadbalancer.nodeport_range: \"32767-30000\" is not valid: expected a port range like 30000-32767"},
        {kNet + "loadbalancer: {nodeport_range: 30000}\n",
         "loadbalancer.nodeport_range: 30000 is not valid: expected a port range like 30000-32767"},
        {kNet + "loadbalancer: {nodeport_range: 0-100}\n",
         "loadbalancer.nodeport_range: \"0-100\" is out of range: expected a range within 1-65535, like 30000-32767"},
        {kNet + "loadbalancer: {nodeport_range: 30000-70000}\n",
         "loadbalancer.nodeport_range: \"30000-70000\" is out of range: expected a range within 1-65535, like 30000-32767"},
        {kNet + "routing: {tunnel_protocol: vxlan}\nloadbalancer: {nodeport_mode: hybrid}\n",
         "loadbalancer.nodeport_mode: \"hybrid\" is not valid: expected snat: dsr and hybrid need routing.mode tunnel "
         "with routing.tunnel_protocol geneve"},
        {kNet + "routing: {mode: native, native_routing_cidr: 10.0.0.0/8, tunnel_protocol: geneve}\n"
                "loadbalancer: {nodeport_mode: dsr}\n",
         "loadbalancer.nodeport_mode: \"dsr\" is not valid: expected snat: dsr and hybrid need routing.mode tunnel "
         "with routing.tunnel_protocol geneve"},
        {kNet + "loadbalancer: {nodeport_mode: DSR}\n", "loadbalancer.nodeport_mode: \"DSR\" is not valid: expected snat, dsr or hybrid"},
        {kNet + "loadbalancer: {no_backends: ignore}\n", "loadbalancer.no_backends: \"ignore\" is not valid: expected reject or drop"},
        {kNet + "loadbalancer: {hairpin_ip: 127.0.0.1}\n",
         "loadbalancer.hairpin_ip: \"127.0.0.1\" is not valid: expected a unicast address, not in 0.0.0.0/8, "
         "127.0.0.0/8 or 224.0.0.0/3, like 169.254.42.1"},
        {kNet + "loadbalancer: {hairpin_ip: 10.200.0.9}\n",
         "loadbalancer.hairpin_ip: \"10.200.0.9\" is not valid: expected an address that no pod or node uses, like 169.254.42.1"},
        {"node: {ip: 192.168.50.11}\nuplinks:\n  - {name: eth0, devargs: net_null0}\n" + kNet +
             "nodes:\n  - {name: node2, ip: 192.168.50.12, pod_cidrs: [10.200.1.0/24]}\nloadbalancer: {hairpin_ip: 10.200.1.1}\n",
         "loadbalancer.hairpin_ip: \"10.200.1.1\" is not valid: expected an address that no pod or node uses, like 169.254.42.1"},
        {"node: {ip: 192.168.50.11}\nuplinks:\n  - {name: eth0, devargs: net_null0}\n" + kNet + "loadbalancer: {hairpin_ip: 192.168.50.11}\n",
         "loadbalancer.hairpin_ip: \"192.168.50.11\" is not valid: expected an address that no pod or node uses, like 169.254.42.1"},
        {kNet + "loadbalancer: {maglev: true}\n", "loadbalancer.maglev: unknown key (known keys: algorithm, maglev_table_size, "
                                                  "maglev_hash_seed, nodeport_range, nodeport_mode, no_backends, hairpin_ip)"},
        // conntrack
        {kNet + "conntrack: {max_flows: 1023}\n", "conntrack.max_flows: 1023 is out of range: expected 1024..16777216"},
        {kNet + "conntrack: {max_flows: 16777217}\n", "conntrack.max_flows: 16777217 is out of range: expected 1024..16777216"},
        {kNet + "conntrack: {tcp_syn_timeout_s: 0}\n", "conntrack.tcp_syn_timeout_s: 0 is out of range: expected 1..604800"},
        {kNet + "conntrack: {tcp_established_timeout_s: 604801}\n",
         "conntrack.tcp_established_timeout_s: 604801 is out of range: expected 1..604800"},
        {kNet + "conntrack: {udp_timeout_s: -1}\n", "conntrack.udp_timeout_s: -1 is out of range: expected 1..604800"},
        {kNet + "conntrack: {gc_interval_ms: 9}\n", "conntrack.gc_interval_ms: 9 is out of range: expected 10..60000"},
        {kNet + "conntrack: {gc_interval_ms: 60001}\n", "conntrack.gc_interval_ms: 60001 is out of range: expected 10..60000"},
        {kNet + "conntrack: {tcp_fin_timeout_s: 1}\n", "conntrack.tcp_fin_timeout_s: unknown key (known keys: max_flows, "
                                                       "tcp_syn_timeout_s, tcp_established_timeout_s, tcp_close_timeout_s, "
                                                       "udp_timeout_s, icmp_timeout_s, gc_interval_ms, max_fragment_datagrams)"},
        // masquerade
        {kNet + "masquerade: {enabled: yes}\n", "masquerade.enabled: \"yes\" is not valid: expected true or false"},
        {kNet + "masquerade: {port_range: 1000-2000}\n",
         "masquerade.port_range: \"1000-2000\" is out of range: expected a range within 1024-65535, like 32768-65535"},
        {kNet + "masquerade: {port_range: 32000-40000}\n",
         "masquerade.port_range: \"32000-40000\" is not valid: expected a range that does not overlap "
         "loadbalancer.nodeport_range 30000-32767"},
        {kNet + "loadbalancer: {nodeport_range: 40000-40100}\nmasquerade: {port_range: 40100-50000}\n",
         "masquerade.port_range: \"40100-50000\" is not valid: expected a range that does not overlap "
         "loadbalancer.nodeport_range 40000-40100"},
        {kNet + "masquerade: {non_masquerade_cidrs: [192.168.0.1/16]}\n",
         "masquerade.non_masquerade_cidrs[0]: \"192.168.0.1/16\" is not valid: expected a prefix with no host bits set, "
         "like 192.168.0.0/16"},
        {kNet + "masquerade: {non_masquerade_cidrs: 192.168.0.0/16}\n",
         "masquerade.non_masquerade_cidrs: \"192.168.0.0/16\" is not valid: expected a list of IPv4 prefixes, like [192.168.0.0/16]"},
        {kNet + "masquerade: {cidrs: []}\n", "masquerade.cidrs: unknown key (known keys: enabled, non_masquerade_cidrs, port_range)"},
        // services: the service
        {kNet + "services: {name: a}\n",
         "services: a mapping is not valid: expected a list of services, like [{name: default/web, cluster_ip: 10.96.0.10, "
         "ports: [{port: 80}]}]"},
        {services("  - {cluster_ip: 10.96.0.1, ports: [{port: 80}]}\n"),
         "services[0].name: required key is missing: expected a unique service name, like default/web"},
        {services("  - {name: \"\", cluster_ip: 10.96.0.1, ports: [{port: 80}]}\n"),
         "services[0].name: \"\" is not valid: expected a non-empty string"},
        {services(svc("a/b", "10.96.0.1") + svc("a/b", "10.96.0.2")),
         "services[1].name: \"a/b\" is not valid: expected a unique name, but services[0] already uses it"},
        {services(svc("a/b", "10.96.0.1", "type: ExternalName")),
         "services[0].type: \"ExternalName\" is not valid: expected ClusterIP, NodePort or LoadBalancer"},
        {services("  - {name: a/b, ports: [{port: 80}]}\n"),
         "services[0].cluster_ip: required key is missing: expected the service's cluster IP, like 10.96.0.10"},
        {services(svc("a/b", "None")),
         "services[0].cluster_ip: \"None\" is not valid: expected an IPv4 address like 10.96.0.10 (headless services are not supported)"},
        {services(svc("a/b", "0.0.0.0")), "services[0].cluster_ip: \"0.0.0.0\" is not valid: expected a unicast address, "
                                          "not in 0.0.0.0/8, 127.0.0.0/8 or 224.0.0.0/3, like 10.96.0.10 (headless services are not supported)"},
        {services(svc("a/b", "10.96.0.1", "external_ips: [192.168.60.300]")),
         "services[0].external_ips[0]: \"192.168.60.300\" is not valid: expected an IPv4 address like 192.168.60.10"},
        {services(svc("a/b", "10.96.0.1", "load_balancer_ips: [192.168.70.10]")),
         "services[0].load_balancer_ips: a list is not valid: expected no load_balancer_ips unless type is LoadBalancer"},
        {services(svc("a/b", "10.96.0.1", "external_traffic_policy: local")),
         "services[0].external_traffic_policy: \"local\" is not valid: expected Cluster or Local"},
        {services(svc("a/b", "10.96.0.1", "internal_traffic_policy: Node")),
         "services[0].internal_traffic_policy: \"Node\" is not valid: expected Cluster or Local"},
        {services(svc("a/b", "10.96.0.1", "session_affinity: ClientPort")),
         "services[0].session_affinity: \"ClientPort\" is not valid: expected None or ClientIP"},
        {services(svc("a/b", "10.96.0.1", "session_affinity_timeout_s: 0")),
         "services[0].session_affinity_timeout_s: 0 is out of range: expected 1..86400"},
        {services(svc("a/b", "10.96.0.1", "session_affinity_timeout_s: 86401")),
         "services[0].session_affinity_timeout_s: 86401 is out of range: expected 1..86400"},
        {services(svc("a/b", "10.96.0.1", "algorithm: hash")), "services[0].algorithm: \"hash\" is not valid: expected random or maglev"},
        {services(svc("a/b", "10.96.0.1", "selector: {app: web}")), "services[0].selector: unknown key (known keys: name, type, "
         "cluster_ip, external_ips, load_balancer_ips, external_traffic_policy, internal_traffic_policy, session_affinity, "
         "session_affinity_timeout_s, algorithm, ports, backends, lbipam_ips, lbipam_sharing_key, global, shared, affinity, labels)"},
        // services: ports
        {services("  - {name: a/b, cluster_ip: 10.96.0.1}\n"),
         "services[0].ports: required key is missing: expected at least one port, like [{port: 80}]"},
        {services("  - {name: a/b, cluster_ip: 10.96.0.1, ports: []}\n"),
         "services[0].ports: an empty list is not valid: expected at least one port, like [{port: 80}]"},
        {services("  - {name: a/b, cluster_ip: 10.96.0.1, ports: [{port: 80, protocol: SCTP}]}\n"),
         "services[0].ports[0].protocol: \"SCTP\" is not valid: expected TCP or UDP"},
        {services("  - {name: a/b, cluster_ip: 10.96.0.1, ports: [{port: 0}]}\n"),
         "services[0].ports[0].port: 0 is out of range: expected 1..65535"},
        {services("  - {name: a/b, cluster_ip: 10.96.0.1, ports: [{name: http}]}\n"),
         "services[0].ports[0].port: required key is missing: expected the service port, like 80"},
        {services("  - {name: a/b, cluster_ip: 10.96.0.1, ports: [{port: 80, target_port: 65536}]}\n"),
         "services[0].ports[0].target_port: 65536 is out of range: expected 1..65535"},
        {services("  - {name: a/b, cluster_ip: 10.96.0.1, ports: [{port: 80}, {port: 81}, {port: 80, protocol: tcp}]}\n"),
         "services[0].ports[2].port: 80 is not valid: expected a unique protocol and port, but services[0].ports[0] already uses TCP 80"},
        {services("  - {name: a/b, cluster_ip: 10.96.0.1, ports: [{port: 80, targetPort: 8080}]}\n"),
         "services[0].ports[0].targetPort: unknown key (known keys: name, protocol, port, target_port, node_port)"},
        // services: node ports
        {services(nodeport("a/b", "10.96.0.1", "{port: 80}")),
         "services[0].ports[0].node_port: required key is missing: expected a port in 30000-32767 "
         "(loadbalancer.nodeport_range) with type NodePort or LoadBalancer"},
        {services(lbs + "ports: [{port: 80}]}\n"),
         "services[0].ports[0].node_port: required key is missing: expected a port in 30000-32767 "
         "(loadbalancer.nodeport_range) with type NodePort or LoadBalancer"},
        {services(nodeport("a/b", "10.96.0.1", "{port: 80, node_port: 0}")),
         "services[0].ports[0].node_port: 0 is out of range: expected 30000-32767 (loadbalancer.nodeport_range)"},
        {services(nodeport("a/b", "10.96.0.1", "{port: 80, node_port: http}")),
         "services[0].ports[0].node_port: \"http\" is not valid: expected a port in 30000-32767 (loadbalancer.nodeport_range)"},
        {"loadbalancer: {nodeport_range: 31000-31010}\n" + services(nodeport("a/b", "10.96.0.1", "{port: 80, node_port: 30080}")),
         "services[0].ports[0].node_port: 30080 is out of range: expected 31000-31010 (loadbalancer.nodeport_range)"},
        {services(svc("a/b", "10.96.0.1", "type: ClusterIP") + "  - {name: a/c, cluster_ip: 10.96.0.2, ports: [{port: 80, node_port: 30080}]}\n"),
         "services[1].ports[0].node_port: 30080 is not valid: expected no node_port with type ClusterIP"},
        {services(nodeport("a/b", "10.96.0.1", "{port: 80, node_port: 30080}") + lbs + "ports: [{port: 81, node_port: 30080}]}\n"),
         "services[1].ports[0].node_port: 30080 is not valid: expected a node port no other service port uses, but "
         "services[0].ports[0] (a/b) already uses TCP 30080"},
        {services(nodeport("a/b", "10.96.0.1", "{port: 80, node_port: 30080}, {port: 81, node_port: 30080}")),
         "services[0].ports[1].node_port: 30080 is not valid: expected a node port no other service port uses, but "
         "services[0].ports[0] (a/b) already uses TCP 30080"},
        // services: frontends
        {services(svc("a/b", "10.96.0.1") + svc("a/c", "10.96.0.1")),
         "services[1].cluster_ip: \"10.96.0.1\" is not valid: expected an address and port no other frontend uses, but "
         "services[0].cluster_ip (a/b) already serves TCP 80"},
        {services(svc("a/b", "10.96.0.1") + svc("a/c", "10.96.0.2", "external_ips: [10.96.0.1]")),
         "services[1].external_ips[0]: \"10.96.0.1\" is not valid: expected an address and port no other frontend uses, "
         "but services[0].cluster_ip (a/b) already serves TCP 80"},
        {services(svc("a/b", "10.96.0.1", "external_ips: [192.168.60.10, 192.168.60.10]")),
         "services[0].external_ips[1]: \"192.168.60.10\" is not valid: expected an address and port no other frontend "
         "uses, but services[0].external_ips[0] (a/b) already serves TCP 80"},
        {services(svc("a/b", "10.96.0.1", "external_ips: [192.168.70.10]") + lbs +
                  "load_balancer_ips: [192.168.70.10], ports: [{port: 80, node_port: 30080}]}\n"),
         "services[1].load_balancer_ips[0]: \"192.168.70.10\" is not valid: expected an address and port no other "
         "frontend uses, but services[0].external_ips[0] (a/b) already serves TCP 80"},
        // services: backends
        {services(svc("a/b", "10.96.0.1", "backends: [{node: node1}]")),
         "services[0].backends[0].ip: required key is missing: expected the backend's address, like 10.200.0.11"},
        {services(svc("a/b", "10.96.0.1", "backends: [{ip: 10.200.0.11}, {ip: 10.200.0.11}]")),
         "services[0].backends[1].ip: \"10.200.0.11\" is not valid: expected a unique address, but services[0].backends[0] already uses it"},
        {services(svc("a/b", "10.96.0.1", "backends: [{ip: 10.200.0.11, state: ready}]")),
         "services[0].backends[0].state: \"ready\" is not valid: expected active or terminating"},
        {services(svc("a/b", "10.96.0.1", "backends: [{ip: 10.200.0.11, weight: 0}]")),
         "services[0].backends[0].weight: 0 is out of range: expected 1..65535"},
        {services(svc("a/b", "10.96.0.1", "backends: [{ip: 10.200.0.11, weight: 65536}]")),
         "services[0].backends[0].weight: 65536 is out of range: expected 1..65535"},
        {services(svc("a/b", "10.96.0.1", "backends: [{ip: 10.200.0.11, node: Node_2}]")),
         "services[0].backends[0].node: \"Node_2\" is not valid: expected 1..32 characters of a-z, 0-9, '.' and '-', like node1"},
        {services(svc("a/b", "10.96.0.1", "backends: [{ip: 10.200.0.11, zone: a}]")),
         "services[0].backends[0].zone: unknown key (known keys: ip, node, state, weight)"},
        // host_ports
        {kNet + endpoints({"[{container_port: 80}]"}),
         "endpoints[0].host_ports[0].host_port: required key is missing: expected a port on the node IP, like 8080"},
        {kNet + endpoints({"[{host_port: 0}]"}), "endpoints[0].host_ports[0].host_port: 0 is out of range: expected 1..65535"},
        {kNet + endpoints({"[{host_port: 8080, container_port: 70000}]"}),
         "endpoints[0].host_ports[0].container_port: 70000 is out of range: expected 1..65535"},
        {kNet + endpoints({"[{host_port: 8080, protocol: icmp}]"}),
         "endpoints[0].host_ports[0].protocol: \"icmp\" is not valid: expected TCP or UDP"},
        {kNet + endpoints({"[{host_port: 8080, container_port: 80}, {host_port: 8080, container_port: 81}]"}),
         "endpoints[0].host_ports[1].host_port: 8080 is not valid: expected a unique protocol and host port, but "
         "host_ports[0] already uses TCP 8080"},
        {kNet + endpoints({"[{host_port: 8080}]", "[{host_port: 8081}, {host_port: 8080, protocol: TCP}]"}),
         "endpoints[1].host_ports[1].host_port: 8080 is not valid: expected a host port no other endpoint uses, but "
         "endpoints[0].host_ports[0] already uses TCP 8080"},
        {services(nodeport("a/b", "10.96.0.1", "{port: 53, protocol: UDP, node_port: 30053}")) +
             endpoints({"[{host_port: 30053, protocol: UDP}]"}),
         "endpoints[0].host_ports[0].host_port: 30053 is not valid: expected a port that is no service's node port, but "
         "services[0].ports[0] (a/b) uses UDP 30053"},
        {kNet + endpoints({"[{host_port: 8080, hostIP: 0.0.0.0}]"}),
         "endpoints[0].host_ports[0].hostIP: unknown key (known keys: host_port, container_port, protocol)"},
        {kNet + endpoints({"8080"}),
         "endpoints[0].host_ports: 8080 is not valid: expected a list of host ports, like [{host_port: 8080, container_port: 80}]"},
    };
    for (const Case& c : cases) {
        INFO("yaml:\n" << c.yaml);
        const std::string message = error_of(c.yaml);
        CHECK_THAT(message, StartsWith("config.yaml:"));
        CHECK_THAT(message, EndsWith(": " + c.expect));
        CHECK(message.find('\n') == std::string::npos);
    }
}

TEST_CASE("ports and addresses that do not clash are accepted", "[services]") {
    // The same node port or host port with the other protocol, and the same
    // frontend address on another port, are fine.
    const Config c = parsed(services(nodeport("a/b", "10.96.0.1", "{port: 80, node_port: 30080}") +
                                     nodeport("a/c", "10.96.0.1", "{port: 81, protocol: UDP, node_port: 30080}") +
                                     "  - {name: a/d, cluster_ip: 10.96.0.2, external_ips: [10.96.0.1], ports: [{port: 82}]}\n" +
                                     nodeport("a/e", "10.96.0.5", "{port: 80, node_port: 30090}")) +
                            endpoints({"[{host_port: 30090, protocol: UDP}]", "[{host_port: 8080, protocol: UDP}]",
                                       "[{host_port: 8080}]"}));
    CHECK(c.services.size() == 4);
    CHECK(c.services[2].ports.at(0).port == 82);
    CHECK(c.endpoints.size() == 3);
    // dsr and hybrid with Geneve tunnels.
    CHECK(parsed("routing: {tunnel_protocol: geneve}\nloadbalancer: {nodeport_mode: hybrid}\n" + kNet)
              .loadbalancer.nodeport_mode == NodePortMode::Hybrid);
    // A port range right below the node ports.
    CHECK(parsed(kNet + "masquerade: {port_range: 1024-29999}\n").masquerade.port_max == 29999);
}

TEST_CASE("validate_endpoint checks host_ports for API endpoints", "[services]") {
    // hostPorts need an uplink (a node without one refuses them: test_cni_pending.cpp).
    const Config config = parsed("node: {name: n1, ip: 192.168.50.2}\n"
                                 "uplinks: [{name: eth0, devargs: 'net_af_packet0,iface=veth0'}]\n" +
                                 services(nodeport("a/b", "10.96.0.1", "{port: 80, node_port: 30080}")));
    EndpointConfig ep;
    ep.id = "default/web-1";
    ep.ip = *Ipv4Addr::parse("10.200.0.20");
    ep.mac = MacAddr::from_ipv4(ep.ip);
    ep.netns = "pl-web-1";
    ep.host_ports = {HostPortConfig{8080, 80, L4Proto::Tcp}, HostPortConfig{8080, 80, L4Proto::Udp}};
    CHECK(validate_endpoint(ep, config, "endpoint").ok());

    auto message = [&](void (*change)(EndpointConfig&)) {
        EndpointConfig e = ep;
        change(e);
        auto r = validate_endpoint(e, config, "endpoint");
        return r.ok() ? std::string("(valid)") : r.error().message;
    };
    CHECK(message([](EndpointConfig& e) { e.host_ports[1].host_port = 30080; }) == "(valid)"); // UDP: no UDP node port
    CHECK(message([](EndpointConfig& e) { e.host_ports[0].host_port = 30080; }) ==
          "endpoint.host_ports[0].host_port: 30080 is not valid: expected a port that is no service's node port, but "
          "services[0].ports[0] (a/b) uses TCP 30080");
    CHECK(message([](EndpointConfig& e) { e.host_ports.push_back(HostPortConfig{8080, 81, L4Proto::Tcp}); }) ==
          "endpoint.host_ports[2].host_port: 8080 is not valid: expected a unique protocol and host port, but "
          "host_ports[0] already uses TCP 8080");
    CHECK(message([](EndpointConfig& e) { e.host_ports[1].host_port = 0; }) ==
          "endpoint.host_ports[1].host_port: 0 is not valid: expected a port in 1..65535");
    CHECK(message([](EndpointConfig& e) { e.host_ports[1].container_port = 0; }) ==
          "endpoint.host_ports[1].container_port: 0 is not valid: expected a port in 1..65535");
}
