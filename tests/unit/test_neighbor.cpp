// The control thread's neighbour cache, driven by an injected clock.
#include <catch2/catch.hpp>

#include "control/ports/neighbor_cache.h"

using namespace podlane;
using namespace std::chrono_literals;

namespace {
const Ipv4Addr kPeer = *Ipv4Addr::parse("192.168.50.12");
const Ipv4Addr kOther = *Ipv4Addr::parse("192.168.50.77");
const MacAddr kMac = *MacAddr::parse("02:00:00:00:00:12");
const MacAddr kMac2 = *MacAddr::parse("02:00:00:00:00:99");
constexpr NeighborConfig kTimers{.refresh_ms = 2000, .timeout_ms = 6000};

bool probes(const NeighborCache::Tick& t, Ipv4Addr ip) {
    return std::find(t.probe.begin(), t.probe.end(), ip) != t.probe.end();
}
} // namespace

TEST_CASE("a wanted next hop is probed every second until it answers", "[neighbor]") {
    NeighborCache nc(kTimers);
    const auto t0 = NeighborCache::Clock::time_point{} + 1h;
    nc.set_wanted({kPeer}, 0);
    CHECK(probes(nc.tick(t0), kPeer));
    CHECK_FALSE(probes(nc.tick(t0 + 500ms), kPeer));
    CHECK(probes(nc.tick(t0 + 1s), kPeer));
    CHECK_FALSE(nc.lookup(kPeer));
    nc.tick(t0 + 2s);
    CHECK(nc.entries().at(kPeer).state == NeighborState::Failed);

    CHECK(nc.learn(kPeer, kMac, 0, t0 + 2500ms)); // usable MAC appeared
    CHECK(nc.lookup(kPeer) == kMac);
    CHECK(nc.entries().at(kPeer).state == NeighborState::Reachable);
    CHECK_FALSE(nc.learn(kPeer, kMac, 0, t0 + 2600ms)); // same MAC: nothing to republish
    CHECK(nc.learn(kPeer, kMac2, 0, t0 + 2700ms));      // moved: republish
}

TEST_CASE("entries go stale, are re-probed and expire when nothing answers", "[neighbor]") {
    NeighborCache nc(kTimers);
    const auto t0 = NeighborCache::Clock::time_point{} + 1h;
    nc.set_wanted({kPeer}, 0);
    nc.learn(kPeer, kMac, 0, t0);
    auto t = nc.tick(t0 + 1s);
    CHECK_FALSE(probes(t, kPeer)); // reachable: no probe
    t = nc.tick(t0 + 2500ms);
    CHECK(nc.entries().at(kPeer).state == NeighborState::Stale);
    CHECK(probes(t, kPeer));
    CHECK(nc.lookup(kPeer) == kMac); // stale MACs are still used
    CHECK_FALSE(t.changed);
    t = nc.tick(t0 + 6500ms);
    CHECK(t.changed); // unconfirmed for timeout_ms: no longer used
    CHECK_FALSE(nc.lookup(kPeer));
    CHECK(nc.entries().count(kPeer) == 1); // wanted: kept, still probed
    CHECK(probes(nc.tick(t0 + 8s), kPeer));
}

TEST_CASE("requested and learnt neighbours are kept while they answer and forgotten when they fail", "[neighbor]") {
    NeighborCache nc(kTimers);
    const auto t0 = NeighborCache::Clock::time_point{} + 1h;
    nc.request(kOther, 0, t0);
    CHECK(probes(nc.tick(t0), kOther));
    nc.learn(kOther, kMac2, 0, t0 + 100ms);
    // Answering keeps it: stale probes, answers, reachable again.
    CHECK(probes(nc.tick(t0 + 2500ms), kOther));
    nc.learn(kOther, kMac2, 0, t0 + 2600ms);
    CHECK(nc.tick(t0 + 8s).changed == false);
    CHECK(nc.lookup(kOther) == kMac2);
    // Silence past the request window and the timeout: forgotten.
    auto t = nc.tick(t0 + 20s);
    CHECK(t.changed);
    CHECK(nc.entries().count(kOther) == 0);
}

TEST_CASE("neighbour list JSON", "[neighbor]") {
    NeighborCache nc(kTimers);
    const auto t0 = NeighborCache::Clock::time_point{} + 1h;
    nc.set_wanted({kPeer, kOther}, 3);
    nc.learn(kPeer, kMac, 3, t0);
    Json j = nc.json(t0 + 1500ms, [](uint16_t p) { return "port" + std::to_string(p); });
    REQUIRE(j.size() == 2);
    CHECK(j[0]["ip"] == "192.168.50.12");
    CHECK(j[0]["mac"] == "02:00:00:00:00:12");
    CHECK(j[0]["state"] == "reachable");
    CHECK(j[0]["port"] == "port3");
    CHECK(j[0]["age_ms"] == 1500);
    CHECK(j[1]["state"] == "incomplete");
    CHECK(j[1]["mac"] == "");
}

TEST_CASE("an address packets wait for is probed at once and every 200 ms until it answers", "[neighbor]") {
    NeighborCache nc(kTimers);
    const auto t0 = NeighborCache::Clock::time_point{} + 1h;
    nc.set_wanted({kPeer}, 0);
    CHECK(probes(nc.tick(t0), kPeer)); // unanswered: normally again in a second
    CHECK_FALSE(probes(nc.tick(t0 + 300ms), kPeer));
    nc.request(kPeer, 0, t0 + 350ms); // a worker holds a packet for it
    CHECK(probes(nc.tick(t0 + 350ms), kPeer));
    CHECK_FALSE(probes(nc.tick(t0 + 450ms), kPeer));
    CHECK(probes(nc.tick(t0 + 550ms), kPeer));
    nc.learn(kPeer, kMac, 0, t0 + 600ms);
    CHECK_FALSE(probes(nc.tick(t0 + 800ms), kPeer));
    // Resolved: a request changes nothing, the entry is refreshed as usual.
    nc.request(kPeer, 0, t0 + 900ms);
    CHECK_FALSE(probes(nc.tick(t0 + 1s), kPeer));
}
