// Fuzz target: one frame from a pod port through the whole pipeline.
// Input: a control byte (bits 0-1: pod A, B or C sends it, or the host path;
// bit 2: Geneve node instead of VXLAN), a split byte (nonzero: the frame
// arrives as two chained segments, split there), then the Ethernet frame.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_node.h"

using namespace podlane::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 3)
        return 0;
    const uint8_t control = data[0];
    static constexpr uint16_t kFrom[4] = {kPortA, kPortB, kPortC, kHostPort};
    FuzzNode& node = FuzzNode::get((control & 4) != 0);
    node.reset();
    node.run(kFrom[control & 3], std::span(data + 2, size - 2), data[1]);
    return 0;
}
