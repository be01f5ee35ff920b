// The Prometheus exporter (control/observe/metrics.h), scraped over real HTTP, and
// the config's metrics section.
#include <catch2/catch.hpp>
#include <prometheus/metric_family.h>

#include <utility> // before Boost 1.74 asio, whose awaitable.hpp needs std::exchange
#include <algorithm>
#include <boost/asio.hpp>
#include <numeric>
#include <string>

#include "cli/format.h"
#include "control/config/config.h"
#include "control/observe/metrics.h"

using namespace podlane;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

/// GETs /metrics from `address` ("127.0.0.1:port") over HTTP/1.0: the whole response.
std::string scrape(const std::string& address) {
    namespace asio = boost::asio;
    const size_t colon = address.rfind(':');
    asio::io_context io;
    asio::ip::tcp::socket sock(io);
    sock.connect({asio::ip::make_address(address.substr(0, colon)),
                  static_cast<unsigned short>(std::stoi(address.substr(colon + 1)))});
    asio::write(sock, asio::buffer(std::string("GET /metrics HTTP/1.0\r\nHost: test\r\n\r\n")));
    std::string response;
    boost::system::error_code ec;
    asio::read(sock, asio::dynamic_buffer(response), ec); // until the server closes
    return response;
}

/// Two workers, two ports and a little of everything.
MetricsSnapshot fake_snapshot() {
    MetricsSnapshot s;
    s.dataplane_running = true;
    s.uptime_seconds = 42;
    s.snapshot_generation = 7;
    s.mbufs_available = 8000;
    s.mbufs_capacity = 8191;
    WorkerSample w0, w1;
    w0.id = 0;
    w1.id = 1;
    w0.rx_packets = 10;
    w1.rx_packets = 20;
    w0.forwarded = 9;
    w1.rejected = 2;
    w0.drops[static_cast<size_t>(DropReason::UnknownDestination)] = 3;
    w1.drops[static_cast<size_t>(DropReason::UnknownDestination)] = 4;
    w1.stages[static_cast<size_t>(Stage::LoadBalancer)] = StageSample{20, 6, 1};
    s.workers = {w0, w1};
    s.ports = {PortSample{"default/pod-a", 11, 12, 1100, 1200, 0, 0, 1, 0},
               PortSample{"uplink:eth0", 21, 22, 2100, 2200, 0, 0, 0, 0}};
    s.ct_flows = 5;
    s.ct_capacity = 65536;
    s.ct_insert_failures = 1;
    s.frontends = 3;
    s.backends = 2;
    s.endpoints = 2;
    s.publish.observe(0.0003);
    return s;
}

MetricsConfig any_port() {
    MetricsConfig c;
    c.port = 0;
    return c;
}

} // namespace

