// The counters podlaned prints when it stops.
#pragma once

#include <cstdio>

#include "control/api/control_api.h"

namespace podlane {

/// Prints per-worker totals and every non-zero drop reason from a `stats` result.
void print_final_report(const Json& stats, std::FILE* out);

} // namespace podlane
