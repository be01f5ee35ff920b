// The agent's BGP side: runs the speaker (control/bgp) when the config has
// BGP instances, feeds it the routes to advertise as services and their
// backends change, and serves the bgp.* API views and the status line.
#include "control/agent/agent.h"

#include <cstdio>
#include <ctime>

#include "control/bgp/bgp_speaker.h"
#include "control/bgp/bird_config.h"

namespace podlane {

namespace {

/// How often tick() recomputes what to advertise: a Local service's last
/// local backend going away is withdrawn well within a second.
constexpr auto kBgpRoutesPeriod = std::chrono::milliseconds(100);

constexpr const char* kBgpOff = "BGP is off: no BGP instance (bgp.instances in the config, or a "
                                "CiliumBGPClusterConfig selecting this node; docs/bgp.md)";

} // namespace

BgpRouteSet Agent::bgp_route_set() const {
    BgpRouteSet set;
    for (const BgpInstanceConfig& in : config_.bgp.instances)
        set[in.name] = bgp_routes(in, config_);
    return set;
}

Result<void> Agent::start_bgp() {
    if (!config_.bgp.enabled())
        return {};
    if (!host_port_)
        return make_error("bgp: needs the host path (an uplink and host.enabled): the sessions run from node.ip "
                          "in the node's kernel");
    bgp_ = std::make_unique<BgpSpeaker>(config_.bgp, config_.node_ip, config_.node_name);
    bgp_routes_ = bgp_route_set();
    bgp_routes_generation_ = generation_;
    return bgp_->start(bgp_routes_);
}

void Agent::absorb_bgp(const ClusterDelta& delta) {
    if (!delta.bgp_instances || *delta.bgp_instances == config_.bgp.instances)
        return;
    std::fprintf(stderr, "podlaned: bgp: %zu instance(s) now (were %zu)\n", delta.bgp_instances->size(),
                 config_.bgp.instances.size());
    config_.bgp.instances = *delta.bgp_instances;
    bgp_routes_generation_ = ~uint64_t{0}; // recompute what to advertise at the next tick
    if (!config_.bgp.enabled()) {
        stop_bgp();
        return;
    }
    if (bgp_) {
        // BIRD's `configure` restarts only the sessions whose settings changed.
        bgp_->set_instances(config_.bgp.instances);
        return;
    }
    if (auto r = start_bgp(); !r) {
        std::fprintf(stderr, "podlaned: bgp: %s\n", r.error().message.c_str());
        controller_ran("bgp-speaker", r.error().message);
        bgp_.reset();
    }
}

void Agent::bgp_tick() {
    if (!bgp_)
        return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_bgp_tick_ < kBgpRoutesPeriod)
        return;
    last_bgp_tick_ = now;
    if (bgp_routes_generation_ != generation_) {
        bgp_routes_ = bgp_route_set();
        bgp_routes_generation_ = generation_;
    }
    bgp_->tick(bgp_routes_, now);
    controller_ran("bgp-speaker", bgp_->speaker_json().value("running", false) ? "" : "BIRD is not running");
}

Result<Json> Agent::bgp_peers() {
    if (!bgp_)
        return make_error(kBgpOff);
    bgp_->refresh_status();
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    Json peers = Json::array();
    for (const BgpPeerView& v : bgp_->peers()) {
        const BgpPeerConfig& p = *v.config;
        const BirdBgpStatus& s = v.status;
        const auto routes = bgp_->routes().find(v.instance);
        Json gr{{"enabled", p.graceful_restart},
                {"restart_time_s", p.graceful_restart ? Json(p.restart_time_s) : Json()},
                {"negotiated", v.established() && s.local_graceful_restart && s.peer_graceful_restart},
                {"peer_restart_time_s", v.established() && s.peer_graceful_restart ? Json(s.peer_restart_time_s) : Json()}};
        peers.push_back(Json{
            {"instance", v.instance},
            {"name", p.name},
            {"address", p.address.str()},
            {"local_asn", v.instance_config->local_asn},
            {"peer_asn", p.peer_asn},
            {"router_id", v.instance_config->router_id.str()},
            {"state", v.known ? (s.bgp_state.empty() ? s.state : s.bgp_state) : "unknown"},
            {"info", v.known ? s.info : ""},
            {"uptime_s", v.established() && s.since > 0 ? Json(now - s.since) : Json()},
            {"received", v.established() ? Json(s.imported) : Json()},
            {"advertised", v.established() ? Json(s.exported) : Json()},
            {"configured_routes", routes == bgp_->routes().end() ? 0 : routes->second.size()},
            {"hold_time_s", v.established() ? Json(s.hold_time_s) : Json()},
            {"keepalive_time_s", v.established() ? Json(s.keepalive_time_s) : Json()},
            {"configured_hold_time_s", p.hold_time_s},
            {"configured_keepalive_time_s", p.keepalive_time_s},
            {"ebgp_multihop", p.ebgp_multihop},
            {"password", !p.password.empty()},
            {"graceful_restart", gr},
            {"last_error", v.known ? s.last_error : ""},
            {"protocol", bird_protocol_name(*v.instance_config, p)},
        });
    }
    return Json{{"speaker", bgp_->speaker_json()}, {"peers", peers}};
}

Result<Json> Agent::bgp_routes_list() {
    if (!bgp_)
        return make_error(kBgpOff);
    Json routes = Json::array();
    for (const BgpInstanceConfig& in : config_.bgp.instances) {
        Json peers = Json::array();
        for (const BgpPeerConfig& p : in.peers)
            peers.push_back(p.name);
        const auto it = bgp_->routes().find(in.name);
        if (it == bgp_->routes().end())
            continue;
        for (const BgpRoute& r : it->second)
            routes.push_back(Json{{"instance", in.name},
                                  {"prefix", r.prefix.str()},
                                  {"kind", bgp_route_kind_name(r.kind)},
                                  {"service", r.service},
                                  {"next_hop", config_.node_ip.str()},
                                  {"peers", peers}});
    }
    return routes;
}

Json Agent::bgp_status() const {
    if (!bgp_)
        return nullptr;
    size_t established = 0, total = 0;
    for (const BgpPeerView& v : bgp_->peers()) {
        ++total;
        established += v.established() ? 1 : 0;
    }
    size_t routes = 0;
    for (const auto& [name, list] : bgp_->routes())
        routes += list.size();
    Json s = bgp_->speaker_json();
    return Json{{"peers", total},          {"established", established}, {"routes", routes},
                {"speaker", "bird"},       {"running", s["running"]},    {"restarts", s["restarts"]}};
}

std::vector<BgpPeerSample> Agent::bgp_samples() const {
    std::vector<BgpPeerSample> out;
    if (!bgp_)
        return out;
    for (const BgpPeerView& v : bgp_->peers())
        out.push_back(BgpPeerSample{v.instance, v.config->name, v.config->address.str(), v.established(),
                                    v.established() ? v.status.exported : 0, v.established() ? v.status.imported : 0});
    return out;
}

void Agent::stop_bgp() {
    if (bgp_)
        bgp_->stop();
    bgp_.reset();
}

} // namespace podlane
