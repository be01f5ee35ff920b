// What node health probing found: per node, the host (node IP) and the health
// endpoint, each by ICMP and by HTTP, as `cilium-health status` shows them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include "common/net_types.h"

namespace podlane {

using Json = nlohmann::json;

/// One probe's outcome.
struct ProbeResult {
    bool probed = false;   ///< false until the first round reached it
    bool ok = false;
    double rtt_s = 0;      ///< round-trip time when ok
    std::string error;     ///< why not ok
};

/// One address of a node: its IP and both probes of it.
struct PathHealth {
    Ipv4Addr ip;           ///< zero: the node has no such address (no PodCIDR)
    ProbeResult icmp, http;
    bool ok() const { return icmp.ok && http.ok; }
};

/// A node as probed.
struct NodeHealth {
    std::string name;
    bool local = false;    ///< this node (cilium-health's "localhost")
    PathHealth host;       ///< the node IP
    PathHealth endpoint;   ///< the health endpoint in the node's PodCIDR
    /// Every probe of the node answered (the endpoint's only when it has one).
    bool reachable() const { return host.ok() && (endpoint.ip.is_zero() || endpoint.ok()); }
};

/// The last complete probe round.
struct HealthReport {
    std::vector<NodeHealth> nodes;   ///< local node first, then by name
    uint64_t rounds = 0;             ///< rounds completed
    double last_round_time = 0;      ///< when the last round ended, seconds since the epoch; 0: none yet
    double round_seconds = 0;        ///< how long it took

    size_t reachable_nodes() const;
    size_t unreachable_nodes() const { return nodes.size() - reachable_nodes(); }
    /// Nodes with a health endpoint that did not answer both probes.
    size_t unreachable_endpoints() const;
};

/// The report as the API's health.status answer (docs/api.md).
Json health_report_json(const HealthReport& r, uint32_t interval_ms);

} // namespace podlane
