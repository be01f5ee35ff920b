// One ICMP echo round trip, as cilium-health's "ICMP to stack" probe: a raw
// socket of the calling thread's network namespace (podlaned runs as root).
#pragma once

#include <cstdint>

#include "common/net_types.h"
#include "common/result.h"

namespace podlane {

/// Sends one echo request to `target` and waits up to `timeout_ms` for the
/// reply carrying the same identifier and sequence. Returns the round-trip
/// time in seconds, or an error saying why ("no reply within 500 ms").
Result<double> icmp_echo(Ipv4Addr target, uint16_t id, uint16_t seq, uint32_t timeout_ms);

} // namespace podlane
