// Tests for node health and the cilium-dbg-like status lines: the health
// section of the config, the health endpoint's address, the report's counts
// and JSON, the health metrics, `podlane health status` and every line
// `podlane status` gained (cli/format_health.cpp, cli/format.cpp).
#include <catch2/catch.hpp>

#include <string>

#include <prometheus/metric_family.h>

#include "cli/format.h"
#include "control/config/config.h"
#include "control/health/health_address.h"
#include "control/health/health_report.h"
#include "control/health/icmp_probe.h"
#include "control/observe/metrics_health.h"

using namespace podlane;
using Catch::Matchers::Contains;

namespace {

const std::string kNet = "network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.1}\n";

Ipv4Addr ip(const char* s) { return *Ipv4Addr::parse(s); }

ProbeResult ok(double rtt) {
    ProbeResult p;
    p.probed = p.ok = true;
    p.rtt_s = rtt;
    return p;
}

ProbeResult failed(const char* why) {
    ProbeResult p;
    p.probed = true;
    p.error = why;
    return p;
}

HealthReport three_nodes_one_down() {
    HealthReport r;
    NodeHealth a;
    a.name = "node1";
    a.local = true;
    a.host = {ip("192.168.50.11"), ok(91.601e-6), ok(382.5e-6)};
    a.endpoint = {ip("10.210.1.254"), ok(145.313e-6), ok(1.5e-3)};
    NodeHealth b = a;
    b.name = "node2";
    b.local = false;
    b.host.ip = ip("192.168.50.12");
    b.endpoint.ip = ip("10.210.2.254");
    NodeHealth c = b;
    c.name = "node3";
    c.host = {ip("192.168.50.13"), failed("no reply within 400 ms"), failed("connect: timed out")};
    c.endpoint = {ip("10.210.3.254"), failed("no reply within 400 ms"), failed("connect: timed out")};
    r.nodes = {a, b, c};
    r.rounds = 7;
    r.last_round_time = 1796680800; // 2026-12-07T22:00:00Z
    return r;
}

/// The value of the status line `label` ("Encryption:"), whatever the label
/// column's width; "" when the line is missing.
std::string line_value(const std::string& status, const std::string& label) {
    size_t at = status.rfind(label + " ", 0) == 0 ? 0 : status.find("\n" + label + " ");
    if (at == std::string::npos)
        return "";
    if (at != 0)
        ++at;
    size_t v = at + label.size();
    while (v < status.size() && status[v] == ' ')
        ++v;
    return status.substr(v, status.find('\n', v) - v);
}

} // namespace

TEST_CASE("health: config keys, defaults and errors naming the key", "[health]") {
    auto def = parse_config(kNet, "min.yaml");
    REQUIRE(def);
    CHECK(def->health.enabled);
    CHECK(def->health.interval_ms == 5000);
    CHECK(def->health.timeout_ms == 1000);
    CHECK(def->health.port == 4240);
    CHECK(def->health.endpoint);
    auto set = parse_config(kNet + "health: {interval_ms: 1000, timeout_ms: 400, port: 4241, endpoint: false}\n", "h.yaml");
    REQUIRE(set);
    CHECK(set->health.interval_ms == 1000);
    CHECK(set->health.timeout_ms == 400);
    CHECK(set->health.port == 4241);
    CHECK_FALSE(set->health.endpoint);
    auto slow = parse_config(kNet + "health: {interval_ms: 500, timeout_ms: 900}\n", "h.yaml");
    REQUIRE_FALSE(slow);
    CHECK_THAT(slow.error().message, Contains("health.timeout_ms") && Contains("at most health.interval_ms (500)"));
    auto bad = parse_config(kNet + "health: {intervall_ms: 5}\n", "h.yaml");
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error().message, Contains("intervall_ms"));
    auto zero = parse_config(kNet + "health: {port: 0}\n", "h.yaml");
    REQUIRE_FALSE(zero);
    CHECK_THAT(zero.error().message, Contains("health.port"));
}

TEST_CASE("health: the endpoint is the PodCIDR's last usable address", "[health]") {
    CHECK(health_endpoint_ip(*Ipv4Prefix::parse("10.210.1.0/24")) == ip("10.210.1.254"));
    CHECK(health_endpoint_ip(*Ipv4Prefix::parse("10.0.0.0/16")) == ip("10.0.255.254"));
    CHECK(health_endpoint_ip(*Ipv4Prefix::parse("10.0.0.0/30")) == ip("10.0.0.2"));
    CHECK(health_endpoint_ip(*Ipv4Prefix::parse("10.0.0.0/31")).is_zero());
}

