// Tests for the source section and parse_cluster_objects (the nodes and
// services a cluster-state source hands the agent).
#include <catch2/catch.hpp>

#include <string>

#include "control/sources/cluster_source.h"
#include "control/config/config.h"

using namespace podlane;
using Catch::Matchers::Contains;

namespace {

const std::string kNode = "node: {name: node1, ip: 192.168.50.11}\n"
                          "uplinks:\n  - {name: eth0, devargs: net_null0}\n";
const std::string kNet = "network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.1}\n";

Config node_config(const std::string& extra = kNet) {
    auto c = parse_config(kNode + extra, "test");
    if (!c)
        FAIL(c.error().message);
    REQUIRE(c);
    return *c;
}

} // namespace

TEST_CASE("the source section defaults to the hot-reloaded config file", "[config]") {
    const Config c = node_config();
    CHECK(c.source.kind == SourceKind::File);
    CHECK(c.source.file_watch);
    CHECK(c.source.file_poll_ms == 500);
    CHECK(c.source.etcd.endpoints == std::vector<std::string>{"http://127.0.0.1:2379"});
    CHECK(c.source.etcd.prefix == "/podlane/");
}

TEST_CASE("the source section reads etcd and kubernetes settings", "[config]") {
    const Config c = node_config(kNet + "source:\n  kind: etcd\n  file: {watch: false}\n"
                                 "  etcd: {endpoints: [http://10.0.0.1:2379, http://10.0.0.2:2379], prefix: /lab}\n"
                                 "  kubernetes: {server: https://127.0.0.1:6443, timeout_ms: 1000}\n");
    CHECK(c.source.kind == SourceKind::Etcd);
    CHECK_FALSE(c.source.file_watch);
    CHECK(c.source.etcd.endpoints.size() == 2);
    CHECK(c.source.etcd.prefix == "/lab/");
    CHECK(c.source.kubernetes.server == "https://127.0.0.1:6443");
    CHECK(c.source.kubernetes.timeout_ms == 1000);
}

TEST_CASE("bad source settings name the key", "[config]") {
    auto r = parse_config(kNode + kNet + "source: {kind: zookeeper}\n", "test");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("source.kind") && Contains("file, etcd or kubernetes"));
    r = parse_config(kNode + kNet + "source: {etcd: {endpoints: [127.0.0.1:2379]}}\n", "test");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("source.etcd.endpoints[0]") && Contains("http://127.0.0.1:2379"));
}

TEST_CASE("parse_cluster_objects reads nodes and services in the config schema", "[config]") {
    const Config c = node_config();
    auto r = parse_cluster_objects("nodes:\n"
                                   "  - {name: node1, ip: 192.168.50.11, pod_cidrs: [10.200.0.0/24]}\n"
                                   "  - {name: node2, ip: 192.168.50.12, pod_cidrs: [10.200.1.0/24]}\n"
                                   "services:\n"
                                   "  - name: default/web\n"
                                   "    cluster_ip: 10.96.0.10\n"
                                   "    ports: [{port: 80, target_port: 8080}]\n"
                                   "    backends: [{ip: 10.200.1.5}]\n",
                                   c, "etcd");
    REQUIRE(r);
    REQUIRE(r->nodes.size() == 1); // this node's own entry is skipped
    CHECK(r->nodes[0].name == "node2");
    REQUIRE(r->services.size() == 1);
    CHECK(r->services[0].name == "default/web");
    CHECK(r->services[0].ports[0].target_port == 8080);
    CHECK(r->services[0].backends[0].ip.str() == "10.200.1.5");
}

TEST_CASE("parse_cluster_objects accepts JSON and allocated pod CIDRs under cluster-pool", "[config]") {
    const Config c = node_config("routing: {native_routing_cidr: 10.0.0.0/8}\n"
                                 "ipam: {mode: cluster-pool, cluster_pool_cidr: 10.200.0.0/16}\n");
    auto r = parse_cluster_objects(R"({"nodes": [{"name": "node3", "ip": "192.168.50.13", "pod_cidrs": ["10.200.7.0/24"]}]})",
                                   c, "etcd");
    REQUIRE(r);
    REQUIRE(r->nodes.size() == 1);
    CHECK(r->nodes[0].pod_cidrs[0].str() == "10.200.7.0/24");
}

TEST_CASE("parse_cluster_objects refuses bad objects with the key path and source", "[config]") {
    const Config c = node_config();
    auto r = parse_cluster_objects("services:\n  - {name: default/web, cluster_ip: 10.96.0.10, ports: [{port: 0}]}\n", c,
                                   "etcd /podlane/services/default/web");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("etcd /podlane/services/default/web") && Contains("services[0].ports[0].port"));
    r = parse_cluster_objects("endpoints: []\n", c, "etcd");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("endpoints"));
}
