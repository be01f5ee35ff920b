#include "control/health/health_prober.h"

#include <algorithm>
#include <chrono>
#include <future>

#include <unistd.h>

#include "control/health/icmp_probe.h"
#include "control/sources/http_client.h"

namespace podlane {

namespace {

ProbeResult icmp_probe(Ipv4Addr ip, uint16_t id, uint16_t seq, uint32_t timeout_ms) {
    ProbeResult p;
    p.probed = true;
    auto rtt = icmp_echo(ip, id, seq, timeout_ms);
    if (rtt) {
        p.ok = true;
        p.rtt_s = *rtt;
    } else {
        p.error = rtt.error().message;
    }
    return p;
}

/// GET /hello on ip:port with the project's HTTP client; ok on a 200.
ProbeResult http_probe(Ipv4Addr ip, uint16_t port, uint32_t timeout_ms) {
    ProbeResult p;
    p.probed = true;
    const auto start = std::chrono::steady_clock::now();
    HttpConnection c;
    const HttpUrl url{.tls = false, .host = ip.str(), .port = std::to_string(port)};
    Result<void> r = c.connect(url, timeout_ms);
    if (r)
        r = c.send("GET", "/hello", "", {"Host: " + ip.str() + ":" + std::to_string(port), "Connection: close"},
                   timeout_ms);
    if (r)
        r = c.read_head(timeout_ms);
    if (r && c.status() != 200)
        r = make_error("HTTP status " + std::to_string(c.status()));
    if (r) {
        if (auto body = c.body(timeout_ms); !body)
            r = body.error();
    }
    if (!r) {
        p.error = r.error().message;
        return p;
    }
    p.ok = true;
    p.rtt_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return p;
}

double epoch_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

} // namespace

HealthProber::HealthProber(const HealthConfig& config)
    : config_(config), icmp_id_(static_cast<uint16_t>(::getpid())), thread_([this] { run(); }) {}

HealthProber::~HealthProber() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void HealthProber::set_targets(std::vector<HealthTarget> targets) {
    std::lock_guard lock(mu_);
    if (targets == targets_)
        return;
    targets_ = std::move(targets);
    // Nodes that are new show up unprobed until the next round.
    std::vector<NodeHealth> nodes;
    for (const HealthTarget& t : targets_) {
        auto old = std::find_if(report_.nodes.begin(), report_.nodes.end(),
                                [&](const NodeHealth& n) { return n.name == t.name; });
        NodeHealth n = old != report_.nodes.end() ? *old : NodeHealth{};
        n.name = t.name;
        n.local = t.local;
        n.host.ip = t.host_ip;
        n.endpoint.ip = t.endpoint_ip;
        nodes.push_back(std::move(n));
    }
    report_.nodes = std::move(nodes);
}

HealthReport HealthProber::report() const {
    std::lock_guard lock(mu_);
    return report_;
}

NodeHealth HealthProber::probe(const HealthTarget& t) {
    uint16_t s0;
    {
        std::lock_guard lock(mu_);
        s0 = seq_;
        seq_ = static_cast<uint16_t>(seq_ + 2);
    }
    const uint32_t timeout = config_.timeout_ms;
    NodeHealth n;
    n.name = t.name;
    n.local = t.local;
    n.host.ip = t.host_ip;
    n.endpoint.ip = t.endpoint_ip;
    // The four probes run at once: a dead node costs one timeout, not four.
    auto host_icmp = std::async(std::launch::async, icmp_probe, t.host_ip, icmp_id_, s0, timeout);
    auto host_http = std::async(std::launch::async, http_probe, t.host_ip, config_.port, timeout);
    std::future<ProbeResult> ep_icmp, ep_http;
    if (!t.endpoint_ip.is_zero()) {
        ep_icmp = std::async(std::launch::async, icmp_probe, t.endpoint_ip, icmp_id_, static_cast<uint16_t>(s0 + 1), timeout);
        ep_http = std::async(std::launch::async, http_probe, t.endpoint_ip, config_.port, timeout);
    }
    n.host.icmp = host_icmp.get();
    n.host.http = host_http.get();
    if (ep_icmp.valid()) {
        n.endpoint.icmp = ep_icmp.get();
        n.endpoint.http = ep_http.get();
    }
    return n;
}

void HealthProber::run() {
    std::unique_lock lock(mu_);
    while (!stop_) {
        const auto round_start = std::chrono::steady_clock::now();
        const std::vector<HealthTarget> targets = targets_;
        lock.unlock();
        std::vector<std::future<NodeHealth>> probes;
        for (const HealthTarget& t : targets)
            probes.push_back(std::async(std::launch::async, [this, t] { return probe(t); }));
        std::vector<NodeHealth> nodes;
        for (auto& f : probes)
            nodes.push_back(f.get());
        const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - round_start).count();
        lock.lock();
        if (targets == targets_) // else the targets changed meanwhile: probe the new ones first
            report_.nodes = std::move(nodes);
        ++report_.rounds;
        report_.last_round_time = epoch_now();
        report_.round_seconds = took;
        wake_.wait_until(lock, round_start + std::chrono::milliseconds(config_.interval_ms), [this] { return stop_; });
    }
}

} // namespace podlane
