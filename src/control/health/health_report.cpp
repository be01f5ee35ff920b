#include "control/health/health_report.h"

namespace podlane {

size_t HealthReport::reachable_nodes() const {
    size_t n = 0;
    for (const NodeHealth& node : nodes)
        n += node.reachable() ? 1 : 0;
    return n;
}

size_t HealthReport::unreachable_endpoints() const {
    size_t n = 0;
    for (const NodeHealth& node : nodes)
        n += !node.endpoint.ip.is_zero() && !node.endpoint.ok() ? 1 : 0;
    return n;
}

namespace {

Json probe_json(const ProbeResult& p) {
    Json j{{"probed", p.probed}, {"ok", p.ok}};
    if (p.ok)
        j["rtt_us"] = p.rtt_s * 1e6;
    else if (p.probed)
        j["error"] = p.error;
    return j;
}

Json path_json(const PathHealth& p) {
    if (p.ip.is_zero())
        return Json();
    return Json{{"ip", p.ip.str()}, {"icmp", probe_json(p.icmp)}, {"http", probe_json(p.http)}};
}

} // namespace

Json health_report_json(const HealthReport& r, uint32_t interval_ms) {
    Json nodes = Json::array();
    for (const NodeHealth& n : r.nodes)
        nodes.push_back(Json{{"name", n.name},
                             {"local", n.local},
                             {"reachable", n.reachable()},
                             {"host", path_json(n.host)},
                             {"endpoint", path_json(n.endpoint)}});
    return Json{{"nodes", nodes},
                {"reachable", r.reachable_nodes()},
                {"total", r.nodes.size()},
                {"unreachable_endpoints", r.unreachable_endpoints()},
                {"rounds", r.rounds},
                {"last_round_time", r.last_round_time},
                {"round_seconds", r.round_seconds},
                {"interval_ms", interval_ms}};
}

} // namespace podlane
