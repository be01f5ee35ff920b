// Node health (docs/health.md): the agent's HTTP responders on the node IP
// and on the health endpoint, the health endpoint itself (a pod of podlane's
// own in an anonymous network namespace, like Cilium's cilium-health
// endpoint), and the prober's targets: every node of the cluster.
#include "control/agent/agent.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "control/health/health_address.h"

namespace podlane {

namespace {

/// A new network namespace that belongs to no name and no process: a thread
/// unshares into it and returns a descriptor of it. It lives as long as the
/// descriptor (and what was moved into it), so it vanishes with podlaned.
Result<int> anonymous_netns() {
    int fd = -1;
    std::string error;
    std::thread([&] {
        if (::unshare(CLONE_NEWNET) != 0) {
            error = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
            return;
        }
        fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            error = std::string("open /proc/thread-self/ns/net: ") + std::strerror(errno);
    }).join();
    if (fd < 0)
        return make_error("health endpoint namespace: " + error);
    return fd;
}

} // namespace

void Agent::start_health() {
    if (!config_.health.enabled)
        return;
    if (!uplink_)
        return; // a single node: no other node to probe, nothing to report
    if (!host_port_) {
        health_error_ = "needs the host path (host.enabled)";
        return;
    }
    auto host = HealthResponder::start(config_.node_ip, config_.health.port, config_.node_name, "");
    if (!host) {
        health_error_ = host.error().message;
        return;
    }
    health_responders_.push_back(std::move(*host));
    if (config_.health.endpoint)
        if (auto r = start_health_endpoint(); !r)
            health_error_ = "health endpoint: " + r.error().message;
    health_prober_ = std::make_unique<HealthProber>(config_.health);
    health_prober_->set_targets(health_targets());
}

Result<void> Agent::start_health_endpoint() {
    const Ipv4Addr ip = health_endpoint_ip(config_.network.pod_cidr);
    if (ip.is_zero())
        return make_error("PodCIDR " + config_.network.pod_cidr.str() + " has no room for it");
    auto fd = anonymous_netns();
    if (!fd)
        return fd.error();
    health_netns_fd_ = *fd;
    const std::string path = "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(*fd);
    EndpointConfig ep;
    ep.id = kHealthEndpointId;
    ep.ip = ip;
    ep.mac = MacAddr::from_ipv4(ip);
    ep.netns = path;
    ep.labels = {{"reserved:health", ""}};
    if (auto r = endpoint_add(ep); !r)
        return r.error();
    auto responder = HealthResponder::start(ip, config_.health.port, config_.node_name, path);
    if (!responder)
        return responder.error();
    health_responders_.push_back(std::move(*responder));
    health_ip_ = ip;
    return {};
}

std::vector<HealthTarget> Agent::health_targets() const {
    std::vector<HealthTarget> out;
    out.push_back(HealthTarget{config_.node_name, true, config_.node_ip, health_ip_});
    for (const PeerNodeConfig& peer : config_.nodes)
        out.push_back(HealthTarget{peer.name, false, peer.ip,
                                   !config_.health.endpoint || peer.pod_cidrs.empty()
                                       ? Ipv4Addr{}
                                       : health_endpoint_ip(peer.pod_cidrs.front())});
    return out;
}

void Agent::health_tick() {
    if (!health_prober_)
        return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_health_tick_ < std::chrono::seconds(1))
        return;
    last_health_tick_ = now;
    health_prober_->set_targets(health_targets());
    controller_ran("cluster-health");
}

void Agent::stop_health() {
    health_prober_.reset();
    health_responders_.clear();
}

void Agent::close_health_netns() {
    if (health_netns_fd_ >= 0)
        ::close(health_netns_fd_);
    health_netns_fd_ = -1;
}

Result<Json> Agent::health_status() {
    if (!health_prober_)
        return make_error(!config_.health.enabled ? "node health probing is off (health.enabled: false)"
                          : !uplink_             ? "node health probing needs an uplink: this is a single node"
                                                 : "node health probing is not running: " + health_error_);
    Json j = health_report_json(health_prober_->report(), config_.health.interval_ms);
    j["node"] = config_.node_name;
    j["port"] = config_.health.port;
    if (!health_error_.empty())
        j["error"] = health_error_;
    return j;
}

Json Agent::cluster_health_status() const {
    if (!health_prober_)
        return Json{{"enabled", config_.health.enabled && uplink_}, {"error", health_error_}};
    const HealthReport r = health_prober_->report();
    return Json{{"enabled", true},
                {"reachable", r.reachable_nodes()},
                {"total", r.nodes.size()},
                {"unreachable_endpoints", r.unreachable_endpoints()},
                {"last_round_time", r.last_round_time},
                {"rounds", r.rounds},
                {"endpoint_ip", health_ip_.is_zero() ? "" : health_ip_.str()},
                {"error", health_error_}};
}

std::vector<NodeHealth> Agent::health_samples() const {
    return health_prober_ ? health_prober_->report().nodes : std::vector<NodeHealth>{};
}

} // namespace podlane
