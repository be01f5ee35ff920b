// Pod TAPs that outlive podlaned. A TAP made by DPDK's net_tap vanishes when
// its last file descriptor closes (the process exits or crashes); flagged
// persistent (TUNSETPERSIST) it stays, in the pod's namespace, with its
// address, routes and MAC, and the next podlaned attaches net_tap to it again
// by name from inside that namespace (DPDK 22.11's net_tap has no `persist`
// option; it attaches to an existing TAP of that name like any TUNSETIFF).
// See docs/restart.md.
#pragma once

#include <string>

#include "common/result.h"

namespace podlane {

/// Sets or clears the persistent flag of the TAP `ifname` in the calling
/// thread's network namespace. Fails (and creates nothing) when `ifname` is
/// not a multi-queue TAP, as net_tap makes them.
Result<void> set_tap_persistent(const std::string& ifname, bool persistent);

} // namespace podlane
