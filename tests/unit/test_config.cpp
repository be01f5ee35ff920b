// Tests for the YAML config loader (src/control/config/config.cpp).
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "control/config/config.h"
#include "control/pods/ipam.h"

#ifndef PODLANE_SOURCE_DIR
#error "PODLANE_SOURCE_DIR must be defined as the source tree's path, as a string literal"
#endif

using namespace podlane;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// The smallest valid network section; most cases below start from it.
const std::string kNet = "network:\n"
                         "  pod_cidr: 10.200.0.0/24\n"
                         "  gateway_ip: 10.200.0.1\n";

// kNet plus one endpoint with the given extra lines (indented under the item).
std::string with_endpoint(const std::string& fields) {
    return kNet + "endpoints:\n  - id: default/a\n" + fields;
}

// This node with one uplink (routing tunnel and ipam kubernetes by default);
// cases add network, nodes and the rest.
const std::string kUplinked = "node: {name: node1, ip: 192.168.50.11}\n"
                              "uplinks:\n  - {name: eth0, devargs: net_null0}\n";

// One item of `nodes`.
std::string peer(const std::string& name, const std::string& ip, const std::string& pod_cidrs = "") {
    return "  - {name: " + name + ", ip: " + ip + (pod_cidrs.empty() ? "" : ", pod_cidrs: " + pod_cidrs) + "}\n";
}

// A valid two-node config in ipam kubernetes mode: this node (10.200.0.0/24) and node2 (10.200.1.0/24).
const std::string kTwoNodes = kUplinked + kNet + "nodes:\n" + peer("node2", "192.168.50.12", "[10.200.1.0/24]");

// A valid two-node config in ipam cluster-pool mode: node1 gets 10.0.116.0/24, node2 10.0.45.0/24.
const std::string kPool = kUplinked + "ipam: {mode: cluster-pool, cluster_pool_cidr: 10.0.0.0/16}\n"
                          "nodes:\n" + peer("node2", "192.168.50.12");

std::string error_of(const std::string& yaml) {
    auto r = parse_config(yaml, "config.yaml");
    if (r.ok())
        return "(parsed without error)";
    return r.error().message;
}

} // namespace

TEST_CASE("configs/podlane.yaml loads with its values and defaults", "[config]") {
    auto r = load_config_file(PODLANE_SOURCE_DIR "/configs/podlane.yaml");
    INFO((r.ok() ? "" : r.error().message));
    REQUIRE(r.ok());
    const Config& c = *r;

    CHECK(c.node_name == "node1");
    CHECK(c.dataplane.main_lcore == 0);
    CHECK(c.dataplane.worker_lcores == std::vector<uint32_t>{1});
    CHECK(c.dataplane.lcore_map.empty());
    CHECK_FALSE(c.dataplane.hugepages);
    CHECK(c.dataplane.memory_mb == 256);
    CHECK(c.dataplane.file_prefix == "podlane-node1");
    CHECK(c.dataplane.eal_args.empty());
    CHECK(c.dataplane.mbufs == 8191);
    CHECK(c.dataplane.burst_size == 32);
    CHECK(c.dataplane.rx_ring_size == 1024);
    CHECK(c.dataplane.tx_ring_size == 1024);
    CHECK(c.dataplane.idle_sleep_us == 100);
    CHECK(c.dataplane.idle_polls_before_sleep == 256);

    CHECK(c.network.pod_cidr.str() == "10.200.0.0/24");
    CHECK(c.network.gateway_ip.str() == "10.200.0.1");
    CHECK(c.network.gateway_mac.str() == "0a:58:0a:c8:00:01");
    CHECK(c.network.pod_mtu == 1500);
    CHECK(c.tables.max_endpoints == 1024);
    CHECK(c.tables.max_publish_rate == 20);
    CHECK(c.api.socket == "/run/podlane/podlane.sock");
    CHECK(c.metrics.enabled);
    CHECK(c.metrics.listen() == "127.0.0.1:9962");
    CHECK(c.ports.empty());

    REQUIRE(c.endpoints.size() == 3);
    const EndpointConfig& a = c.endpoints[0];
    CHECK(a.id == "default/pod-a");
    CHECK(a.ip.str() == "10.200.0.11");
    CHECK(a.mac.str() == "0a:58:0a:c8:00:0b");
    CHECK(a.netns == "pl-pod-a");
    CHECK(a.ifname == "eth0");
    CHECK(a.labels == std::map<std::string, std::string>{{"app", "client"}});
    CHECK(c.endpoints[1].id == "default/pod-b");
    CHECK(c.endpoints[2].ip.str() == "10.200.0.13");
    CHECK(c.endpoints[2].labels.at("app") == "web");
}

TEST_CASE("a config with only the required keys gets the documented defaults", "[config]") {
    auto r = parse_config(kNet, "min.yaml");
    INFO((r.ok() ? "" : r.error().message));
    REQUIRE(r.ok());
    const Config defaults;
    const Config& c = *r;
    CHECK(c.node_name == "node1");
    CHECK(c.dataplane.main_lcore == defaults.dataplane.main_lcore);
    CHECK(c.dataplane.worker_lcores == defaults.dataplane.worker_lcores);
    CHECK(c.dataplane.hugepages == defaults.dataplane.hugepages);
    CHECK(c.dataplane.memory_mb == defaults.dataplane.memory_mb);
    CHECK(c.dataplane.file_prefix == "podlane-node1");
    CHECK(c.dataplane.mbufs == defaults.dataplane.mbufs);
    CHECK(c.dataplane.burst_size == defaults.dataplane.burst_size);
    CHECK(c.dataplane.idle_sleep_us == 0);
    CHECK(c.dataplane.idle_polls_before_sleep == defaults.dataplane.idle_polls_before_sleep);
    CHECK(c.network.gateway_mac.str() == "0a:58:0a:c8:00:01");
    CHECK(c.network.pod_mtu == 1500);
    CHECK(c.tables.max_endpoints == 1024);
    CHECK(c.tables.max_publish_rate == 20);
    CHECK(c.api.socket == defaults.api.socket);
    CHECK(c.ports.empty());
    CHECK(c.endpoints.empty());
}

