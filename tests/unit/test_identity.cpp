// Security identities (reserved table, label-set hashing) and the ipcache model.
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "control/tables/identity.h"
#include "control/tables/ipcache.h"

using namespace podlane;

namespace {

using Labels = std::map<std::string, std::string>;

Ipv4Addr ip(const char* text) { return *Ipv4Addr::parse(text); }
Ipv4Prefix prefix(const char* text) { return *Ipv4Prefix::parse(text); }

EndpointConfig endpoint(const char* id, const char* addr, Labels labels) {
    EndpointConfig ep;
    ep.id = id;
    ep.ip = ip(addr);
    ep.mac = MacAddr::from_ipv4(ep.ip);
    ep.netns = std::string("pod-") + id;
    ep.labels = std::move(labels);
    return ep;
}

PeerNodeConfig peer(const char* name, const char* addr, std::vector<Ipv4Prefix> cidrs) {
    PeerNodeConfig p;
    p.name = name;
    p.ip = ip(addr);
    p.pod_cidrs = std::move(cidrs);
    return p;
}

/// node1 of a three-node cluster, built directly (no YAML).
Config three_node_config() {
    Config c;
    c.node_name = "node1";
    c.node_ip = ip("192.168.50.11");
    c.network.pod_cidr = prefix("10.200.0.0/24");
    c.network.gateway_ip = ip("10.200.0.1");
    c.nodes = {peer("node2", "192.168.50.12", {prefix("10.200.1.0/24")}),
               peer("node3", "192.168.50.13", {prefix("10.200.2.0/24")})};
    return c;
}

std::vector<EndpointConfig> three_endpoints() {
    return {endpoint("web-1", "10.200.0.5", {{"app", "web"}}), endpoint("web-2", "10.200.0.6", {{"app", "web"}}),
            endpoint("db", "10.200.0.7", {{"app", "db"}, {"tier", "back"}})};
}

} // namespace

TEST_CASE("identity: reserved identities are Cilium's numbers and names", "[identity]") {
    const std::vector<std::pair<uint32_t, std::string>> expected = {
        {1, "host"},    {2, "world"},          {3, "unmanaged"}, {4, "health"},      {5, "init"},
        {6, "remote-node"}, {7, "kube-apiserver"}, {8, "ingress"}, {9, "world-ipv4"}, {10, "world-ipv6"}};
    REQUIRE(kReservedIdentities.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        CHECK(kReservedIdentities[i].id == expected[i].first);
        CHECK(std::string(kReservedIdentities[i].name) == expected[i].second);
        CHECK(identity_name(expected[i].first) == "reserved:" + expected[i].second);
    }
    CHECK(kIdentityHost == 1);
    CHECK(kIdentityWorld == 2);
    CHECK(kIdentityRemoteNode == 6);
    CHECK(identity_name(0).empty());
    CHECK(identity_name(11).empty());
    CHECK(identity_name(256).empty());
    CHECK(identity_name(identity_for_labels({{"app", "web"}})).empty());
}

TEST_CASE("identity: label identities are deterministic and ignore label order", "[identity]") {
    // Pinned values: identities travel between nodes (VNI), so the hash must not drift.
    CHECK(canonical_labels({}) == "");
    CHECK(canonical_labels({{"tier", "front"}, {"app", "web"}}) == "app=web;tier=front");
    CHECK(identity_for_labels({}) == 15557);
    CHECK(identity_for_labels({{"app", "web"}}) == 39323);
    CHECK(identity_for_labels({{"app", "db"}}) == 12933);
    CHECK(identity_for_labels({{"app", "web"}, {"tier", "front"}}) == 25690);

    Labels forward, backward;
    for (const char* k : {"a", "b", "c", "io.kubernetes.pod.namespace", "z"})
        forward.emplace(k, std::string("v-") + k);
    for (const char* k : {"z", "io.kubernetes.pod.namespace", "c", "b", "a"})
        backward.emplace(k, std::string("v-") + k);
    CHECK(identity_for_labels(forward) == identity_for_labels(backward));
    CHECK(identity_for_labels(forward) == identity_for_labels(forward));

    CHECK(identity_for_labels({{"app", "web"}}) != identity_for_labels({{"app", "web"}, {"tier", "front"}}));
    CHECK(identity_for_labels({{"app", "web"}}) != identity_for_labels({{"app", "db"}}));
}

