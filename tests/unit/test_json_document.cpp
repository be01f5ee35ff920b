// Tests for load_json_document (control/config/json_document.*): a JSON
// value read without yaml-cpp's scanner reads, through the config reader,
// exactly as YAML::Load of the same text does; and for the etcd values that
// take that path.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "control/config/config.h"
#include "control/config/json_document.h"
#include "control/sources/cluster_source.h"
#include "control/sources/etcd/etcd_objects.h"

using namespace podlane;
using Catch::Matchers::Contains;

namespace {

Config node1() {
    auto c = parse_config("node: {name: node1, ip: 192.168.50.11}\n"
                          "uplinks: [{name: eth0, devargs: net_null0}]\n"
                          "network: {pod_cidr: 10.210.1.0/24, gateway_ip: 10.210.1.1}\n",
                          "test");
    REQUIRE(c);
    return *c;
}

/// The same text read both ways.
void same_objects(const std::string& text) {
    INFO(text);
    const Config c = node1();
    auto fast = load_json_document(text);
    REQUIRE(fast);
    auto from_json = parse_cluster_objects(*fast, c, "json");
    auto from_yaml = parse_cluster_objects(text, c, "yaml");
    REQUIRE(static_cast<bool>(from_json) == static_cast<bool>(from_yaml));
    if (!from_yaml)
        return;
    REQUIRE(from_json->services.size() == from_yaml->services.size());
    for (size_t i = 0; i < from_yaml->services.size(); ++i)
        CHECK(from_json->services[i] == from_yaml->services[i]);
    REQUIRE(from_json->nodes.size() == from_yaml->nodes.size());
    for (size_t i = 0; i < from_yaml->nodes.size(); ++i)
        CHECK(from_json->nodes[i] == from_yaml->nodes[i]);
}

} // namespace

TEST_CASE("a JSON document loads into the tree YAML::Load gives the config reader", "[config]") {
    same_objects(R"({"services": [{"name": "default/web", "cluster_ip": "10.96.0.10",
        "ports": [{"name": "http", "port": 80, "target_port": 8080, "protocol": "TCP", "node_port": 30080}],
        "backends": [{"ip": "10.210.2.11"}, {"ip": "10.210.2.12", "state": "terminating"}],
        "session_affinity": "ClientIP", "session_affinity_timeout_s": 600, "external_ips": ["192.168.60.10"],
        "type": "NodePort", "algorithm": "maglev"}]})");
    same_objects(R"({"nodes": [{"name": "node2", "ip": "192.168.50.12", "pod_cidrs": ["10.210.2.0/24"]}]})");
    same_objects(R"({"services": [{"name": "a/b", "cluster_ip": "10.96.0.11", "ports": [{"port": "80"}], "backends": []}]})");
    same_objects(R"({"services": [], "nodes": null})");
    same_objects(R"({"services": [{"name": "a/c", "cluster_ip": "10.96.0.12", "ports": [{"port": 80.0}]}]})");
    same_objects(R"({"services": [{"name": "a/d", "cluster_ip": "10.96.0.13", "ports": [{"port": 80}], "backends": {}}]})");
    // Escapes decode to the same string.
    same_objects(R"({"services": [{"name": "a\/e", "cluster_ip": "10.96.0.14", "ports": [{"port": 80}]}]})");
}

TEST_CASE("a JSON document keeps a repeated key for the reader to refuse; text that is not JSON is nullopt", "[config]") {
    auto doc = load_json_document(R"({"services": [{"name": "a/b", "name": "a/c"}]})");
    REQUIRE(doc);
    auto r = parse_cluster_objects(*doc, node1(), "json");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("services[0].name: duplicate key"));
    CHECK_FALSE(load_json_document("services: [{name: a/b}]"));
    CHECK_FALSE(load_json_document(R"({"services": [)"));
    CHECK_FALSE(load_json_document(""));
}

TEST_CASE("etcd values: JSON takes the quick path, YAML still reads, errors keep key and line", "[etcd]") {
    EtcdObjects objects(node1(), "/podlane/");
    std::vector<std::string> errors;
    const std::string json = R"({"name":"default/web","cluster_ip":"10.96.0.10","ports":[{"port":80}],"backends":[{"ip":"10.210.2.11"}]})";
    const std::string yaml = "{name: default/api, cluster_ip: 10.96.0.11, ports: [{port: 8080}]}"; // flow YAML
    const std::string bad = "{\"name\":\"default/bad\",\n\"cluster_ip\":\"10.96.0.12\",\n\"ports\":[{\"port\":0}]}";
    const std::string twice = R"({"name":"default/twice","name":"default/twice","cluster_ip":"10.96.0.13","ports":[{"port":80}]})";
    ClusterDelta d = objects.apply({{false, {"/podlane/services/default/web", json, 1}},
                                    {false, {"/podlane/services/default/api", yaml, 2}},
                                    {false, {"/podlane/services/default/bad", bad, 3}},
                                    {false, {"/podlane/services/default/twice", twice, 4}}},
                                   errors);
    REQUIRE(d.upsert_services.size() == 2);
    CHECK(d.upsert_services[0].name == "default/web");
    CHECK(d.upsert_services[0].backends[0].ip.str() == "10.210.2.11");
    CHECK(d.upsert_services[1].name == "default/api");
    CHECK(d.upsert_services[1].ports[0].port == 8080);
    REQUIRE(errors.size() == 2);
    // As before the quick path: the key, the line in the value, the field.
    CHECK_THAT(errors[0], Contains("etcd /podlane/services/default/bad:3: services[0].ports[0].port"));
    CHECK_THAT(errors[1], Contains("etcd /podlane/services/default/twice:1: services[0].name: duplicate key"));
}

TEST_CASE("a watch response's last event of a key wins, also in a large response", "[etcd]") {
    EtcdObjects objects(node1(), "/podlane/");
    std::vector<EtcdWatchEvent> events;
    for (int i = 0; i < 3000; ++i) { // a range delete of 3,000 keys, then one of them put again
        events.push_back({true, {"/podlane/services/ns/s" + std::to_string(i), "", 10}});
    }
    events.push_back({false, {"/podlane/services/ns/s7",
                              R"({"name":"ns/s7","cluster_ip":"10.96.0.10","ports":[{"port":80}]})", 11}});
    std::vector<std::string> errors;
    ClusterDelta d = objects.apply(events, errors);
    CHECK(errors.empty());
    CHECK(d.delete_services.size() == 2999);
    REQUIRE(d.upsert_services.size() == 1);
    CHECK(d.upsert_services[0].name == "ns/s7");
}