TEST_CASE("every key can be set explicitly", "[config]") {
    const std::string yaml = R"(
node: {name: worker-7.example}
dataplane:
  main_lcore: 2
  worker_lcores: [3, 4, 5]
  lcore_map: "(0-1)@0"
  hugepages: true
  memory_mb: 1024
  file_prefix: custom
  eal_args: ["--log-level=7", "-a", "0000:00:00.0"]
  mbufs: 16383
  burst_size: 64
  rx_ring_size: 512
  tx_ring_size: 4096
  idle_sleep_us: 4294967295
  idle_polls_before_sleep: 0
network:
  pod_cidr: 10.244.8.0/22
  gateway_ip: 10.244.11.254
  gateway_mac: "02:00:00:00:00:01"
  pod_mtu: 9000
ports:
  - {name: uplink, devargs: "net_af_packet0,iface=veth0"}
  - {name: gen, devargs: net_null0}
endpoints:
  - id: ns/x
    ip: 10.244.8.1
    mac: 02:aa:bb:cc:dd:ee
    netns: /var/run/netns/x
    ifname: net1
    labels: {app: web, tier: "", "example.com/role": db}
  - {id: ns/y, ip: 10.244.9.0, netns: y, labels: }
tables: {max_endpoints: 2, max_publish_rate: 50}
api: {socket: /tmp/p.sock}
)";
    auto r = parse_config(yaml, "full.yaml");
    INFO((r.ok() ? "" : r.error().message));
    REQUIRE(r.ok());
    const Config& c = *r;
    CHECK(c.node_name == "worker-7.example");
    CHECK(c.dataplane.main_lcore == 2);
    CHECK(c.dataplane.worker_lcores == std::vector<uint32_t>{3, 4, 5});
    CHECK(c.dataplane.lcore_map == "(0-1)@0");
    CHECK(c.dataplane.hugepages);
    CHECK(c.dataplane.memory_mb == 1024);
    CHECK(c.dataplane.file_prefix == "custom");
    CHECK(c.dataplane.eal_args == std::vector<std::string>{"--log-level=7", "-a", "0000:00:00.0"});
    CHECK(c.dataplane.mbufs == 16383);
    CHECK(c.dataplane.burst_size == 64);
    CHECK(c.dataplane.rx_ring_size == 512);
    CHECK(c.dataplane.tx_ring_size == 4096);
    CHECK(c.dataplane.idle_sleep_us == 4294967295u);
    CHECK(c.dataplane.idle_polls_before_sleep == 0);
    CHECK(c.network.pod_cidr.str() == "10.244.8.0/22");
    CHECK(c.network.gateway_ip.str() == "10.244.11.254");
    CHECK(c.network.gateway_mac.str() == "02:00:00:00:00:01");
    CHECK(c.network.pod_mtu == 9000);
    REQUIRE(c.ports.size() == 2);
    CHECK(c.ports[0].name == "uplink");
    CHECK(c.ports[0].devargs == "net_af_packet0,iface=veth0");
    REQUIRE(c.endpoints.size() == 2);
    CHECK(c.endpoints[0].mac.str() == "02:aa:bb:cc:dd:ee");
    CHECK(c.endpoints[0].netns == "/var/run/netns/x");
    CHECK(c.endpoints[0].ifname == "net1");
    CHECK(c.endpoints[0].labels.size() == 3);
    CHECK(c.endpoints[0].labels.at("tier").empty());
    CHECK(c.endpoints[1].mac.str() == "0a:58:0a:f4:09:00");
    CHECK(c.endpoints[1].labels.empty());
    CHECK(c.tables.max_endpoints == 2);
    CHECK(c.tables.max_publish_rate == 50);
    CHECK(c.api.socket == "/tmp/p.sock");
}

TEST_CASE("empty sections read as defaults", "[config]") {
    auto r = parse_config("node:\ndataplane:\n" + kNet + "ports:\nendpoints: []\ntables: {}\napi:\n", "x.yaml");
    INFO((r.ok() ? "" : r.error().message));
    REQUIRE(r.ok());
    CHECK(r->dataplane.worker_lcores == std::vector<uint32_t>{1});
    CHECK(r->endpoints.empty());
}

TEST_CASE("a config without the multi-node sections is a single node", "[config]") {
    auto r = parse_config(kNet, "x.yaml");
    REQUIRE(r.ok());
    const Config& c = *r;
    CHECK(c.node_ip.is_zero());
    CHECK(c.uplinks.empty());
    CHECK(c.nodes.empty());
    CHECK(c.routing.mode == RoutingMode::Tunnel);
    CHECK(c.routing.protocol == TunnelProtocol::Vxlan);
    CHECK(c.routing.tunnel_port == 8472);
    CHECK(c.routing.native_routing_cidr.str() == "0.0.0.0/0");
    CHECK(c.ipam.mode == IpamMode::Kubernetes);
    CHECK(c.ipam.mask_size == 24);
    CHECK(c.neighbor.refresh_ms == 10000);
    CHECK(c.neighbor.timeout_ms == 30000);
    CHECK(c.network.pod_mtu == 1500);
}

TEST_CASE("a three-node cluster with ipam kubernetes and Geneve tunnels", "[config]") {
    const std::string yaml = R"(
node:
  name: node1
  ip: 192.168.50.11
uplinks:
  - name: eth0
    devargs: net_af_packet0,iface=uplink0
    mtu: 9000
routing:
  mode: tunnel
  tunnel_protocol: geneve
  tunnel_port: 6082
ipam:
  mode: kubernetes
network:
  pod_cidr: 10.200.0.0/24
  gateway_ip: 10.200.0.1
nodes:
  - name: node2
    ip: 192.168.50.12
    pod_cidrs: [10.200.1.0/24]
  - name: node3
    ip: 192.168.50.13
    pod_cidrs: [10.200.2.0/24, 10.201.0.0/16]
neighbor:
  refresh_ms: 5000
  timeout_ms: 20000
endpoints:
  - {id: default/a, ip: 10.200.0.11, netns: pl-a}
)";
    auto r = parse_config(yaml, "k8s.yaml");
    INFO((r.ok() ? "" : r.error().message));
    REQUIRE(r.ok());
    const Config& c = *r;
    CHECK(c.node_name == "node1");
    CHECK(c.node_ip.str() == "192.168.50.11");
    REQUIRE(c.uplinks.size() == 1);
    CHECK(c.uplinks[0].name == "eth0");
    CHECK(c.uplinks[0].devargs == "net_af_packet0,iface=uplink0");
    CHECK(c.uplinks[0].mtu == 9000);
    CHECK(c.routing.mode == RoutingMode::Tunnel);
    CHECK(c.routing.protocol == TunnelProtocol::Geneve);
    CHECK(c.routing.tunnel_port == 6082);
    CHECK(c.ipam.mode == IpamMode::Kubernetes);
    CHECK(c.network.pod_cidr.str() == "10.200.0.0/24");
    CHECK(c.network.gateway_ip.str() == "10.200.0.1");
    CHECK(c.network.pod_mtu == 8950); // 9000 - 50
    REQUIRE(c.nodes.size() == 2);
    CHECK(c.nodes[0].name == "node2");
    CHECK(c.nodes[0].ip.str() == "192.168.50.12");
    REQUIRE(c.nodes[0].pod_cidrs.size() == 1);
    CHECK(c.nodes[0].pod_cidrs[0].str() == "10.200.1.0/24");
    CHECK(c.nodes[1].name == "node3");
    REQUIRE(c.nodes[1].pod_cidrs.size() == 2);
    CHECK(c.nodes[1].pod_cidrs[1].str() == "10.201.0.0/16");
    CHECK(c.neighbor.refresh_ms == 5000);
    CHECK(c.neighbor.timeout_ms == 20000);
    CHECK(c.endpoints.size() == 1);
}