TEST_CASE("identity: label identities stay in 256..65535 and rarely collide", "[identity]") {
    std::map<uint32_t, int> seen;
    const int n = 1000;
    for (int i = 0; i < n; ++i) {
        Labels labels{{"app", "app-" + std::to_string(i)},
                      {"io.kubernetes.pod.namespace", "ns-" + std::to_string(i % 7)}};
        if (i % 3 == 0)
            labels["tier"] = "t" + std::to_string(i % 5);
        uint32_t id = identity_for_labels(labels);
        CHECK(id >= kMinLabelIdentity);
        CHECK(id <= kMaxLabelIdentity);
        CHECK(identity_name(id).empty());
        ++seen[id];
    }
    int colliding_pairs = 0;
    for (const auto& [id, count] : seen)
        colliding_pairs += count * (count - 1) / 2;
    // Birthday bound: n(n-1)/2 pairs over 65280 values -> 7.65 expected colliding
    // pairs (Poisson); 20 or more has probability ~1e-4 for a good hash.
    double expected = n * (n - 1) / 2.0 / 65280.0;
    INFO("colliding pairs: " << colliding_pairs << " (expected about " << expected << ")");
    CHECK(colliding_pairs <= 20);
    CHECK(seen.size() >= static_cast<std::size_t>(n - 20));
}

TEST_CASE("ipcache: built from a three-node config", "[identity]") {
    Config config = three_node_config();
    auto eps = three_endpoints();
    auto ipcache = build_ipcache(config, eps);

    struct Row {
        const char* prefix;
        uint32_t identity;
        const char* tunnel;
        const char* source;
    };
    uint32_t web = identity_for_labels({{"app", "web"}});
    uint32_t db = identity_for_labels({{"app", "db"}, {"tier", "back"}});
    const std::vector<Row> expected = {
        {"10.200.0.0/24", kIdentityWorld, "0.0.0.0", "local-pod-cidr"},
        {"10.200.0.1/32", kIdentityHost, "0.0.0.0", "node"},
        {"10.200.0.5/32", web, "0.0.0.0", "local-endpoint"},
        {"10.200.0.6/32", web, "0.0.0.0", "local-endpoint"},
        {"10.200.0.7/32", db, "0.0.0.0", "local-endpoint"},
        {"10.200.1.0/24", kIdentityWorld, "192.168.50.12", "remote-pod-cidr"},
        {"10.200.2.0/24", kIdentityWorld, "192.168.50.13", "remote-pod-cidr"},
        {"192.168.50.11/32", kIdentityHost, "0.0.0.0", "node"},
        {"192.168.50.12/32", kIdentityRemoteNode, "192.168.50.12", "node"},
        {"192.168.50.13/32", kIdentityRemoteNode, "192.168.50.13", "node"},
    };
    REQUIRE(ipcache.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        INFO("entry " << i << ": " << ipcache[i].prefix.str());
        CHECK(ipcache[i].prefix.str() == expected[i].prefix);
        CHECK(ipcache[i].identity == expected[i].identity);
        CHECK(ipcache[i].tunnel_endpoint.str() == expected[i].tunnel);
        CHECK(ipcache[i].source == expected[i].source);
    }

    SECTION("longest-prefix lookup prefers a /32 over the /24 around it") {
        const IpcacheEntry* e = ipcache_lookup(ipcache, ip("10.200.0.5"));
        REQUIRE(e);
        CHECK(e->prefix.str() == "10.200.0.5/32");
        CHECK(e->identity == web);

        e = ipcache_lookup(ipcache, ip("10.200.0.99")); // in our PodCIDR, not an endpoint
        REQUIRE(e);
        CHECK(e->prefix.str() == "10.200.0.0/24");
        CHECK(e->tunnel_endpoint.is_zero());

        e = ipcache_lookup(ipcache, ip("10.200.2.40"));
        REQUIRE(e);
        CHECK(e->identity == kIdentityWorld);
        CHECK(e->tunnel_endpoint.str() == "192.168.50.13");

        e = ipcache_lookup(ipcache, ip("192.168.50.12"));
        REQUIRE(e);
        CHECK(e->identity == kIdentityRemoteNode);

        CHECK(ipcache_lookup(ipcache, ip("8.8.8.8")) == nullptr);
        CHECK(ipcache_lookup(ipcache, ip("10.200.3.1")) == nullptr);
    }

    SECTION("native routing records the peer as the next hop all the same") {
        config.routing.mode = RoutingMode::Native;
        config.routing.native_routing_cidr = prefix("10.200.0.0/16");
        auto native = build_ipcache(config, eps);
        REQUIRE(native.size() == ipcache.size());
        for (std::size_t i = 0; i < native.size(); ++i) {
            CHECK(native[i].prefix == ipcache[i].prefix);
            CHECK(native[i].tunnel_endpoint == ipcache[i].tunnel_endpoint);
        }
    }

    SECTION("a prefix given twice keeps the first source; peers without an IP and a zero node IP are skipped") {
        config.node_ip = Ipv4Addr{};
        config.nodes.push_back(peer("node4", "0.0.0.0", {prefix("10.200.4.0/24")}));
        config.nodes.push_back(peer("node5", "192.168.50.15", {prefix("10.200.0.0/24")})); // our PodCIDR
        eps.push_back(endpoint("odd", "192.168.50.12", {{"app", "odd"}}));                // a peer's node IP
        auto odd = build_ipcache(config, eps);
        CHECK(ipcache_lookup(odd, ip("192.168.50.11")) == nullptr);
        CHECK(ipcache_lookup(odd, ip("10.200.4.1")) == nullptr);
        CHECK(ipcache_lookup(odd, ip("10.200.0.99"))->source == "local-pod-cidr");
        CHECK(ipcache_lookup(odd, ip("192.168.50.12"))->source == "local-endpoint");
        CHECK(ipcache_lookup(odd, ip("192.168.50.15"))->identity == kIdentityRemoteNode);
    }
}

