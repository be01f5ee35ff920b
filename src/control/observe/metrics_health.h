// The node health metric families (docs/metrics.md "Node health"), named
// after Cilium's cilium_unreachable_nodes, cilium_unreachable_health_endpoints
// and cilium_node_connectivity_{status,latency_seconds}.
#pragma once

#include <vector>

#include "control/health/health_report.h"

namespace prometheus {
struct MetricFamily;
} // namespace prometheus

namespace podlane {

/// Appends the node health families for `nodes` (the last probe round) to `out`.
void add_health_families(std::vector<prometheus::MetricFamily>& out, const std::vector<NodeHealth>& nodes,
                         const std::string& source_node);

} // namespace podlane