TEST_CASE("a three-node cluster with ipam cluster-pool and native routing", "[config]") {
    const std::string yaml = R"(
node: {name: node1, ip: 192.168.50.11}
uplinks:
  - {name: eth0, devargs: "net_af_packet0,iface=uplink0"}
  - {name: eth1, devargs: "net_af_packet1,iface=uplink1", mtu: 9000}
routing:
  mode: native
  native_routing_cidr: 10.0.0.0/8
ipam:
  mode: cluster-pool
  cluster_pool_cidr: 10.0.0.0/16
  mask_size: 24
nodes:
  - {name: node3, ip: 192.168.50.13}
  - {name: node2, ip: 192.168.50.12}
endpoints:
  - {id: default/a, ip: 10.0.116.11, netns: pl-a}
)";
    auto r = parse_config(yaml, "pool.yaml");
    INFO((r.ok() ? "" : r.error().message));
    REQUIRE(r.ok());
    const Config& c = *r;
    CHECK(c.routing.mode == RoutingMode::Native);
    CHECK(c.routing.native_routing_cidr.str() == "10.0.0.0/8");
    CHECK(c.ipam.mode == IpamMode::ClusterPool);
    CHECK(c.ipam.cluster_pool_cidr.str() == "10.0.0.0/16");
    CHECK(c.ipam.mask_size == 24);
    REQUIRE(c.uplinks.size() == 2);
    CHECK(c.uplinks[0].mtu == 1500);

    // Blocks from the allocator: FNV-1a of the name mod 256.
    auto blocks = allocate_cluster_pool(c.ipam.cluster_pool_cidr, 24, {"node1", "node2", "node3"});
    REQUIRE(blocks.ok());
    CHECK(c.network.pod_cidr == blocks->at("node1"));
    CHECK(c.network.pod_cidr.str() == "10.0.116.0/24");
    CHECK(c.network.gateway_ip.str() == "10.0.116.1");      // the block's first host
    CHECK(c.network.gateway_mac.str() == "0a:58:0a:00:74:01");
    CHECK(c.network.pod_mtu == 1500);                      // native: the smallest uplink MTU
    REQUIRE(c.nodes.size() == 2);
    CHECK(c.nodes[0].name == "node3");
    CHECK(c.nodes[0].pod_cidrs == std::vector<Ipv4Prefix>{*Ipv4Prefix::parse("10.0.154.0/24")});
    CHECK(c.nodes[1].pod_cidrs == std::vector<Ipv4Prefix>{*Ipv4Prefix::parse("10.0.45.0/24")});

    // Endpoints, from the config or over the API, must be inside the allocated block.
    EndpointConfig ep = c.endpoints.at(0);
    CHECK(validate_endpoint(ep, c, "endpoint").ok());
    ep.ip = *Ipv4Addr::parse("10.0.45.11");
    CHECK(validate_endpoint(ep, c, "endpoint").error().message ==
          "endpoint.ip: \"10.0.45.11\" is not valid: expected an address inside network.pod_cidr 10.0.116.0/24");
    CHECK(error_of(kPool + "endpoints:\n  - {id: default/a, ip: 10.0.45.11, netns: a}\n") ==
          "config.yaml:8: endpoints[0].ip: \"10.0.45.11\" is not valid: expected an address inside network.pod_cidr 10.0.116.0/24");
}

TEST_CASE("cluster-pool accepts the allocated pod_cidr and any gateway inside it", "[config]") {
    auto r = parse_config(kPool + "network:\n  pod_cidr: 10.0.116.0/24\n  gateway_ip: 10.0.116.254\n  pod_mtu: 1400\n", "x.yaml");
    INFO((r.ok() ? "" : r.error().message));
    REQUIRE(r.ok());
    CHECK(r->network.pod_cidr.str() == "10.0.116.0/24");
    CHECK(r->network.gateway_ip.str() == "10.0.116.254");
    CHECK(r->network.gateway_mac.str() == "0a:58:0a:00:74:fe");
    CHECK(r->network.pod_mtu == 1400);
    CHECK(r->nodes.at(0).pod_cidrs == std::vector<Ipv4Prefix>{*Ipv4Prefix::parse("10.0.45.0/24")});

    // A single node needs neither uplinks nor a network section.
    auto single = parse_config("ipam: {mode: cluster-pool, cluster_pool_cidr: 10.0.0.0/8}\n", "x.yaml");
    INFO((single.ok() ? "" : single.error().message));
    REQUIRE(single.ok());
    CHECK(single->network.pod_cidr == allocate_cluster_pool(*Ipv4Prefix::parse("10.0.0.0/8"), 24, {"node1"})->at("node1"));
    CHECK(single->network.pod_mtu == 1500);
}

TEST_CASE("multi-node defaults: tunnel port and pod MTU", "[config]") {
    auto parse = [](const std::string& yaml) {
        auto r = parse_config(yaml, "x.yaml");
        INFO(yaml << (r.ok() ? "" : r.error().message));
        REQUIRE(r.ok());
        return *r;
    };
    CHECK(parse(kTwoNodes).routing.tunnel_port == 8472);
    CHECK(parse(kTwoNodes).network.pod_mtu == 1450);
    CHECK(parse(kTwoNodes).uplinks.at(0).mtu == 1500);
    const Config geneve = parse("routing: {tunnel_protocol: geneve}\n" + kTwoNodes);
    CHECK(geneve.routing.tunnel_port == 6081);
    CHECK(geneve.network.pod_mtu == 1450);
    CHECK(parse("routing: {tunnel_protocol: geneve, tunnel_port: 7000}\n" + kNet).routing.tunnel_port == 7000);
    CHECK(parse("routing: {tunnel_port: 4789}\n" + kNet).routing.tunnel_port == 4789);

    const std::string native = "routing: {mode: native, native_routing_cidr: 10.200.0.0/16}\n";
    CHECK(parse(native + kTwoNodes).network.pod_mtu == 1500);
    CHECK(parse(native + kTwoNodes).routing.tunnel_port == 8472); // resolved, though unused
    // The smallest uplink decides; the pod MTU stays within 576..9000.
    const std::string jumbo = "  - {name: eth1, devargs: net_null1, mtu: 9216}\n";
    CHECK(parse(kUplinked + jumbo + kNet).network.pod_mtu == 1450);
    CHECK(parse("node: {ip: 192.168.50.11}\nuplinks:\n" + jumbo + kNet).network.pod_mtu == 9000);
    CHECK(parse(native + "node: {ip: 192.168.50.11}\nuplinks:\n  - {name: u, devargs: x, mtu: 576}\n" + kNet).network.pod_mtu == 576);
    CHECK(parse("node: {ip: 192.168.50.11}\nuplinks:\n  - {name: u, devargs: x, mtu: 626}\n" + kNet).network.pod_mtu == 576);
    // Explicit values up to the limit are kept; without uplinks the limit is 9000 as before.
    CHECK(parse(kUplinked + kNet + "  pod_mtu: 1450\n").network.pod_mtu == 1450);
    CHECK(parse(kNet + "  pod_mtu: 9000\n").network.pod_mtu == 9000);
}

