// The results of a run: the summary line on stdout and the --json file.
#pragma once

#include <string>

#include "engine.h"
#include "options.h"

namespace podlane::gen {

/// Writes the JSON results to `path`. Returns an error text or empty.
std::string write_json(const std::string& path, const Options& o, const RunResult& r, const std::string& started_utc,
                       const std::string& window_start_utc, const std::string& window_end_utc);

/// Prints the summary: rates over the window, loss, latency percentiles.
void print_summary(const Options& o, const RunResult& r);

}  // namespace podlane::gen