TEST_CASE("health: a node is reachable only when every probe answered", "[health]") {
    HealthReport r = three_nodes_one_down();
    CHECK(r.reachable_nodes() == 2);
    CHECK(r.unreachable_nodes() == 1);
    CHECK(r.unreachable_endpoints() == 1);
    r.nodes[1].endpoint.http = failed("HTTP status 500");
    CHECK(r.reachable_nodes() == 1);
    CHECK(r.unreachable_endpoints() == 2);
    r.nodes[1].endpoint.ip = Ipv4Addr{}; // no endpoint: only the host counts
    CHECK(r.reachable_nodes() == 2);
}

TEST_CASE("health: podlane health status reads like cilium-health status", "[health]") {
    const Json j = health_report_json(three_nodes_one_down(), 1000);
    CHECK(j["reachable"] == 2);
    CHECK(j["total"] == 3);
    const std::string out = format_health_status(j);
    CHECK(out == "Probe time:   2026-12-07T22:00:00Z\n"
                 "Reachable:    2/3 nodes, every 1000 ms\n"
                 "Nodes:\n"
                 "  node1 (localhost):\n"
                 "    Host connectivity to 192.168.50.11:\n"
                 "      ICMP to stack:   OK, RTT=91.601µs\n"
                 "      HTTP to agent:   OK, RTT=382.5µs\n"
                 "    Endpoint connectivity to 10.210.1.254:\n"
                 "      ICMP to stack:   OK, RTT=145.313µs\n"
                 "      HTTP to agent:   OK, RTT=1.5ms\n"
                 "  node2:\n"
                 "    Host connectivity to 192.168.50.12:\n"
                 "      ICMP to stack:   OK, RTT=91.601µs\n"
                 "      HTTP to agent:   OK, RTT=382.5µs\n"
                 "    Endpoint connectivity to 10.210.2.254:\n"
                 "      ICMP to stack:   OK, RTT=145.313µs\n"
                 "      HTTP to agent:   OK, RTT=1.5ms\n"
                 "  node3:\n"
                 "    Host connectivity to 192.168.50.13:\n"
                 "      ICMP to stack:   FAILED: no reply within 400 ms\n"
                 "      HTTP to agent:   FAILED: connect: timed out\n"
                 "    Endpoint connectivity to 10.210.3.254:\n"
                 "      ICMP to stack:   FAILED: no reply within 400 ms\n"
                 "      HTTP to agent:   FAILED: connect: timed out\n");
}

TEST_CASE("health: metrics count unreachable nodes and endpoints, latency per probe", "[health]") {
    std::vector<prometheus::MetricFamily> fams;
    add_health_families(fams, three_nodes_one_down().nodes, "node1");
    REQUIRE(fams.size() == 4);
    CHECK(fams[0].name == "podlane_unreachable_nodes");
    CHECK(fams[0].metric.at(0).gauge.value == 1);
    CHECK(fams[1].name == "podlane_unreachable_health_endpoints");
    CHECK(fams[1].metric.at(0).gauge.value == 1);
    CHECK(fams[2].name == "podlane_node_connectivity_status");
    CHECK(fams[2].metric.size() == 12); // 3 nodes x {node, endpoint} x {icmp, http}
    CHECK(fams[3].name == "podlane_node_connectivity_latency_seconds");
    CHECK(fams[3].metric.size() == 8); // node3's failures have no latency
    CHECK(fams[3].metric[0].gauge.value == Approx(91.601e-6));
}

TEST_CASE("health: an ICMP echo to loopback comes back with its round-trip time", "[health]") {
    // Failures (no reply within the timeout) are seen in integration-health:
    // a unit test sends nothing beyond loopback.
    auto self = icmp_echo(ip("127.0.0.1"), 0x4242, 2, 1000);
    REQUIRE(self);
    CHECK(*self > 0);
    CHECK(*self < 1.0);
}