TEST_CASE("multi-node errors carry the line of the offending value", "[config]") {
    const std::string yaml = R"(node:
  name: node1
  ip: 192.168.50.11
uplinks:
  - name: eth0
    devargs: net_null0
network:
  pod_cidr: 10.200.0.0/24
  gateway_ip: 10.200.0.1
nodes:
  - name: node2
    ip: 192.168.50.12
    pod_cidrs: [10.200.1.0/24]
  - name: node3
    ip: 192.168.50.13
    pod_cidrs:
      - 10.200.2.0/24
      - 10.200.1.128/25
)";
    CHECK(error_of(yaml) == "config.yaml:18: nodes[1].pod_cidrs[1]: \"10.200.1.128/25\" is not valid: "
                            "expected a CIDR that does not overlap nodes[0].pod_cidrs[0] 10.200.1.0/24 (node2)");
}

TEST_CASE("bad configs are refused with the key path and the value", "[config]") {
    struct Case {
        std::string yaml;
        std::vector<std::string> expect; // substrings of the error message
    };
    const std::vector<Case> cases = {
        // node
        {"node: {name: Node_1}\n" + kNet, {"config.yaml:1: node.name: \"Node_1\" is not valid", "a-z"}},
        {"node: {name: \"\"}\n" + kNet, {"node.name: \"\" is not valid"}},
        {"node: {name: " + std::string(33, 'a') + "}\n" + kNet, {"node.name: \"" + std::string(33, 'a') + "\"", "1..32"}},
        {"node: {name: [a, b]}\n" + kNet, {"node.name: a list is not valid: expected a string"}},
        {"node: web\n" + kNet, {"node: \"web\" is not valid: expected a mapping with keys name"}},
        // dataplane numbers
        {"dataplane: {burst_size: 100}\n" + kNet, {"dataplane.burst_size: 100 is out of range: expected 1..64"}},
        {"dataplane: {burst_size: 0}\n" + kNet, {"dataplane.burst_size: 0 is out of range"}},
        {"dataplane: {burst_size: abc}\n" + kNet, {"dataplane.burst_size: \"abc\" is not valid: expected an integer in 1..64"}},
        {"dataplane: {mbufs: -1}\n" + kNet, {"dataplane.mbufs: -1 is out of range: expected 1023..1048575"}},
        {"dataplane: {mbufs: 1022}\n" + kNet, {"dataplane.mbufs: 1022 is out of range"}},
        {"dataplane: {mbufs: 99999999999999999999999}\n" + kNet, {"dataplane.mbufs: 99999999999999999999999 is out of range"}},
        {"dataplane: {mbufs: [1]}\n" + kNet, {"dataplane.mbufs: a list is not valid: expected an integer"}},
        {"dataplane: {memory_mb: 63}\n" + kNet, {"dataplane.memory_mb: 63 is out of range: expected 64.."}},
        {"dataplane: {rx_ring_size: 1000}\n" + kNet, {"dataplane.rx_ring_size: 1000 is not valid: expected a power of two"}},
        {"dataplane: {tx_ring_size: 8192}\n" + kNet, {"dataplane.tx_ring_size: 8192 is out of range: expected 64..4096"}},
        {"dataplane: {idle_sleep_us: 4294967296}\n" + kNet, {"dataplane.idle_sleep_us: 4294967296 is out of range"}},
        {"dataplane: {idle_polls_before_sleep: 1.5}\n" + kNet, {"dataplane.idle_polls_before_sleep: \"1.5\" is not valid"}},
        {"dataplane: {hugepages: maybe}\n" + kNet, {"dataplane.hugepages: \"maybe\" is not valid: expected true or false"}},
        {"dataplane: {file_prefix: a/b}\n" + kNet, {"dataplane.file_prefix: \"a/b\" is not valid"}},
        {"dataplane: {eal_args: --no-pci}\n" + kNet, {"dataplane.eal_args: \"--no-pci\" is not valid: expected a list"}},
        // lcores
        {"dataplane: {worker_lcores: []}\n" + kNet, {"dataplane.worker_lcores: 0 lcores is out of range: expected 1..16"}},
        {"dataplane: {worker_lcores: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]}\n" + kNet,
         {"dataplane.worker_lcores: 17 lcores is out of range"}},
        {"dataplane: {worker_lcores: [1, 2, 1]}\n" + kNet, {"dataplane.worker_lcores[2]: 1 is not valid", "twice"}},
        {"dataplane: {main_lcore: 2, worker_lcores: [1, 2]}\n" + kNet,
         {"dataplane.worker_lcores[1]: 2 is not valid", "main_lcore"}},
        {"dataplane: {main_lcore: 1}\n" + kNet, {"dataplane.main_lcore: 1 is not valid", "worker lcore"}},
        {"dataplane: {worker_lcores: [128]}\n" + kNet, {"dataplane.worker_lcores[0]: 128 is out of range: expected 0..127"}},
        {"dataplane: {worker_lcores: 1}\n" + kNet, {"dataplane.worker_lcores: 1 is not valid: expected a list"}},
        // network
        {"network: {gateway_ip: 10.200.0.1}\n", {"network.pod_cidr: required key is missing"}},
        {"network: {pod_cidr: 10.200.0.0/24}\n", {"network.gateway_ip: required key is missing"}},
        {"node: {name: n}\n", {"network.pod_cidr: required key is missing"}},
        {"network: {pod_cidr: 10.200.0.1/24, gateway_ip: 10.200.0.1}\n",
         {"network.pod_cidr: \"10.200.0.1/24\" is not valid: expected a prefix with no host bits set, like 10.200.0.0/24"}},
        {"network: {pod_cidr: 10.200.0.0, gateway_ip: 10.200.0.1}\n",
         {"network.pod_cidr: \"10.200.0.0\" is not valid: expected an IPv4 prefix"}},
        {"network: {pod_cidr: 10.200.0.0/31, gateway_ip: 10.200.0.1}\n",
         {"network.pod_cidr: \"10.200.0.0/31\" is out of range", "8..30"}},
        {"network: {pod_cidr: 10.0.0.0/7, gateway_ip: 10.0.0.1}\n", {"network.pod_cidr: \"10.0.0.0/7\" is out of range"}},
        {"network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.201.0.1}\n",
         {"network.gateway_ip: \"10.201.0.1\" is not valid: expected an address inside network.pod_cidr 10.200.0.0/24"}},
        {"network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.0}\n",
         {"network.gateway_ip: \"10.200.0.0\" is not valid", "network address"}},
        {"network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.255}\n",
         {"network.gateway_ip: \"10.200.0.255\" is not valid", "broadcast address"}},
        {"network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.300}\n",
         {"network.gateway_ip: \"10.200.0.300\" is not valid: expected an IPv4 address like 10.200.0.11"}},
        {"network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.1, gateway_mac: 01:00:5e:00:00:01}\n",
         {"network.gateway_mac: \"01:00:5e:00:00:01\" is not valid", "unicast"}},
        {"network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.1, gateway_mac: 0a-58-0a-c8-00-01}\n",
         {"network.gateway_mac: \"0a-58-0a-c8-00-01\" is not valid: expected a MAC address"}},
        {"network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.1, pod_mtu: 9001}\n",
         {"network.pod_mtu: 9001 is out of range: expected 576..9000"}},
        // tables, api
        {"tables: {max_endpoints: 0}\n" + kNet, {"tables.max_endpoints: 0 is out of range: expected 1..65536"}},
        {"tables: {max_publish_rate: 0}\n" + kNet, {"tables.max_publish_rate: 0 is out of range: expected 1..1000"}},
        {"tables: {max_endpoints: 65537}\n" + kNet, {"tables.max_endpoints: 65537 is out of range"}},
        {"api: {socket: run/podlane.sock}\n" + kNet, {"api.socket: \"run/podlane.sock\" is not valid: expected an absolute path"}},
        // ports
        {kNet + "ports: {name: a}\n", {"ports: a mapping is not valid: expected a list"}},
        {kNet + "ports:\n  - {devargs: net_null0}\n", {"ports[0].name: required key is missing"}},
        {kNet + "ports:\n  - {name: a, devargs: \"\"}\n", {"ports[0].devargs: \"\" is not valid: expected a non-empty string"}},
        {kNet + "ports:\n  - {name: a, devargs: net_null0}\n  - {name: a, devargs: net_null1}\n",
         {"ports[1].name: \"a\" is not valid: expected a unique name, but ports[0] already uses it"}},
        {kNet + "ports:\n  - {name: a, devargs: x, iface: y}\n", {"ports[0].iface: unknown key"}},
        // endpoints
        {with_endpoint("    ip: 10.0.0.300\n    netns: a\n"),
         {"endpoints[0].ip: \"10.0.0.300\" is not valid: expected an IPv4 address like 10.200.0.11"}},
        {with_endpoint("    netns: a\n"), {"endpoints[0].ip: required key is missing"}},
        {with_endpoint("    ip: 10.200.0.2\n"), {"endpoints[0].netns: required key is missing"}},
        {with_endpoint("    ip: 10.200.0.1\n    netns: a\n"),
         {"endpoints[0].ip: \"10.200.0.1\" is not valid: expected an address other than network.gateway_ip"}},
        {with_endpoint("    ip: 10.200.0.255\n    netns: a\n"), {"endpoints[0].ip: \"10.200.0.255\"", "broadcast"}},
        {with_endpoint("    ip: 10.200.0.2\n    netns: a\n    mac: 00:00:00:00:00:00\n"),
         {"endpoints[0].mac: \"00:00:00:00:00:00\" is not valid"}},
        {with_endpoint("    ip: 10.200.0.2\n    netns: a\n    mac: 0a:58:0a:c8:00\n"),
         {"endpoints[0].mac: \"0a:58:0a:c8:00\" is not valid: expected a MAC address"}},
        {with_endpoint("    ip: 10.200.0.2\n    netns: \"\"\n"), {"endpoints[0].netns: \"\" is not valid"}},
        {with_endpoint("    ip: 10.200.0.2\n    netns: a/b\n"), {"endpoints[0].netns: \"a/b\" is not valid"}},
        {with_endpoint("    ip: 10.200.0.2\n    netns: a\n    ifname: eth0123456789abc\n"),
         {"endpoints[0].ifname: \"eth0123456789abc\" is not valid", "1..15"}},
        {with_endpoint("    ip: 10.200.0.2\n    netns: a\n    ifname: \"eth 0\"\n"), {"endpoints[0].ifname: \"eth 0\""}},
        {with_endpoint("    ip: 10.200.0.2\n    netns: a\n    ifname: a/b\n"), {"endpoints[0].ifname: \"a/b\""}},
        {with_endpoint("    ip: 10.200.0.2\n    netns: a\n    labels: [app]\n"),
         {"endpoints[0].labels: a list is not valid: expected a mapping"}},
        {with_endpoint("    ip: 10.200.0.2\n    netns: a\n    labels: {\"\": web}\n"),
         {"endpoints[0].labels: \"\" is not valid: expected non-empty label keys"}},
        {with_endpoint("    ip: 10.200.0.2\n    netns: a\n    labels: {app: [web]}\n"),
         {"endpoints[0].labels.app: a list is not valid: expected a string"}},
        {with_endpoint("    ip: 10.200.0.2\n    netns: a\n    nets: b\n"), {"endpoints[0].nets: unknown key"}},
        {with_endpoint("    ip: 10.200.0.2\n    netns: a\n  - id: default/a\n    ip: 10.200.0.3\n    netns: b\n"),
         {"endpoints[1].id: \"default/a\" is not valid: expected a unique id, but endpoints[0] already uses it"}},
        {"tables: {max_endpoints: 1}\n" +
             with_endpoint("    ip: 10.200.0.2\n    netns: a\n  - id: default/b\n    ip: 10.200.0.3\n    netns: b\n"),
         {"endpoints: 2 entries is out of range: expected at most 1 (tables.max_endpoints)"}},
        // structure
        {"just text", {"config.yaml:1: top level: \"just text\" is not valid: expected a mapping"}},
        {"- a\n- b\n", {"top level: a list is not valid: expected a mapping"}},
        {kNet + "  pod_mtu: 1500\n  pod_mtu: 1400\n", {"config.yaml:5: network.pod_mtu: duplicate key"}},
        {kNet + "Network: {}\n", {"config.yaml:4: Network: unknown key (known keys: node, dataplane, network"}},
        // node.ip
        {"uplinks:\n  - {name: eth0, devargs: net_null0}\n" + kNet,
         {"config.yaml: node.ip: required key is missing: expected this node's IP on the uplink, like 192.168.50.11"}},
        {"node: {name: node1}\nuplinks:\n  - {name: eth0, devargs: net_null0}\n" + kNet,
         {"config.yaml:1: node.ip: required key is missing"}},
        {"node: {ip: 192.168.50.300}\n" + kNet, {"node.ip: \"192.168.50.300\" is not valid: expected an IPv4 address like 192.168.50.11"}},
        {"node: {ip: 127.0.0.1}\n" + kNet, {"node.ip: \"127.0.0.1\" is not valid: expected a unicast address"}},
        {"node: {ip: 10.200.0.5}\n" + kNet,
         {"node.ip: \"10.200.0.5\" is not valid: expected an address outside the pod CIDRs, "
          "but network.pod_cidr 10.200.0.0/24 (node1) holds it"}},
        {kTwoNodes + peer("node3", "10.200.1.7", "[10.200.2.0/24]"),
         {"nodes[1].ip: \"10.200.1.7\" is not valid: expected an address outside the pod CIDRs, "
          "but nodes[0].pod_cidrs[0] 10.200.1.0/24 (node2) holds it"}},
        {"node: {name: node1, ip: 10.0.9.9}\nuplinks:\n  - {name: eth0, devargs: net_null0}\n"
         "ipam: {mode: cluster-pool, cluster_pool_cidr: 10.0.0.0/16}\n",
         {"node.ip: \"10.0.9.9\" is not valid: expected an address outside the pod CIDRs, but ipam.cluster_pool_cidr 10.0.0.0/16 holds it"}},
        // uplinks
        {kUplinked + "  - {name: eth0, devargs: net_null1}\n" + kNet,
         {"uplinks[1].name: \"eth0\" is not valid: expected a unique name, but uplinks[0] already uses it"}},
        {kUplinked + "  - {name: eth1}\n" + kNet, {"uplinks[1].devargs: required key is missing"}},
        {kUplinked + "  - {name: eth1, devargs: \"\"}\n" + kNet, {"uplinks[1].devargs: \"\" is not valid: expected a non-empty string"}},
        {kUplinked + "  - {name: eth1, devargs: net_null1, mtu: 9217}\n" + kNet,
         {"uplinks[1].mtu: 9217 is out of range: expected 576..9216"}},
        {kUplinked + "  - {name: eth1, devargs: net_null1, mtu: 600}\n" + kNet,
         {"uplinks[1].mtu: 600 is out of range: expected 626..9216 in tunnel mode (pod MTU 576 plus 50 bytes of VXLAN encapsulation)"}},
        {kUplinked + "  - {name: eth1, devargs: net_null1, mtu: 1500, speed: 10}\n" + kNet, {"uplinks[1].speed: unknown key"}},
        {"uplinks: eth0\n" + kNet, {"uplinks: \"eth0\" is not valid: expected a list of uplinks"}},
        // routing
        {"routing: {mode: tunel}\n" + kNet, {"config.yaml:1: routing.mode: \"tunel\" is not valid: expected native or tunnel"}},
        {"routing: {tunnel_protocol: gre}\n" + kNet,
         {"routing.tunnel_protocol: \"gre\" is not valid: expected vxlan or geneve"}},
        {"routing: {tunnel_port: 0}\n" + kNet, {"routing.tunnel_port: 0 is out of range: expected 1..65535"}},
        {"routing: {tunnel_port: 65536}\n" + kNet, {"routing.tunnel_port: 65536 is out of range: expected 1..65535"}},
        {"routing: {mode: native}\n" + kNet,
         {"routing.native_routing_cidr: required key is missing: expected the CIDR that holds every pod CIDR"}},
        {"routing: {mode: native, native_routing_cidr: 10.0.0.1/8}\n" + kNet,
         {"routing.native_routing_cidr: \"10.0.0.1/8\" is not valid: expected a prefix with no host bits set, like 10.0.0.0/8"}},
        {"routing: {mode: native, native_routing_cidr: 10.200.0.0/16}\n" + kTwoNodes + peer("node3", "192.168.50.13", "[10.201.0.0/24]"),
         {"nodes[1].pod_cidrs[0]: \"10.201.0.0/24\" is not valid: expected a CIDR inside routing.native_routing_cidr 10.200.0.0/16"}},
        {"routing: {mode: native, native_routing_cidr: 10.200.1.0/24}\n" + kTwoNodes,
         {"network.pod_cidr: \"10.200.0.0/24\" is not valid: expected a CIDR inside routing.native_routing_cidr 10.200.1.0/24"}},
        {"routing: {tunnel: vxlan}\n" + kNet,
         {"routing.tunnel: unknown key (known keys: mode, tunnel_protocol, tunnel_port, native_routing_cidr)"}},
        // pod CIDRs of the cluster
        {kUplinked + kNet + "nodes:\n" + peer("node2", "192.168.50.12", "[10.200.0.128/25]"),
         {"network.pod_cidr: \"10.200.0.0/24\" is not valid: expected a CIDR that does not overlap "
          "nodes[0].pod_cidrs[0] 10.200.0.128/25 (node2)"}},
        {kTwoNodes + peer("node3", "192.168.50.13", "[10.200.2.0/24, 10.200.0.0/16]"),
         {"nodes[1].pod_cidrs[1]: \"10.200.0.0/16\" is not valid: expected a CIDR that does not overlap "
          "nodes[0].pod_cidrs[0] 10.200.1.0/24 (node2)"}},
        {kTwoNodes + peer("node3", "192.168.50.13", "[10.200.2.0/24, 10.200.2.0/24]"),
         {"nodes[1].pod_cidrs[1]: \"10.200.2.0/24\"", "does not overlap nodes[1].pod_cidrs[0] 10.200.2.0/24 (node3)"}},
        {kTwoNodes + peer("node3", "192.168.50.13", "[10.200.2.0/31]"), {"nodes[1].pod_cidrs[0]: \"10.200.2.0/31\" is out of range"}},
        {kTwoNodes + peer("node3", "192.168.50.13"),
         {"nodes[1].pod_cidrs: required key is missing: expected the node's pod CIDRs, like [10.200.1.0/24]"}},
        {kTwoNodes + peer("node3", "192.168.50.13", "[]"),
         {"nodes[1].pod_cidrs: an empty list is not valid: expected at least one pod CIDR"}},
        // nodes
        {kNet + "nodes:\n" + peer("node2", "192.168.50.12", "[10.200.1.0/24]"),
         {"nodes: other nodes are reached over an uplink: expected uplinks, or no nodes"}},
        {kUplinked + kNet + "nodes: node2\n", {"nodes: \"node2\" is not valid: expected a list of nodes"}},
        {kTwoNodes + peer("node1", "192.168.50.13", "[10.200.2.0/24]"),
         {"nodes[1].name: \"node1\" is not valid: expected a name other than node.name (this node)"}},
        {kTwoNodes + peer("node2", "192.168.50.13", "[10.200.2.0/24]"),
         {"nodes[1].name: \"node2\" is not valid: expected a unique name, but nodes[0] already uses it"}},
        {kTwoNodes + peer("Node3", "192.168.50.13", "[10.200.2.0/24]"), {"nodes[1].name: \"Node3\" is not valid", "a-z"}},
        {kTwoNodes + peer("node3", "192.168.50.12", "[10.200.2.0/24]"),
         {"nodes[1].ip: \"192.168.50.12\" is not valid: expected a unique address, but nodes[0] already uses it"}},
        {kTwoNodes + peer("node3", "192.168.50.11", "[10.200.2.0/24]"),
         {"nodes[1].ip: \"192.168.50.11\" is not valid: expected an address other than node.ip (this node)"}},
        {kTwoNodes + "  - {name: node3, pod_cidrs: [10.200.2.0/24]}\n", {"nodes[1].ip: required key is missing"}},
        {kTwoNodes + "  - {name: node3, ip: 192.168.50.13, podcidrs: [10.200.2.0/24]}\n", {"nodes[1].podcidrs: unknown key"}},
        // ipam
        {"ipam: {mode: pool}\n" + kNet, {"ipam.mode: \"pool\" is not valid: expected kubernetes or cluster-pool"}},
        {"ipam: {mode: cluster-pool}\n",
         {"ipam.cluster_pool_cidr: required key is missing: expected the pool that pod CIDRs are allocated from"}},
        {"ipam: {mode: cluster-pool, cluster_pool_cidr: 10.0.0.0/30}\n",
         {"ipam.cluster_pool_cidr: \"10.0.0.0/30\" is out of range: expected a prefix length of 8..29"}},
        {"ipam: {mode: cluster-pool, cluster_pool_cidr: 10.0.0.0/24}\n",
         {"ipam.cluster_pool_cidr: \"10.0.0.0/24\" is not valid: expected a prefix shorter than /24, the default ipam.mask_size"}},
        {"ipam: {mode: cluster-pool, cluster_pool_cidr: 10.0.0.0/16, mask_size: 16}\n",
         {"ipam.mask_size: 16 is out of range: expected 17..30 (longer than ipam.cluster_pool_cidr)"}},
        {"ipam: {mask_size: 31}\n" + kNet, {"ipam.mask_size: 31 is out of range: expected 9..30"}},
        {"routing: {mode: native, native_routing_cidr: 10.0.0.0/16}\nipam: {mode: cluster-pool, cluster_pool_cidr: 10.0.0.0/8}\n",
         {"ipam.cluster_pool_cidr: \"10.0.0.0/8\" is not valid: expected a pool inside routing.native_routing_cidr 10.0.0.0/16"}},
        {kUplinked + "ipam: {mode: cluster-pool, cluster_pool_cidr: 10.0.0.0/29, mask_size: 30}\nnodes:\n" +
             peer("node2", "192.168.50.12") + peer("node3", "192.168.50.13"),
         {"ipam.cluster_pool_cidr: cluster pool 10.0.0.0/29 has 2 blocks of /30 for 3 nodes: "
          "expected a larger pool or a larger ipam.mask_size"}},
        {kPool + "network: {pod_cidr: 10.0.45.0/24}\n",
         {"network.pod_cidr: \"10.0.45.0/24\" is not valid: expected 10.0.116.0/24, the block ipam cluster-pool allocated to node1"}},
        {kPool + "network: {gateway_ip: 10.0.45.1}\n",
         {"network.gateway_ip: \"10.0.45.1\" is not valid: expected an address inside network.pod_cidr 10.0.116.0/24"}},
        {kPool + peer("node3", "192.168.50.13", "[10.0.3.0/24]"),
         {"nodes[1].pod_cidrs: a list is not valid: expected no pod_cidrs with ipam.mode cluster-pool"}},
        {"ipam: {cluster-pool-cidr: 10.0.0.0/8}\n" + kNet, {"ipam.cluster-pool-cidr: unknown key"}},
        // pod MTU
        {kUplinked + kNet + "  pod_mtu: 1500\n",
         {"network.pod_mtu: 1500 is out of range: expected at most 1450 (uplink MTU 1500 minus 50 bytes of VXLAN encapsulation)"}},
        {"routing: {tunnel_protocol: geneve}\n" + kUplinked + kNet + "  pod_mtu: 1451\n",
         {"network.pod_mtu: 1451 is out of range: expected at most 1450 (uplink MTU 1500 minus 50 bytes of Geneve encapsulation)"}},
        {"routing: {mode: native, native_routing_cidr: 10.0.0.0/8}\n" + kUplinked + "  - {name: eth1, devargs: x, mtu: 1400}\n" +
             kNet + "  pod_mtu: 1500\n",
         {"network.pod_mtu: 1500 is out of range: expected at most 1400 (uplink MTU 1400)"}},
        // neighbor
        {"neighbor: {refresh_ms: 10000, timeout_ms: 10000}\n" + kNet,
         {"neighbor.timeout_ms: 10000 is out of range: expected 10001..3600000 (more than neighbor.refresh_ms)"}},
        {"neighbor: {timeout_ms: 5000}\n" + kNet, {"neighbor.timeout_ms: 5000 is out of range: expected 10001..3600000"}},
        {"neighbor: {refresh_ms: 30000}\n" + kNet,
         {"neighbor.refresh_ms: 30000 is out of range: expected 100..29999 (less than neighbor.timeout_ms, 30000 by default)"}},
        {"neighbor: {refresh_ms: 99}\n" + kNet, {"neighbor.refresh_ms: 99 is out of range: expected 100..3600000"}},
        {"neighbor: {timeout_ms: 3600001}\n" + kNet, {"neighbor.timeout_ms: 3600001 is out of range"}},
        {"neighbor: {ttl_ms: 5}\n" + kNet, {"neighbor.ttl_ms: unknown key (known keys: refresh_ms, timeout_ms)"}},
    };
    REQUIRE(cases.size() >= 15);
    for (const Case& c : cases) {
        INFO("yaml:\n" << c.yaml);
        const std::string message = error_of(c.yaml);
        CHECK_THAT(message, StartsWith("config.yaml"));
        for (const std::string& part : c.expect)
            CHECK_THAT(message, Contains(part));
        CHECK(message.find('\n') == std::string::npos); // one line
    }
}

