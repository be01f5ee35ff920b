// Cluster-pool IPAM: carving one PodCIDR per node out of a cluster-wide pool.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"

namespace podlane {

/// Gives every node in `node_names` its own block of length `mask_size` out
/// of `pool`, e.g. a /24 of 10.0.0.0/8. The result maps each name to its block;
/// the blocks are pairwise disjoint and inside `pool`. It is deterministic:
/// the same set of names gives the same blocks whatever their order, and a
/// node keeps its block when a node joins whose preferred block is still free.
/// Errors: `mask_size` not longer than the pool or above 32, a name listed
/// twice, or fewer blocks than nodes ("cluster pool 10.0.0.0/29 has 2 blocks
/// of /30 for 3 nodes").
Result<std::map<std::string, Ipv4Prefix>> allocate_cluster_pool(const Ipv4Prefix& pool, uint8_t mask_size,
                                                                std::vector<std::string> node_names);

} // namespace podlane
