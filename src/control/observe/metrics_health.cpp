#include "control/observe/metrics_health.h"

#include <prometheus/metric_family.h>

namespace podlane {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily gauge_family(const char* name, const char* help) {
    MetricFamily f;
    f.name = name;
    f.help = help;
    f.type = MetricType::Gauge;
    return f;
}

void add_gauge(MetricFamily& f, double v, std::vector<ClientMetric::Label> labels) {
    ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = v;
    f.metric.push_back(std::move(m));
}

} // namespace

void add_health_families(std::vector<MetricFamily>& out, const std::vector<NodeHealth>& nodes,
                         const std::string& source_node) {
    MetricFamily unreachable_nodes = gauge_family(
        "podlane_unreachable_nodes", "Nodes whose node IP did not answer the last probe round (ICMP or HTTP on port 4240).");
    MetricFamily unreachable_eps = gauge_family(
        "podlane_unreachable_health_endpoints", "Nodes whose health endpoint did not answer the last probe round (ICMP or HTTP).");
    MetricFamily status = gauge_family("podlane_node_connectivity_status",
                                       "1 while the last probe of the node's address by the protocol succeeded, else 0. "
                                       "type: node (node IP) or endpoint (health endpoint); protocol: icmp or http.");
    MetricFamily latency = gauge_family("podlane_node_connectivity_latency_seconds",
                                        "Round-trip time of the last successful probe of the node's address by the protocol.");
    size_t bad_nodes = 0, bad_eps = 0;
    for (const NodeHealth& n : nodes) {
        bad_nodes += n.host.icmp.probed && !n.host.ok() ? 1 : 0;
        bad_eps += !n.endpoint.ip.is_zero() && n.endpoint.icmp.probed && !n.endpoint.ok() ? 1 : 0;
        for (const auto& [type, path] : {std::pair<const char*, const PathHealth*>{"node", &n.host}, {"endpoint", &n.endpoint}}) {
            if (path->ip.is_zero())
                continue;
            for (const auto& [proto, probe] : {std::pair<const char*, const ProbeResult*>{"icmp", &path->icmp}, {"http", &path->http}}) {
                if (!probe->probed)
                    continue;
                std::vector<ClientMetric::Label> l{{"source_node_name", source_node},
                                                   {"target_node_name", n.name},
                                                   {"target_node_ip", path->ip.str()},
                                                   {"target_node_type", n.local ? "local_node" : "remote_intra_cluster"},
                                                   {"type", type},
                                                   {"protocol", proto}};
                add_gauge(status, probe->ok ? 1 : 0, l);
                if (probe->ok)
                    add_gauge(latency, probe->rtt_s, l);
            }
        }
    }
    add_gauge(unreachable_nodes, static_cast<double>(bad_nodes), {});
    add_gauge(unreachable_eps, static_cast<double>(bad_eps), {});
    out.push_back(std::move(unreachable_nodes));
    out.push_back(std::move(unreachable_eps));
    out.push_back(std::move(status));
    out.push_back(std::move(latency));
}

} // namespace podlane