TEST_CASE("errors carry the line of the offending value", "[config]") {
    const std::string yaml = "# comment\n" + kNet + "dataplane:\n  mbufs: 8191\n  burst_size: 100\n";
    CHECK(error_of(yaml) == "config.yaml:7: dataplane.burst_size: 100 is out of range: expected 1..64");

    const std::string bad_ip = R"(network:
  pod_cidr: 10.200.0.0/24
  gateway_ip: 10.200.0.1
endpoints:
  - id: default/a
    ip: 10.200.0.11
    netns: a
  - id: default/b
    ip: 10.0.0.300
    netns: b
)";
    CHECK(error_of(bad_ip) ==
          "config.yaml:9: endpoints[1].ip: \"10.0.0.300\" is not valid: expected an IPv4 address like 10.200.0.11");
}

TEST_CASE("YAML syntax errors report the line", "[config]") {
    const std::string unclosed = kNet + "dataplane:\n  worker_lcores: [1, 2\n  mbufs: 8191\n";
    const std::string message = error_of(unclosed);
    CHECK_THAT(message, StartsWith("config.yaml:"));
    CHECK_THAT(message, Contains("invalid YAML"));
    CHECK_THAT(message, Contains("column"));

    const std::string tab = kNet + "dataplane:\n\tmbufs: 8191\n";
    CHECK_THAT(error_of(tab), StartsWith("config.yaml:5: invalid YAML"));

    const std::string bad_indent = "network:\n  pod_cidr: 10.200.0.0/24\n    gateway_ip: 10.200.0.1\n";
    CHECK_THAT(error_of(bad_indent), StartsWith("config.yaml:3: invalid YAML"));
}

