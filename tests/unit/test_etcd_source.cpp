// Tests for the etcd source's pure parts (src/control/sources/etcd/etcd_client.cpp,
// etcd_objects.cpp) against answers recorded from etcd 3.4's JSON gateway
// (tests/data/etcd/).
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "control/config/config.h"
#include "control/sources/etcd/etcd_client.h"
#include "control/sources/etcd/etcd_objects.h"

#ifndef PODLANE_SOURCE_DIR
#error "PODLANE_SOURCE_DIR must be defined"
#endif

using namespace podlane;
using Catch::Matchers::Contains;
using Json = nlohmann::json;

namespace {

std::string fixture(const std::string& name) {
    std::ifstream f(std::string(PODLANE_SOURCE_DIR) + "/tests/data/etcd/" + name);
    REQUIRE(f);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

Config node1() {
    auto c = parse_config("node: {name: node1, ip: 192.168.50.11}\n"
                          "uplinks: [{name: eth0, devargs: net_null0}]\n"
                          "network: {pod_cidr: 10.210.1.0/24, gateway_ip: 10.210.1.1}\n",
                          "test");
    REQUIRE(c);
    return *c;
}

EtcdWatchEvent put(const std::string& key, const std::string& value) { return {false, {key, value, 1}}; }
EtcdWatchEvent del(const std::string& key) { return {true, {key, "", 1}}; }

} // namespace

TEST_CASE("base64 and prefix ends as etcd's gateway needs them", "[etcd]") {
    for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "/podlane/services/default/web",
                                                        std::string("\x00\xff\x10", 3)})
        CHECK(base64_decode(base64_encode(s)) == s);
    CHECK(base64_encode("/podlane/x") == "L3BvZGxhbmUveA==");
    CHECK_FALSE(base64_decode("L3BvZGxhbmUveA="));
    CHECK_FALSE(base64_decode("L3Bv*GxhbmUveA=="));
    CHECK(etcd_prefix_end("/podlane/") == "/podlane0");
    CHECK(etcd_prefix_end(std::string("a\xff", 2)) == "b");
    CHECK(parse_etcd_url("http://192.168.50.2:2379")->host == "192.168.50.2");
    CHECK_FALSE(parse_etcd_url("http://192.168.50.2:2379")->tls);
    CHECK(parse_etcd_url("https://etcd.example:2379")->tls);
    CHECK(parse_etcd_url("https://etcd.example:2379")->port == "2379");
    CHECK_FALSE(parse_etcd_url("ftp://x:1"));
    CHECK_FALSE(parse_etcd_url("https://x:1/path"));
    CHECK_FALSE(parse_etcd_url("http://x"));
}

TEST_CASE("a recorded range answer decodes to keys, values and the revision", "[etcd]") {
    auto r = parse_range_response(Json::parse(fixture("range.json")));
    REQUIRE(r);
    CHECK(r->revision == 6);
    REQUIRE(r->kvs.size() == 2);
    CHECK(r->kvs[0].key == "/podlane/nodes/node2");
    CHECK_THAT(r->kvs[0].value, Contains("192.168.50.12"));
    CHECK(r->kvs[1].key == "/podlane/services/default/web");
    CHECK(r->kvs[1].mod_revision == 5);
}

TEST_CASE("recorded watch messages: created, PUT without a type, DELETE, compaction", "[etcd]") {
    std::istringstream lines(fixture("watch.jsonl"));
    std::vector<EtcdWatchResponse> got;
    for (std::string line; std::getline(lines, line);) {
        auto r = parse_watch_message(Json::parse(line));
        REQUIRE(r);
        got.push_back(*r);
    }
    REQUIRE(got.size() == 4);
    CHECK(got[0].created);
    CHECK(got[0].events.empty());
    REQUIRE(got[1].events.size() == 1);
    CHECK_FALSE(got[1].events[0].deleted);
    CHECK(got[1].events[0].kv.key == "/podlane/services/default/web");
    CHECK(got[1].revision == 3);
    REQUIRE(got[2].events.size() == 1);
    CHECK(got[2].events[0].deleted);
    CHECK(got[2].events[0].kv.key == "/podlane/nodes/node2");
    CHECK(got[3].canceled);
    CHECK(got[3].compact_revision == 5);
    CHECK_FALSE(parse_watch_message(Json{{"error", {{"message", "boom"}}}}));
}

TEST_CASE("etcd objects become a replace delta, this node and bad values left out", "[etcd]") {
    EtcdObjects objects(node1(), "/podlane/");
    auto range = parse_range_response(Json::parse(fixture("range.json")));
    REQUIRE(range);
    range->kvs.push_back({"/podlane/nodes/node1", R"({"name":"node1","ip":"192.168.50.11","pod_cidrs":["10.210.1.0/24"]})", 7});
    range->kvs.push_back({"/podlane/services/default/bad", R"({"name":"default/bad","cluster_ip":"10.96.0.99","ports":[{"port":0}]})", 8});
    range->kvs.push_back({"/podlane/ipam/blocks/10.210.1.0-24", "node1", 9});
    std::vector<std::string> errors;
    ClusterDelta d = objects.load(range->kvs, errors);
    CHECK(d.replace);
    REQUIRE(d.upsert_nodes.size() == 1);
    CHECK(d.upsert_nodes[0].name == "node2");
    REQUIRE(d.upsert_services.size() == 1);
    CHECK(d.upsert_services[0].name == "default/web");
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Contains("etcd /podlane/services/default/bad") && Contains("port"));
}

TEST_CASE("watch events become upserts and deletes; a key's last event wins", "[etcd]") {
    EtcdObjects objects(node1(), "/podlane/");
    const std::string web = R"({"name":"default/web","cluster_ip":"10.96.0.10","ports":[{"port":80}],"backends":[{"ip":"10.210.2.11"}]})";
    std::vector<std::string> errors;
    ClusterDelta d = objects.apply({put("/podlane/services/default/web", web), del("/podlane/nodes/node3"),
                                    put("/podlane/services/default/gone", web), del("/podlane/services/default/gone")},
                                   errors);
    CHECK_FALSE(d.replace);
    REQUIRE(d.upsert_services.size() == 1);
    CHECK(d.upsert_services[0].backends[0].ip.str() == "10.210.2.11");
    CHECK(d.delete_nodes == std::vector<std::string>{"node3"});
    CHECK(d.delete_services == std::vector<std::string>{"default/gone"});
    CHECK(errors.empty());
    // A value whose name is not its key's changes nothing.
    d = objects.apply({put("/podlane/services/default/other", web)}, errors);
    CHECK(d.empty());
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Contains("does not match the key"));
}
