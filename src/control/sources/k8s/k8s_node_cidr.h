// ipam kubernetes with the Kubernetes source: this node's PodCIDR from its
// own Node object's spec.podCIDRs (as Cilium's ipam: kubernetes reads it),
// fetched once before the agent starts.
#pragma once

#include <chrono>

#include "common/result.h"
#include "control/config/config.h"

namespace podlane {

/// The first IPv4 CIDR of spec.podCIDRs (or spec.podCIDR) of the Node named
/// node.name, from GET /api/v1/nodes/<name>. Retries (the Node may not be
/// registered or allocated yet) until `wait` has passed; the error then says
/// what was missing.
Result<Ipv4Prefix> k8s_own_pod_cidr(const Config& config, std::chrono::seconds wait);

} // namespace podlane