TEST_CASE("unknown keys are refused with the known ones listed", "[config]") {
    const std::string message = error_of(kNet + "dataplane:\n  idle_sleep: 100\n");
    CHECK_THAT(message, StartsWith("config.yaml:5: dataplane.idle_sleep: unknown key (known keys: main_lcore, "));
    CHECK_THAT(message, Contains("idle_sleep_us"));
    CHECK_THAT(message, Contains("idle_polls_before_sleep)"));
}

TEST_CASE("duplicate endpoint addresses are refused", "[config]") {
    const std::string yaml = with_endpoint("    ip: 10.200.0.11\n    netns: a\n"
                                           "  - id: default/b\n    ip: 10.200.0.11\n    netns: b\n");
    CHECK(error_of(yaml) == "config.yaml:9: endpoints[1].ip: \"10.200.0.11\" is not valid: "
                            "expected a unique address, but endpoints[0] already uses it");
}

TEST_CASE("endpoints outside the pod CIDR are refused", "[config]") {
    const std::string yaml = with_endpoint("    ip: 10.201.0.11\n    netns: a\n");
    CHECK(error_of(yaml) == "config.yaml:6: endpoints[0].ip: \"10.201.0.11\" is not valid: "
                            "expected an address inside network.pod_cidr 10.200.0.0/24");
}