TEST_CASE("metrics: a scrape over HTTP shows every family in the text format", "[metrics]") {
    auto m = Metrics::start(any_port());
    REQUIRE(m.ok());
    const std::string address = (*m)->address();
    CHECK_THAT(address, StartsWith("127.0.0.1:"));
    CHECK(address != "127.0.0.1:0");
    (*m)->update(fake_snapshot());

    const std::string text = scrape(address);
    CHECK_THAT(text, StartsWith("HTTP/1.1 200 OK"));
    CHECK_THAT(text, Contains("# TYPE podlane_drop_count_total counter\n"));
    CHECK_THAT(text, Contains("# HELP podlane_drop_count_total Packets the dataplane dropped, by reason, summed over "
                              "the workers. Reasons: malformed: truncated or invalid"));
    CHECK_THAT(text, Contains("; unknown_destination: no endpoint or route for the destination;"));
    CHECK_THAT(text, Contains("podlane_drop_count_total{reason=\"unknown_destination\"} 7\n"));
    for (size_t r = 0; r < kDropReasonCount; ++r) { // every reason, zeros included
        const std::string name(drop_reason_name(static_cast<DropReason>(r)));
        if (name != "unknown_destination")
            CHECK_THAT(text, Contains("podlane_drop_count_total{reason=\"" + name + "\"} 0\n"));
    }
    CHECK_THAT(text, Contains("# TYPE podlane_rx_packets_total counter\npodlane_rx_packets_total 30\n"));
    CHECK_THAT(text, Contains("podlane_forward_count_total 9\n"));
    CHECK_THAT(text, Contains("podlane_rejected_total 2\n"));
    CHECK_THAT(text, Contains("podlane_worker_rx_packets_total{worker=\"1\"} 20\n"));
    CHECK_THAT(text, Contains("# TYPE podlane_stage_packets_total counter\n"));
    CHECK_THAT(text, Contains("; load_balancer: conntrack and services"));
    CHECK_THAT(text, Contains("podlane_stage_packets_total{worker=\"1\",stage=\"load_balancer\",kind=\"in\"} 20\n"));
    CHECK_THAT(text,
               Contains("podlane_stage_packets_total{worker=\"1\",stage=\"load_balancer\",kind=\"translated\"} 6\n"));
    CHECK_THAT(text,
               Contains("podlane_stage_packets_total{worker=\"1\",stage=\"load_balancer\",kind=\"finished\"} 1\n"));
    CHECK_THAT(text, Contains("podlane_stage_packets_total{worker=\"0\",stage=\"deliver\",kind=\"finished\"} 0\n"));
    CHECK_THAT(text, Contains("podlane_port_rx_packets_total{port=\"default/pod-a\"} 11\n"));
    CHECK_THAT(text, Contains("podlane_port_tx_bytes_total{port=\"uplink:eth0\"} 2200\n"));
    CHECK_THAT(text, Contains("podlane_port_rx_missed_total{port=\"default/pod-a\"} 1\n"));
    CHECK_THAT(text, Contains("# TYPE podlane_conntrack_flows gauge\npodlane_conntrack_flows 5\n"));
    CHECK_THAT(text, Contains("podlane_conntrack_capacity_flows 65536\n"));
    CHECK_THAT(text, Contains("podlane_conntrack_insert_failures_total 1\n"));
    CHECK_THAT(text, Contains("podlane_services 3\n"));
    CHECK_THAT(text, Contains("podlane_service_backends 2\n"));
    CHECK_THAT(text, Contains("podlane_endpoints 2\n"));
    CHECK_THAT(text, Contains("podlane_agent_up 1\n"));
    CHECK_THAT(text, Contains("podlane_uptime_seconds 42\n"));
    CHECK_THAT(text, Contains("podlane_snapshot_generation 7\n"));
    CHECK_THAT(text, Contains("# TYPE podlane_snapshot_publish_seconds histogram\n"));
    CHECK_THAT(text, Contains("podlane_snapshot_publish_seconds_bucket{le=\"0.0001\"} 0\n"));
    CHECK_THAT(text, Contains("podlane_snapshot_publish_seconds_bucket{le=\"0.0005\"} 1\n"));
    CHECK_THAT(text, Contains("podlane_snapshot_publish_seconds_bucket{le=\"+Inf\"} 1\n"));
    CHECK_THAT(text, Contains("podlane_snapshot_publish_seconds_count 1\n"));

    SECTION("update() replaces what the next scrape shows") {
        MetricsSnapshot s = fake_snapshot();
        s.workers[0].drops[static_cast<size_t>(DropReason::TtlExceeded)] = 5;
        s.workers[1].rx_packets = 1000;
        s.ports.pop_back();
        s.ct_flows = 6;
        (*m)->update(std::move(s));
        const std::string again = scrape(address);
        CHECK_THAT(again, Contains("podlane_drop_count_total{reason=\"ttl_exceeded\"} 5\n"));
        CHECK_THAT(again, Contains("podlane_rx_packets_total 1010\n"));
        CHECK_THAT(again, Contains("podlane_conntrack_flows 6\n"));
        CHECK_THAT(again, !Contains("uplink:eth0"));
    }
}

TEST_CASE("metrics: LB IPAM pools show used, available, conflicting and disabled", "[metrics]") {
    MetricsSnapshot s;
    s.lb_ipam_pools = {LbIpamPoolSample{"blue", 1, 253, false, false}, LbIpamPoolSample{"red", 0, 2, true, false}};
    std::string text;
    for (const prometheus::MetricFamily& f : metric_families(s))
        for (const prometheus::ClientMetric& m : f.metric)
            text += f.name + "{" + (m.label.empty() ? "" : m.label[0].value) + "} " +
                    std::to_string(static_cast<int>(m.gauge.value)) + "\n";
    CHECK_THAT(text, Contains("podlane_lbipam_ips_used{blue} 1\n"));
    CHECK_THAT(text, Contains("podlane_lbipam_ips_available{blue} 253\n"));
    CHECK_THAT(text, Contains("podlane_lbipam_pool_conflicting{red} 1\n"));
    CHECK_THAT(text, Contains("podlane_lbipam_pool_conflicting{blue} 0\n"));
    CHECK_THAT(text, Contains("podlane_lbipam_pool_disabled{red} 0\n"));
    MetricsSnapshot off;
    for (const prometheus::MetricFamily& f : metric_families(off))
        CHECK_THAT(f.name, !Contains("lbipam"));
}

