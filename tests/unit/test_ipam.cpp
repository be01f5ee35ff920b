// Tests for cluster-pool IPAM (src/control/pods/ipam.cpp).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "control/pods/ipam.h"

using namespace podlane;
using Catch::Matchers::Contains;

namespace {

Ipv4Prefix prefix(const char* text) {
    auto p = Ipv4Prefix::parse(text);
    REQUIRE(p);
    return *p;
}

/// The reference hash the allocator is specified with (FNV-1a, 32 bits).
uint32_t fnv1a(const std::string& s) {
    uint32_t h = 2166136261u;
    for (unsigned char c : s)
        h = (h ^ c) * 16777619u;
    return h;
}

/// `count` distinct node-like names ("a-z0-9.-", 1..20 characters).
std::vector<std::string> random_names(std::mt19937& rng, size_t count) {
    static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789.-";
    std::uniform_int_distribution<size_t> length(1, 20), pick(0, sizeof kChars - 2);
    std::set<std::string> names;
    while (names.size() < count) {
        std::string name(length(rng), ' ');
        for (char& c : name)
            c = kChars[pick(rng)];
        names.insert(name);
    }
    std::vector<std::string> out(names.begin(), names.end());
    std::shuffle(out.begin(), out.end(), rng);
    return out;
}

/// The block's index in the pool.
uint64_t index_of(const Ipv4Prefix& pool, const Ipv4Prefix& block) {
    return (block.addr.host() - pool.addr.host()) >> (32 - block.len);
}

struct PoolCase {
    const char* pool;
    uint8_t mask;
};

} // namespace

TEST_CASE("the reference hash is FNV-1a 32", "[ipam]") {
    CHECK(fnv1a("") == 0x811c9dc5u);
    CHECK(fnv1a("a") == 0xe40c292cu);
    CHECK(fnv1a("foobar") == 0xbf9cf968u);
}

TEST_CASE("a node's preferred block is FNV-1a of its name mod the block count", "[ipam]") {
    // fnv1a("a") = 0xe40c292c; 65536 blocks of /24 in a /8: index 0x292c = 10540 = 41 * 256 + 44.
    auto r = allocate_cluster_pool(prefix("10.0.0.0/8"), 24, {"a"});
    REQUIRE(r.ok());
    CHECK(r->at("a").str() == "10.41.44.0/24");

    auto three = allocate_cluster_pool(prefix("10.0.0.0/16"), 24, {"node3", "node1", "node2"});
    REQUIRE(three.ok());
    CHECK(*three == std::map<std::string, Ipv4Prefix>{{"node1", prefix("10.0.116.0/24")},
                                                       {"node2", prefix("10.0.45.0/24")},
                                                       {"node3", prefix("10.0.154.0/24")}});
}

TEST_CASE("random node sets get disjoint blocks of the pool, whatever their order", "[ipam]") {
    const PoolCase pools[] = {
        {"10.0.0.0/8", 24},    // 65536 blocks: collisions are rare
        {"10.0.0.0/16", 24},   // 256 blocks: collisions are common, exhaustion above 256 nodes
        {"172.16.0.0/12", 26}, // 16384 blocks
        {"10.200.0.0/20", 26}, // 64 blocks
        {"192.168.0.0/16", 20},// 16 blocks
        {"0.0.0.0/0", 32},     // 2^32 blocks of one address
        {"10.0.0.0/24", 25},   // 2 blocks
    };
    std::mt19937 rng(20240611);
    std::uniform_int_distribution<size_t> node_count(1, 200);
    for (const PoolCase& pc : pools) {
        const Ipv4Prefix pool = prefix(pc.pool);
        const uint64_t blocks = uint64_t{1} << (pc.mask - pool.len);
        for (int round = 0; round < 40; ++round) {
            const std::vector<std::string> names = random_names(rng, node_count(rng));
            INFO("pool " << pc.pool << " /" << int(pc.mask) << ", " << names.size() << " nodes");
            auto r = allocate_cluster_pool(pool, pc.mask, names);
            if (names.size() > blocks) {
                REQUIRE_FALSE(r.ok());
                CHECK_THAT(r.error().message, Contains("has " + std::to_string(blocks) + " blocks of /" +
                                                       std::to_string(pc.mask) + " for " + std::to_string(names.size()) + " nodes"));
                continue;
            }
            REQUIRE(r.ok());
            const auto& alloc = *r;
            REQUIRE(alloc.size() == names.size());
            std::set<uint32_t> starts;
            for (const std::string& name : names) {
                REQUIRE(alloc.count(name) == 1);
                const Ipv4Prefix& block = alloc.at(name);
                CHECK(block.len == pc.mask);
                CHECK(Ipv4Prefix::parse(block.str()) == block); // no host bits set
                CHECK(pool.contains(block.addr));
                starts.insert(block.addr.host());
            }
            // Equal-sized aligned blocks are disjoint exactly when their starts differ.
            CHECK(starts.size() == names.size());

            // A node whose preferred block no node sorting before it holds gets that block.
            std::set<uint64_t> taken;
            for (const auto& [name, block] : alloc) { // std::map: sorted by name
                const uint64_t preferred = fnv1a(name) % blocks;
                if (!taken.count(preferred))
                    CHECK(index_of(pool, block) == preferred);
                taken.insert(index_of(pool, block));
            }

            // Deterministic: the same set in another order gives the same blocks.
            std::vector<std::string> shuffled = names;
            std::shuffle(shuffled.begin(), shuffled.end(), rng);
            auto again = allocate_cluster_pool(pool, pc.mask, shuffled);
            REQUIRE(again.ok());
            CHECK(*again == alloc);
        }
    }
}