TEST_CASE("no exception escapes on odd input", "[config]") {
    for (const std::string& text : {std::string(""), std::string("\0\1\2", 3), std::string("{{{{"), std::string("*x"),
                                   std::string("a: &x [*x]"), std::string("? [a]\n: b\n"), std::string("---\n...\n")}) {
        INFO(text);
        Result<Config> r = Config{};
        REQUIRE_NOTHROW(r = parse_config(text, "odd.yaml"));
        CHECK_FALSE(r.ok());
    }
}

TEST_CASE("load_config_file reports files it cannot read", "[config]") {
    auto missing = load_config_file("/nonexistent/podlane.yaml");
    REQUIRE_FALSE(missing.ok());
    CHECK_THAT(missing.error().message, StartsWith("cannot open /nonexistent/podlane.yaml: "));

    auto dir = load_config_file(PODLANE_SOURCE_DIR "/configs");
    REQUIRE_FALSE(dir.ok());
    CHECK_THAT(dir.error().message, Contains("cannot read"));
}

TEST_CASE("validate_endpoint checks one endpoint on its own", "[config]") {
    auto parsed = parse_config(kNet, "x.yaml");
    REQUIRE(parsed.ok());
    const Config& config = *parsed;

    EndpointConfig good;
    good.id = "default/web-1";
    good.ip = *Ipv4Addr::parse("10.200.0.20");
    good.mac = MacAddr::from_ipv4(good.ip);
    good.netns = "pl-web-1";
    good.labels = {{"app", "web"}};
    CHECK(validate_endpoint(good, config, "endpoint").ok());

    auto message = [&](void (*change)(EndpointConfig&)) {
        EndpointConfig ep = good;
        change(ep);
        auto r = validate_endpoint(ep, config, "endpoint");
        return r.ok() ? std::string("(valid)") : r.error().message;
    };
    CHECK(message([](EndpointConfig& ep) { ep.id.clear(); }) == "endpoint.id: \"\" is not valid: expected a non-empty id, like default/web-1");
    CHECK(message([](EndpointConfig& ep) { ep.ip = *Ipv4Addr::parse("10.0.0.5"); }) ==
          "endpoint.ip: \"10.0.0.5\" is not valid: expected an address inside network.pod_cidr 10.200.0.0/24");
    CHECK_THAT(message([](EndpointConfig& ep) { ep.ip = *Ipv4Addr::parse("10.200.0.0"); }),
               StartsWith("endpoint.ip: \"10.200.0.0\" is not valid: expected a host address, not the network address"));
    CHECK_THAT(message([](EndpointConfig& ep) { ep.ip = *Ipv4Addr::parse("10.200.0.255"); }),
               Contains("broadcast address"));
    CHECK_THAT(message([](EndpointConfig& ep) { ep.ip = *Ipv4Addr::parse("10.200.0.1"); }),
               StartsWith("endpoint.ip: \"10.200.0.1\" is not valid: expected an address other than network.gateway_ip"));
    CHECK_THAT(message([](EndpointConfig& ep) { ep.mac = *MacAddr::parse("01:00:5e:00:00:01"); }),
               StartsWith("endpoint.mac: \"01:00:5e:00:00:01\" is not valid"));
    CHECK_THAT(message([](EndpointConfig& ep) { ep.mac = MacAddr{}; }), StartsWith("endpoint.mac: \"00:00:00:00:00:00\""));
    CHECK_THAT(message([](EndpointConfig& ep) { ep.netns.clear(); }), StartsWith("endpoint.netns: \"\" is not valid"));
    CHECK(message([](EndpointConfig& ep) { ep.netns = "/run/netns/x"; }) == "(valid)");
    CHECK_THAT(message([](EndpointConfig& ep) { ep.ifname.clear(); }), StartsWith("endpoint.ifname: \"\" is not valid"));
    CHECK_THAT(message([](EndpointConfig& ep) { ep.ifname = "0123456789abcdef"; }),
               StartsWith("endpoint.ifname: \"0123456789abcdef\" is not valid"));
    CHECK(message([](EndpointConfig& ep) { ep.ifname = "0123456789abcde"; }) == "(valid)");
    CHECK_THAT(message([](EndpointConfig& ep) { ep.ifname = "eth\t0"; }), StartsWith("endpoint.ifname: \"eth\\x090\""));
    CHECK_THAT(message([](EndpointConfig& ep) { ep.labels[""] = "x"; }), StartsWith("endpoint.labels: \"\" is not valid"));

    // The prefix names where the endpoint came from.
    EndpointConfig bad = good;
    bad.id.clear();
    CHECK_THAT(validate_endpoint(bad, config, "endpoints[2]").error().message, StartsWith("endpoints[2].id: "));
}

