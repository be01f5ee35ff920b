// CNI CHECK's comparison: a pod interface as the kernel reports it against
// what podlane attached, as a list of problems an operator can act on.
#pragma once

#include <string>
#include <vector>

#include "control/ports/netlink.h"

namespace podlane {

/// Every way `seen` differs from `want` that breaks the pod's traffic: the
/// interface down, another MAC than the one podlane sends to, an MTU above
/// the pod MTU, the pod address missing, no default route via the gateway.
/// Empty when the pod looks as attached. A lower MTU is fine (a chained
/// plugin such as tuning may lower it).
std::vector<std::string> pod_interface_problems(const PodInterfaceSpec& want, const PodInterfaceState& seen);

} // namespace podlane