TEST_CASE("a joining node whose preferred block is free moves no one", "[ipam]") {
    // Adding a node can move others when it takes their block (and those can move
    // more), so only this much is promised; determinism is checked above.
    std::mt19937 rng(7);
    const Ipv4Prefix pool = prefix("10.0.0.0/16");
    const uint64_t blocks = 256;
    int free_joins = 0, contested_joins = 0;
    for (int round = 0; round < 300; ++round) {
        std::vector<std::string> names = random_names(rng, 1 + round % 120);
        const std::string joiner = names.back();
        names.pop_back();
        auto before = allocate_cluster_pool(pool, 24, names);
        REQUIRE(before.ok());
        names.push_back(joiner);
        auto after = allocate_cluster_pool(pool, 24, names);
        REQUIRE(after.ok());

        std::set<uint64_t> used;
        for (const auto& [name, block] : *before)
            used.insert(index_of(pool, block));
        if (used.count(fnv1a(joiner) % blocks)) {
            ++contested_joins;
            continue;
        }
        ++free_joins;
        for (const auto& [name, block] : *before)
            CHECK(after->at(name) == block);
        CHECK(index_of(pool, after->at(joiner)) == fnv1a(joiner) % blocks);
    }
    CHECK(free_joins > 0);
    CHECK(contested_joins > 0);
}

TEST_CASE("a pool with exactly as many blocks as nodes is filled", "[ipam]") {
    std::mt19937 rng(99);
    for (auto [pool_text, mask, count] : {std::tuple{"10.0.0.0/24", 26, 4}, std::tuple{"10.0.0.0/16", 24, 256},
                                         std::tuple{"10.9.0.0/29", 30, 2}, std::tuple{"10.9.0.4/30", 31, 2}}) {
        INFO(pool_text << " /" << mask);
        const Ipv4Prefix pool = prefix(pool_text);
        auto r = allocate_cluster_pool(pool, static_cast<uint8_t>(mask), random_names(rng, static_cast<size_t>(count)));
        REQUIRE(r.ok());
        std::set<uint64_t> indexes;
        for (const auto& [name, block] : *r)
            indexes.insert(index_of(pool, block));
        CHECK(indexes.size() == static_cast<size_t>(count));
        CHECK(*indexes.rbegin() == static_cast<uint64_t>(count - 1)); // 0..count-1, all used
    }
}

TEST_CASE("allocation errors", "[ipam]") {
    auto full = allocate_cluster_pool(prefix("10.0.0.0/24"), 26, {"a", "b", "c", "d", "e"});
    REQUIRE_FALSE(full.ok());
    CHECK(full.error().message == "cluster pool 10.0.0.0/24 has 4 blocks of /26 for 5 nodes");

    auto small = allocate_cluster_pool(prefix("10.0.0.0/29"), 30, {"a", "b", "c"});
    REQUIRE_FALSE(small.ok());
    CHECK(small.error().message == "cluster pool 10.0.0.0/29 has 2 blocks of /30 for 3 nodes");

    auto unsplit = allocate_cluster_pool(prefix("10.0.0.0/30"), 30, {"a"});
    REQUIRE_FALSE(unsplit.ok());
    CHECK(unsplit.error().message == "cluster pool 10.0.0.0/30 cannot be split into blocks of /30: expected a block length of 31..32");
    CHECK_FALSE(allocate_cluster_pool(prefix("10.0.0.0/8"), 4, {"a"}).ok());
    CHECK_FALSE(allocate_cluster_pool(prefix("10.0.0.0/8"), 33, {"a"}).ok());

    auto dup = allocate_cluster_pool(prefix("10.0.0.0/8"), 24, {"b", "a", "b"});
    REQUIRE_FALSE(dup.ok());
    CHECK(dup.error().message == "node name \"b\" is listed twice");

    auto none = allocate_cluster_pool(prefix("10.0.0.0/8"), 24, {});
    REQUIRE(none.ok());
    CHECK(none->empty());
}
