// A packet's fate after the pipeline: transmit on a port, or drop for a reason.
#pragma once

#include <cstdint>

#include "dataplane/drop_reason.h"

namespace podlane {

inline constexpr uint16_t kDropPort = UINT16_MAX;

struct Verdict {
    uint16_t port = kDropPort;                 ///< output port, or kDropPort
    DropReason reason = DropReason::Malformed; ///< meaningful when dropped

    static constexpr Verdict tx(uint16_t port) noexcept { return {port, DropReason::Count}; }
    static constexpr Verdict drop(DropReason r) noexcept { return {kDropPort, r}; }
    constexpr bool dropped() const noexcept { return port == kDropPort; }
};

} // namespace podlane