TEST_CASE("metrics: before any update every family is there with zeros", "[metrics]") {
    auto m = Metrics::start(any_port());
    REQUIRE(m.ok());
    const std::string text = scrape((*m)->address());
    CHECK_THAT(text, Contains("podlane_agent_up 0\n"));
    CHECK_THAT(text, Contains("podlane_drop_count_total{reason=\"malformed\"} 0\n"));
    CHECK_THAT(text, Contains("podlane_conntrack_flows 0\n"));
    CHECK_THAT(text, Contains("# TYPE podlane_port_rx_packets_total counter\n"));
}

TEST_CASE("metrics: a port in use is a clear error naming metrics.listen", "[metrics]") {
    auto first = Metrics::start(any_port());
    REQUIRE(first.ok());
    const std::string address = (*first)->address();
    MetricsConfig same;
    same.port = static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
    auto second = Metrics::start(same);
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().message == "metrics.listen: cannot listen on " + address +
                                        ": Address already in use (choose another address or port, or set "
                                        "metrics.enabled: false)");

    MetricsConfig foreign; // an address this machine does not have
    foreign.address = *Ipv4Addr::parse("192.0.2.1");
    auto third = Metrics::start(foreign);
    REQUIRE_FALSE(third.ok());
    CHECK_THAT(third.error().message, StartsWith("metrics.listen: cannot listen on 192.0.2.1:9962: Cannot assign requested address"));
}

TEST_CASE("metrics: the publish histogram counts into the first bucket that holds the value", "[metrics]") {
    PublishHistogram h;
    h.observe(kPublishBuckets[0]); // a bound belongs to its own bucket
    h.observe(0.003);
    h.observe(5.0);
    const auto at = [](double bound) {
        return static_cast<size_t>(std::find(kPublishBuckets.begin(), kPublishBuckets.end(), bound) - kPublishBuckets.begin());
    };
    CHECK(h.buckets[0] == 1);
    CHECK(h.buckets[at(0.005)] == 1);
    CHECK(h.buckets.back() == 1); // +Inf
    CHECK(std::accumulate(h.buckets.begin(), h.buckets.end(), uint64_t{0}) == 3);
    CHECK(h.count == 3);
    CHECK(h.sum == Approx(5.00301));
}

TEST_CASE("format: status shows the metrics address", "[metrics]") {
    CHECK_THAT(format_status({{"metrics", "127.0.0.1:9962"}}), Contains("\nMetrics:              http://127.0.0.1:9962/metrics\n"));
    CHECK_THAT(format_status({{"metrics", "off"}}), Contains("\nMetrics:              off\n"));
    CHECK_THAT(format_status(Json::object()), Contains("\nMetrics:              -\n"));
}

TEST_CASE("metrics: what a start restored from the restart state", "[metrics][restart]") {
    auto m = Metrics::start(any_port());
    REQUIRE(m.ok());
    MetricsSnapshot s = fake_snapshot();
    s.restart.restored_from = "checkpoint";
    s.restart.previous_crashed = true;
    s.restart.flows_restored = 70;
    s.restart.flows_lost = 10;
    s.restart.flows_backend_gone = 2;
    s.restart.pods_adopted = 2;
    s.restart.checkpoints = 3;
    (*m)->update(s);
    const std::string text = scrape((*m)->address());
    CHECK_THAT(text, Contains("podlane_restart_info{restored_from=\"checkpoint\",previous_crashed=\"true\"} 1\n"));
    CHECK_THAT(text, Contains("# TYPE podlane_restart_flows_restored_total counter\npodlane_restart_flows_restored_total 70\n"));
    CHECK_THAT(text, Contains("podlane_restart_flows_lost_total 10\n"));
    CHECK_THAT(text, Contains("podlane_restart_flows_dropped_total{reason=\"backend_gone\"} 2\n"));
    CHECK_THAT(text, Contains("podlane_restart_flows_dropped_total{reason=\"expired\"} 0\n"));
    CHECK_THAT(text, Contains("podlane_restart_state_refused_total 0\n"));
    CHECK_THAT(text, Contains("podlane_restart_pods_adopted_total 2\n"));
    CHECK_THAT(text, Contains("podlane_restart_checkpoints_total 3\n"));

    s.restart = RestartSample{};
    s.restart.restored_from = "refused";
    (*m)->update(s);
    const std::string refused = scrape((*m)->address());
    CHECK_THAT(refused, Contains("podlane_restart_state_refused_total 1\n"));
    CHECK_THAT(refused, Contains("podlane_restart_info{restored_from=\"refused\",previous_crashed=\"false\"} 1\n"));
}
