// PublishPacer (src/control/agent/publish_pacer.h): a lone update is
// published at once; a stream of updates at most max_per_s times a second.
#include <catch2/catch.hpp>

#include "control/agent/publish_pacer.h"

using namespace podlane;
using namespace std::chrono_literals;

namespace {

/// Drives the agent's policy with a fake clock: every update asks at once,
/// the control timer asks every millisecond; returns the publish times.
std::vector<PublishPacer::Clock::time_point> run(PublishPacer& pacer, PublishPacer::Clock::time_point t0,
                                                 std::chrono::microseconds gap, uint32_t updates) {
    std::vector<PublishPacer::Clock::time_point> out;
    bool waiting = false;
    auto t = t0;
    const auto last_update = t0 + gap * (updates - 1);
    uint32_t sent = 0;
    auto next_tick = t0;
    while (sent < updates || waiting) {
        const auto next_update = t0 + gap * sent;
        const bool update_first = sent < updates && next_update <= next_tick;
        t = update_first ? next_update : next_tick;
        if (update_first) {
            ++sent;
            waiting = true;
        } else {
            next_tick += 1ms;
        }
        if (waiting && pacer.may_publish(t)) {
            pacer.published(t);
            out.push_back(t);
            waiting = false;
        }
        REQUIRE(t <= last_update + 1s); // it always finishes
    }
    return out;
}

} // namespace

TEST_CASE("a lone update is published at once", "[pacer]") {
    PublishPacer pacer(20);
    const auto t0 = PublishPacer::Clock::time_point{} + 100s;
    auto times = run(pacer, t0, 1ms, 1);
    REQUIRE(times.size() == 1);
    CHECK(times[0] == t0);
    // Another one, well after: at once again.
    times = run(pacer, t0 + 10s, 1ms, 1);
    REQUIRE(times.size() == 1);
    CHECK(times[0] == t0 + 10s);
}

TEST_CASE("a stream of updates is published at most max_per_s times a second", "[pacer]") {
    PublishPacer pacer(20);
    CHECK(pacer.interval() == 50ms);
    const auto t0 = PublishPacer::Clock::time_point{} + 100s;
    // 10,000 updates over 2 s (5,000 a second).
    const auto times = run(pacer, t0, 200us, 10000);
    CHECK(times.size() <= 2 * 20 + 1);
    CHECK(times.front() == t0); // the first goes at once
    for (size_t i = 1; i < times.size(); ++i)
        CHECK(times[i] - times[i - 1] >= 50ms);
    // The last update is published within one interval (plus a timer tick).
    CHECK(times.back() - (t0 + 200us * 9999) <= 51ms);
}

TEST_CASE("a zero rate is taken as one a second", "[pacer]") {
    PublishPacer pacer(0);
    CHECK(pacer.interval() == 1s);
}
