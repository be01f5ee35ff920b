// The generator's loop: one lcore sends bursts built from the flow templates
// and receives on every port, matching markers and timing them.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include <rte_mempool.h>

#include "flows.h"
#include "latency.h"
#include "options.h"
#include "ports.h"

namespace podlane::gen {

/// Counters of the whole run; the loop is their only writer.
struct Counters {
  uint64_t tx = 0;           ///< packets the tx port accepted
  uint64_t tx_full = 0;      ///< packets the tx port refused (queue full), freed
  uint64_t alloc_fail = 0;   ///< bursts skipped for want of mbufs
  uint64_t rx = 0;           ///< every packet received
  uint64_t rx_marked = 0;    ///< packets with a generator marker
  uint64_t arp_replies = 0;
  std::vector<uint64_t> rx_port;  ///< received per port
};

/// A snapshot at one instant, for windows and progress.
struct Sample {
  uint64_t tsc = 0;
  uint64_t tx = 0, rx = 0, rx_marked = 0;
};

/// What run() returns.
struct RunResult {
  Counters total;
  Sample window_start, window_end;
  LatencyHistogram latency;  ///< markers received during the window (all of them with --count)
  uint32_t flows_seen = 0;   ///< distinct flow ids received
  double seconds_total = 0;
};

/// Runs warm-up, window and drain (or --count packets, then drain); prints a
/// progress line every second unless quiet. `stop` ends it early (SIGINT).
RunResult run(const Options& o, const FlowTemplates& t, const std::vector<Port>& ports, rte_mempool* pool,
              const std::atomic<bool>& stop);

}  // namespace podlane::gen
