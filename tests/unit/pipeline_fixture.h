// Runs single frames through the real burst pipeline, for table-driven
// packet tests: input frame -> output port (or kDropPort) and output bytes.
#pragma once

#include <catch2/catch.hpp>

#include <initializer_list>
#include <span>
#include <vector>

#include "dataplane/pipeline.h"
#include "dataplane/stage.h"
#include "frame_builder.h"

namespace podlane::test {

/// One frame's fate.
struct Fate {
    uint16_t port;
    std::vector<uint8_t> bytes; ///< the rewritten frame, when not dropped
};

/// run_stages() on a burst of one frame received on `in_port`.
inline Fate run_frame(const Snapshot& snap, uint16_t in_port, const std::vector<uint8_t>& frame,
                      WorkerCounters& c, rte_mempool* pool) {
    rte_mbuf* m = to_mbuf(pool, frame);
    REQUIRE(m != nullptr);
    rte_mbuf* burst[1] = {m};
    uint16_t out[1];
    run_stages(snap, in_port, std::span(burst, 1), out, c);
    Fate r{out[0], {}};
    if (out[0] != kDropPort) {
        r.bytes = bytes_of(m);
        rte_pktmbuf_free(m);
    }
    return r;
}

/// What one stage should have counted (stage.h).
struct StageExpect {
    Stage stage;
    uint64_t in = 0;
    uint64_t translated = 0;
    uint64_t finished = 0;
};

/// Checks every stage's counters in `c`: the stages in `expected` as given,
/// all others zero; and that each packet entered parse and finished at
/// exactly one stage.
inline void check_stages(const WorkerCounters& c, std::initializer_list<StageExpect> expected) {
    uint64_t finished = 0;
    for (size_t i = 0; i < kStageCount; ++i) {
        const auto s = static_cast<Stage>(i);
        StageExpect e{s};
        for (const StageExpect& x : expected)
            if (x.stage == s)
                e = x;
        INFO("stage " << stage_name(s));
        CHECK(c.stage(s).in.get() == e.in);
        CHECK(c.stage(s).translated.get() == e.translated);
        CHECK(c.stage(s).finished.get() == e.finished);
        finished += c.stage(s).finished.get();
    }
    CHECK(finished == c.stage(Stage::Parse).in.get());
}

} // namespace podlane::test