TEST_CASE("ipcache and identity list: JSON shapes", "[identity]") {
    Config config = three_node_config();
    auto eps = three_endpoints();

    Json ipcache = ipcache_json(config, eps);
    REQUIRE(ipcache.is_array());
    REQUIRE(ipcache.size() == 10);
    CHECK(ipcache == ipcache_json(build_ipcache(config, eps)));
    CHECK(ipcache[1] == Json{{"prefix", "10.200.0.1/32"},
                             {"identity", 1},
                             {"identity_name", "reserved:host"},
                             {"tunnel_endpoint", "0.0.0.0"},
                             {"source", "node"}});
    CHECK(ipcache[2]["identity_name"] == "");
    CHECK(ipcache[5] == Json{{"prefix", "10.200.1.0/24"},
                             {"identity", 2},
                             {"identity_name", "reserved:world"},
                             {"tunnel_endpoint", "192.168.50.12"},
                             {"source", "remote-pod-cidr"}});

    Json ids = identity_list_json(config, eps);
    REQUIRE(ids.is_array());
    REQUIRE(ids.size() == kReservedIdentities.size() + 2);
    CHECK(ids[0] == Json{{"id", 1}, {"labels", Json::array({"reserved:host"})}, {"reserved", true}, {"endpoints", 0}});
    CHECK(ids[9]["labels"] == Json::array({"reserved:world-ipv6"}));
    for (std::size_t i = 1; i < ids.size(); ++i)
        CHECK(ids[i - 1]["id"].get<uint32_t>() <= ids[i]["id"].get<uint32_t>());
    std::map<uint32_t, Json> by_id;
    for (const auto& id : ids)
        by_id[id["id"].get<uint32_t>()] = id;
    uint32_t web = identity_for_labels({{"app", "web"}});
    uint32_t db = identity_for_labels({{"app", "db"}, {"tier", "back"}});
    CHECK(by_id[web] == Json{{"id", web}, {"labels", Json::array({"app=web"})}, {"reserved", false}, {"endpoints", 2}, {"remote_endpoints", 0}});
    CHECK(by_id[db] ==
          Json{{"id", db}, {"labels", Json::array({"app=db", "tier=back"})}, {"reserved", false}, {"endpoints", 1},
               {"remote_endpoints", 0}});

    SECTION("no endpoints: only the reserved identities; an unlabelled endpoint gets its own entry") {
        CHECK(identity_list_json(config, {}).size() == kReservedIdentities.size());
        Json one = identity_list_json(config, {endpoint("bare", "10.200.0.9", {})});
        REQUIRE(one.size() == kReservedIdentities.size() + 1);
        CHECK(one.back() == Json{{"id", identity_for_labels({})}, {"labels", Json::array()}, {"reserved", false},
                                 {"endpoints", 1}, {"remote_endpoints", 0}});
    }
}
