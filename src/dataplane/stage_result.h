// What a stage of the pipeline tells the journey: the packet is finished
// (a verdict), or it goes on, possibly rewritten.
#pragma once

#include <rte_byteorder.h>

#include "dataplane/verdict.h"

namespace podlane {

/// A stage's decision: a final verdict, or go on with the (possibly
/// rewritten) packet; from the load balancer, in a Geneve DSR dispatch when
/// `dsr` is set.
struct StageResult {
    bool done = false;
    Verdict verdict;
    bool translated = false;  ///< the packet's addresses or ports were rewritten
    bool dsr = false;         ///< send to the backend's node with the DSR option
    rte_be32_t dsr_addr = 0;  ///< the service address and port for that option
    rte_be16_t dsr_port = 0;

    static StageResult go_on(bool translated = false) noexcept { return {false, {}, translated, false, 0, 0}; }
    static StageResult finish(Verdict v) noexcept { return {true, v, false, false, 0, 0}; }
};

} // namespace podlane