TEST_CASE("metrics defaults to 127.0.0.1:9962 and takes any address and port", "[config]") {
    auto d = parse_config(kNet, "t");
    REQUIRE(d.ok());
    CHECK(d->metrics.enabled);
    CHECK(d->metrics.listen() == "127.0.0.1:9962");

    auto c = parse_config(kNet + "metrics:\n  enabled: false\n  listen: 0.0.0.0:0\n", "t");
    REQUIRE(c.ok());
    CHECK_FALSE(c->metrics.enabled);
    CHECK(c->metrics.listen() == "0.0.0.0:0");
    CHECK(parse_config(kNet + "metrics:\n", "t")->metrics.listen() == "127.0.0.1:9962");
}

TEST_CASE("bad metrics values are refused with the key, the value and what was expected", "[config]") {
    const std::pair<std::string, std::string> cases[] = {
        {"metrics: {listen: \"localhost:9962\"}",
         "config.yaml:4: metrics.listen: \"localhost:9962\" is not valid: expected an IPv4 address before the port"},
        {"metrics: {listen: 127.0.0.1}",
         "metrics.listen: \"127.0.0.1\" is not valid: expected an IPv4 address and port like 127.0.0.1:9962"},
        {"metrics: {listen: 9962}", "metrics.listen: 9962 is not valid: expected an IPv4 address and port"},
        {"metrics: {listen: \"127.0.0.1:70000\"}",
         "metrics.listen: \"127.0.0.1:70000\" is out of range: expected a port in 0..65535 after the address"},
        {"metrics: {listen: \"127.0.0.1:http\"}",
         "metrics.listen: \"127.0.0.1:http\" is not valid: expected a port after the address"},
        {"metrics: {listen: \"127.0.0.1:\"}", "metrics.listen: \"127.0.0.1:\" is not valid: expected a port after"},
        {"metrics: {listen: \"127.0.0.1:-1\"}", "metrics.listen: \"127.0.0.1:-1\" is not valid: expected a port after"},
        {"metrics: {listen: \"224.0.0.1:9962\"}", "expected a local unicast address or 0.0.0.0 before the port"},
        {"metrics: {listen: [a]}", "metrics.listen: a list is not valid: expected an IPv4 address and port"},
        {"metrics: {enabled: yes}", "metrics.enabled: \"yes\" is not valid: expected true or false"},
        {"metrics: {port: 9962}", "metrics.port: unknown key (known keys: enabled, listen)"},
        {"metrics: on", "metrics: \"on\" is not valid: expected a mapping with keys enabled, listen"},
    };
    for (const auto& [yaml, message] : cases) {
        INFO(yaml);
        CHECK_THAT(error_of(kNet + yaml + "\n"), Contains(message));
    }
}
