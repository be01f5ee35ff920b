// The lines of `podlane status` that follow cilium-dbg status (docs/status.md):
// host routing, masquerading with its mode and excluded ranges, encryption,
// flow observability (Hubble's line) and the modules' health.
#include "control/agent/agent.h"

#include <chrono>

namespace podlane {

Json Agent::masquerade_status() const {
    const bool on = lb_ && lb_->masquerade;
    Json excluded = Json::array();
    if (on) {
        // What is never masqueraded (dataplane/masquerade.h): the cluster.
        if (config_.routing.native_routing_cidr.len > 0)
            excluded.push_back(config_.routing.native_routing_cidr.str());
        excluded.push_back(config_.network.pod_cidr.str());
        for (const PeerNodeConfig& peer : config_.nodes)
            for (const Ipv4Prefix& p : peer.pod_cidrs)
                excluded.push_back(p.str());
        for (const Ipv4Prefix& p : config_.masquerade.non_masquerade_cidrs)
            excluded.push_back(p.str());
    }
    return Json{{"enabled", on},
                {"mode", "podlane"},
                {"interfaces", uplink_ ? Json::array({uplink_->spec.name}) : Json::array()},
                {"to", on ? config_.node_ip.str() : ""},
                {"excluded", excluded},
                {"node_ips_excluded", on}};
}

Json Agent::flow_observability_status() const {
    // Flows/s as Hubble shows it: events stored in the last minute.
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    const double window = std::min(60.0, std::max(uptime, 1.0));
    size_t recent = 0;
    for (auto it = flows_.rbegin(); it != flows_.rend() && it->time >= now - window; ++it)
        ++recent;
    return Json{{"enabled", config_.observe.enabled},
                {"current_flows", flows_.size()},
                {"max_flows", config_.observe.history},
                {"flows_seen", flow_seq_},
                {"flows_per_s", static_cast<double>(recent) / window},
                {"metrics", metrics_ ? "Ok" : "Disabled"}};
}

Json Agent::modules_status() const {
    Json list = Json::array();
    const auto add = [&](const std::string& name, const char* state, const std::string& message) {
        list.push_back(Json{{"name", name}, {"state", state}, {"message", message}});
    };
    add("dataplane", workers_running_ ? "ok" : "stopped", workers_running_ ? "" : "workers not running");
    if (source_ != nullptr) {
        const SourceStatus s = source_->status();
        add("cluster-source", s.state == SourceState::Synced ? "ok" : "degraded", s.last_error);
    }
    add("metrics", metrics_ ? "ok" : "stopped", metrics_ ? "" : "metrics.listen off");
    add("flow-observability", config_.observe.enabled ? "ok" : "stopped", "");
    if (bgp_)
        add("bgp", bgp_->speaker_json().value("running", false) ? "ok" : "degraded", "");
    if (config_.health.enabled && uplink_)
        add("health", health_prober_ && health_error_.empty() ? "ok" : "degraded", health_error_);
    if (ipam_store_ || config_.endpoints.empty())
        add("cni", ipam_store_ ? "ok" : "stopped", ipam_store_ ? "" : "no CNI request yet");
    return list;
}

Json Agent::status_details() const {
    return Json{{"host_routing", host_port_ ? "podlane" : "none"},
                {"masquerade", masquerade_status()},
                {"encryption", "Disabled"},
                {"flow_observability", flow_observability_status()},
                {"modules", modules_status()},
                {"cluster_health", cluster_health_status()}};
}

} // namespace podlane