TEST_CASE("status: the lines held against cilium-dbg status", "[health]") {
    Json data = {
        {"node", "node1"},
        {"host_path", "pl_host"},
        {"host_routing", "podlane"},
        {"services", {{"algorithm", "random"}, {"masquerading", "to 192.168.50.11"}, {"conntrack", Json::object()}}},
        {"masquerade",
         {{"enabled", true}, {"mode", "podlane"}, {"interfaces", {"eth0"}}, {"to", "192.168.50.11"},
          {"excluded", {"10.210.0.0/16", "10.210.1.0/24"}}}},
        {"encryption", "Disabled"},
        {"flow_observability",
         {{"enabled", true}, {"current_flows", 4095}, {"max_flows", 8192}, {"flows_seen", 10000}, {"flows_per_s", 13.57},
          {"metrics", "Ok"}}},
        {"source", {{"kind", "etcd"}, {"endpoint", "http://192.168.50.2:2379"}, {"state", "synced"}}},
        {"modules",
         {{{"name", "dataplane"}, {"state", "ok"}},
          {{"name", "health"}, {"state", "degraded"}, {"message", "needs an uplink and the host path"}},
          {{"name", "metrics"}, {"state", "stopped"}}}},
        {"cluster_health", {{"enabled", true}, {"reachable", 3}, {"total", 3}, {"rounds", 4}, {"last_round_time", 1796680800}}},
    };
    const std::string s = format_status(data);
    CHECK(line_value(s, "Host Routing:") == "podlane (node IP to the kernel over pl_host)");
    CHECK(line_value(s, "Masquerading:") == "podlane   [eth0]   to 192.168.50.11, not to 10.210.0.0/16, 10.210.1.0/24 or node IPs   [IPv4: Enabled, IPv6: Disabled]");
    CHECK(line_value(s, "Encryption:") == "Disabled");
    CHECK(line_value(s, "Flow observability:") == "Ok   Current/Max Flows: 4095/8192 (49.99%), Flows/s: 13.57, seen: 10000   Metrics: Ok");
    CHECK(line_value(s, "KVStore:") == "Ok   etcd: http://192.168.50.2:2379 (synced)");
    CHECK(line_value(s, "Modules Health:") == "Stopped(1) Degraded(1) OK(1): degraded health (needs an uplink and the host path)");
    CHECK(line_value(s, "Cluster health:") == "3/3 reachable   (2026-12-07T22:00:00Z)");

    data["masquerade"]["enabled"] = false;
    data["source"] = {{"kind", "file"}, {"state", "synced"}};
    data["host_routing"] = "none";
    data["cluster_health"] = {{"enabled", false}};
    data["flow_observability"]["enabled"] = false;
    const std::string off = format_status(data);
    CHECK(line_value(off, "Masquerading:") == "Disabled");
    CHECK(line_value(off, "KVStore:") == "Disabled");
    CHECK(line_value(off, "Host Routing:") == "none (podlane answers ping for the node IP only)");
    CHECK(line_value(off, "Cluster health:") == "Disabled");
    CHECK(line_value(off, "Flow observability:") == "Disabled");

    data["cluster_health"] = {{"enabled", true}, {"reachable", 0}, {"total", 3}, {"rounds", 0}};
    CHECK(line_value(format_status(data), "Cluster health:") == "0/3 reachable   (probing)");
    data["cluster_health"] = {{"enabled", true}, {"error", "needs an uplink and the host path"}};
    CHECK(line_value(format_status(data), "Cluster health:") == "not running: needs an uplink and the host path");
}

TEST_CASE("status --verbose: every node's health under the status lines", "[health]") {
    Json data = {{"node", "node1"},
                 {"cluster_health", {{"enabled", true}, {"reachable", 2}, {"total", 3}, {"rounds", 7},
                                     {"last_round_time", 1796680800}}},
                 {"health", health_report_json(three_nodes_one_down(), 1000)}};
    const std::string s = format_status(data);
    CHECK(line_value(s, "Cluster health:") == "2/3 reachable   (2026-12-07T22:00:00Z)");
    CHECK_THAT(s, Contains("\n  node3:\n    Host connectivity to 192.168.50.13:\n"
                           "      ICMP to stack:   FAILED: no reply within 400 ms\n"));
    const size_t metrics = s.find("Metrics:"), node1 = s.find("  node1 (localhost):");
    REQUIRE(node1 != std::string::npos);
    CHECK(metrics < node1); // the details follow the lines, as cilium-dbg prints them
}
