// Where a node's health endpoint lives: an address of its PodCIDR that every
// node derives the same way, so no cluster-state field has to carry it
// (Cilium publishes its health IP in the CiliumNode instead).
#pragma once

#include "common/net_types.h"

namespace podlane {

/// The health endpoint's address in `pod_cidr`: its last usable address
/// (10.210.1.254 for 10.210.1.0/24); zero for a prefix with no room (/31, /32).
Ipv4Addr health_endpoint_ip(const Ipv4Prefix& pod_cidr);

} // namespace podlane
