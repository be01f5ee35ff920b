// DPDK's EAL for the fuzz targets: initialised once per process (it cannot
// be initialised twice), with no hugepages, no PCI, no telemetry and a
// private runtime directory, as the unit tests do (tests/unit/main.cpp).
#pragma once

#include <rte_mempool.h>

namespace podlane::fuzz {

/// Initialises the EAL on first use; aborts if it cannot (nothing to fuzz then).
void ensure_eal();

/// A packet pool of `n` mbufs with no per-lcore cache, so that
/// rte_mempool_avail_count() is exact (the targets check that every mbuf
/// comes back). Made once per name.
rte_mempool* packet_pool(const char* name, unsigned n = 255);

} // namespace podlane::fuzz
