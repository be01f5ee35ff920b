// Runs single frames through the real burst pipeline, for table-driven
// packet tests: input frame -> output port (or kDropPort) and output bytes.
#pragma once

#include <catch2/catch.hpp>

#include <span>
#include <vector>

#include "dataplane/pipeline.h"
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

} // namespace podlane::test
