// A publish costs what changed (src/control/tables/lb_assembler.cpp): after a
// change to one service of many, every other frontend shard, backend chunk
// and IP shard of the new LbTables is the very object the previous tables
// hold, and the new tables still resolve every service.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <string>

#include <netinet/in.h>

#include <rte_byteorder.h>

#include "control/config/config.h"
#include "control/tables/service_compiler.h"

using namespace podlane;

namespace {

constexpr uint32_t kServices = 3000;
constexpr uint32_t kBackends = 4;

ServiceConfig make(uint32_t s, uint32_t generation) {
    ServiceConfig svc;
    char name[32];
    std::snprintf(name, sizeof name, "ns/svc-%05u", s);
    svc.name = name;
    svc.cluster_ip = Ipv4Addr::from_host(0x0a600000u + s + 1);
    svc.ports.push_back(ServicePortConfig{"http", L4Proto::Tcp, 80, 8080, 0});
    for (uint32_t k = 0; k < kBackends; ++k) {
        BackendConfig b;
        b.ip = Ipv4Addr::from_host(0x0a400000u + s * kBackends + k + (k == 0 ? generation * 0x100000u : 0));
        svc.backends.push_back(b);
    }
    return svc;
}

Config node_config() {
    auto r = parse_config("node: {name: node1}\nnetwork: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.1}\n", "t");
    REQUIRE(r.ok());
    Config c = *r;
    for (uint32_t s = 0; s < kServices; ++s)
        c.services.push_back(make(s, 0));
    return c;
}

/// The backend IPs `t` resolves for service s's ClusterIP, or an empty list.
std::vector<uint32_t> resolve(const LbTables& t, uint32_t s) {
    const Ipv4Addr vip = Ipv4Addr::from_host(0x0a600000u + s + 1);
    const uint32_t fe = t.frontend_by_key.lookup(frontend_key(vip.be, rte_cpu_to_be_16(80), IPPROTO_TCP));
    std::vector<uint32_t> out;
    if (fe == kNotFound)
        return out;
    const LbService& e = t.services[t.frontends[fe].internal];
    for (uint32_t i = 0; i < e.backends_n; ++i)
        out.push_back(t.backends[e.backends[i]].ip.host());
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

TEST_CASE("a one-service change rebuilds its own pieces only; the rest is shared", "[services][sharing]") {
    Config c = node_config();
    ServiceCompileInputs in;
    in.config = &c;
    in.local_pod_cidr = c.network.pod_cidr;
    ServiceCompiler sc;
    REQUIRE(sc.compile_all(in));
    const auto t1 = sc.assemble(in);
    REQUIRE(t1->frontends.size() == kServices);

    const uint32_t changed = 1234;
    c.services[changed] = make(changed, 1); // one backend replaced
    REQUIRE(sc.compile_changed(in, {c.services[changed].name}));
    const auto t2 = sc.assemble(in);
    CHECK(sc.shards_rebuilt() == 1);

    // Frontend shards: only the changed service's differs.
    const Ipv4Addr vip = Ipv4Addr::from_host(0x0a600000u + changed + 1);
    const uint32_t own = LbFrontendShards::shard_of(frontend_key(vip.be, rte_cpu_to_be_16(80), IPPROTO_TCP));
    size_t same = 0;
    for (uint32_t s = 0; s < LbFrontendShards::kShards; ++s) {
        if (s == own)
            CHECK(t1->frontend_shards->shards[s] != t2->frontend_shards->shards[s]);
        else if (t1->frontend_shards->shards[s] == t2->frontend_shards->shards[s])
            ++same;
    }
    CHECK(same == LbFrontendShards::kShards - 1);
    // Backend chunks: the old and the new backend's chunks at most.
    REQUIRE(t1->backends.chunks() <= t2->backends.chunks());
    size_t chunks_new = t2->backends.chunks() - t1->backends.chunks();
    for (uint32_t i = 0; i < t1->backends.chunks(); ++i)
        chunks_new += t1->backends.chunk(i) != t2->backends.chunk(i);
    CHECK(chunks_new <= 2);
    // Backend IP shards: the old and the new address's at most.
    size_t ip_shards_new = 0;
    for (uint32_t i = 0; i < ShardedIpv4Set::kShards; ++i)
        ip_shards_new += t1->backend_ips.shard(i) != t2->backend_ips.shard(i);
    CHECK(ip_shards_new <= 2);
    CHECK(t1->frontend_ips.shard(0) == t2->frontend_ips.shard(0)); // frontends did not change

    // Both tables resolve every service: the old one as it was, the new one with the change.
    for (uint32_t s = 0; s < kServices; ++s) {
        std::vector<uint32_t> want;
        for (uint32_t k = 0; k < kBackends; ++k)
            want.push_back(0x0a400000u + s * kBackends + k + (s == changed && k == 0 ? 0x100000u : 0));
        std::sort(want.begin(), want.end());
        REQUIRE(resolve(*t2, s) == want);
        if (s != changed)
            REQUIRE(resolve(*t1, s) == want);
        REQUIRE(t2->frontend_ips.contains(Ipv4Addr::from_host(0x0a600000u + s + 1)));
    }
    CHECK(t2->backend_ips.contains(Ipv4Addr::from_host(0x0a400000u + changed * kBackends + 0x100000u)));
    CHECK_FALSE(t2->backend_ips.contains(Ipv4Addr::from_host(0x0a400000u + changed * kBackends)));
    CHECK(t1->backend_ips.contains(Ipv4Addr::from_host(0x0a400000u + changed * kBackends)));
}

TEST_CASE("a removed service leaves the tables, and its shard only is rebuilt", "[services][sharing]") {
    Config c = node_config();
    ServiceCompileInputs in;
    in.config = &c;
    ServiceCompiler sc;
    REQUIRE(sc.compile_all(in));
    const auto t1 = sc.assemble(in);
    const std::string gone = c.services[7].name;
    c.services.erase(c.services.begin() + 7);
    REQUIRE(sc.compile_changed(in, {gone}));
    const auto t2 = sc.assemble(in);
    CHECK(sc.shards_rebuilt() == 1);
    CHECK(t2->frontends.size() == kServices - 1);
    CHECK(resolve(*t2, 7).empty());
    CHECK_FALSE(t2->frontend_ips.contains(Ipv4Addr::from_host(0x0a600000u + 7 + 1)));
    CHECK(resolve(*t1, 7).size() == kBackends); // the old tables are untouched
    CHECK(resolve(*t2, 8).size() == kBackends);
}
