// The agent's cluster state: applying what a ClusterSource reports (other
// nodes with their PodCIDRs, services with their backends) and showing the
// source's health.
#include "control/agent/agent.h"
#include "control/agent/named_list.h"
#include "control/tables/identity.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace podlane {

std::pair<std::vector<std::string>, bool> Agent::absorb(ClusterDelta& delta) {
    if (delta.replace) // the source's whole state: the remote clusters' nodes and pods stay
        for (const auto& [cluster, st] : mesh_states_) {
            delta.upsert_nodes.insert(delta.upsert_nodes.end(), st.nodes.begin(), st.nodes.end());
            delta.upsert_endpoints.insert(delta.upsert_endpoints.end(), st.endpoints.begin(), st.endpoints.end());
        }
    const auto nodes_changed = apply_named(config_.nodes, delta.replace, delta.upsert_nodes, delta.delete_nodes);
    // A change may give or take another service's LoadBalancer address. A
    // replacement rebuilds every entry from the source's, which carry no LB
    // IPAM status: keep the statuses, so that only real moves count as changes.
    const bool lb_ipam_touched = absorb_lb_ipam(delta);
    absorb_bgp(delta);
    const bool services_touched = delta.replace || !delta.upsert_services.empty() || !delta.delete_services.empty() ||
                                  lb_ipam_touched;
    std::map<std::string, LbIpamStatus> statuses;
    if (delta.replace)
        for (ServiceConfig& s : config_.services)
            if (s.lb_ipam.managed)
                statuses.emplace(s.name, std::move(s.lb_ipam));
    auto services_changed = apply_named(config_.services, delta.replace, delta.upsert_services, delta.delete_services);
    if (services_touched && !mesh_states_.empty()) { // a source's services carry no remote backends: add them again
        const auto mesh_changed = refresh_mesh_backends();
        services_changed.insert(services_changed.end(), mesh_changed.begin(), mesh_changed.end());
    }
    if (!statuses.empty())
        for (ServiceConfig& s : config_.services)
            if (auto it = statuses.find(s.name); it != statuses.end())
                s.lb_ipam = std::move(it->second);
    if (services_touched) {
        const auto lb_ipam_changed = run_lb_ipam();
        services_changed.insert(services_changed.end(), lb_ipam_changed.begin(), lb_ipam_changed.end());
        std::sort(services_changed.begin(), services_changed.end());
        services_changed.erase(std::unique(services_changed.begin(), services_changed.end()), services_changed.end());
    }
    // Other nodes' pods only feed the ipcache and identities (the API's view):
    // nothing to publish to the workers.
    auto endpoints_changed =
        apply_named(config_.remote_endpoints, delta.replace, delta.upsert_endpoints, delta.delete_endpoints);
    // Network policy: a new set, or other nodes' pods (identities) while policies exist.
    const bool policy_changed = (delta.has_policies && delta.policies != config_.policies) ||
                                (!endpoints_changed.empty() && !config_.policies.empty());
    if (delta.has_policies)
        config_.policies = std::move(delta.policies);
    if (nodes_changed.empty() && services_changed.empty() && !policy_changed)
        return {std::move(endpoints_changed), false};
    if (nodes_changed.empty() && services_changed.empty()) {
        ++state_updates_;
        unpublished_.push_back(delta.received);
        return {std::vector<std::string>{"policies"}, true};
    }
    if (!nodes_changed.empty() && uplink_) {
        std::vector<Ipv4Addr> peers;
        for (const PeerNodeConfig& peer : config_.nodes)
            peers.push_back(peer.ip);
        neighbors_.set_wanted(peers, uplink_->port.port_id);
    }
    // Only the changed services are recompiled. Other nodes' IPs and PodCIDRs
    // decide what is never masqueraded: node changes assemble the tables again.
    changed_services_.insert(changed_services_.end(), services_changed.begin(), services_changed.end());
    lb_reassemble_ = lb_reassemble_ || !nodes_changed.empty();
    ++state_updates_;
    unpublished_.push_back(delta.received);
    std::vector<std::string> changed = nodes_changed;
    changed.insert(changed.end(), services_changed.begin(), services_changed.end());
    return {std::move(changed), true};
}

std::vector<std::string> Agent::apply_delta(ClusterDelta delta) {
    auto [changed, dirty] = absorb(delta);
    if (dirty)
        publish();
    return changed;
}

void Agent::enqueue_delta(ClusterDelta delta) {
    ++source_deltas_;
    if (!absorb(delta).second)
        return;
    if (unpublished_.size() > 1)
        ++coalesced_; // rides along with a delta already waiting
    flush_updates();
}

void Agent::flush_updates() {
    if (!unpublished_.empty() && pacer_.may_publish(std::chrono::steady_clock::now()))
        publish();
}

Json Agent::updates_status() const {
    return Json{{"max_publish_rate", config_.tables.max_publish_rate},
                {"publishes", publishes_},
                {"source_deltas", source_deltas_},
                {"coalesced", coalesced_},
                {"waiting", unpublished_.size()}};
}

Result<Json> Agent::service_update(const std::string& yaml) {
    auto objects = parse_cluster_objects(yaml, config_, "service.update");
    if (!objects)
        return objects.error();
    if (!objects->nodes.empty())
        return make_error("service.update: takes services only (nodes come from the cluster-state source)");
    ClusterDelta d;
    d.upsert_services = std::move(objects->services);
    return applied(apply_delta(std::move(d)));
}

Result<Json> Agent::service_delete(const std::string& name) {
    const bool known = std::any_of(config_.services.begin(), config_.services.end(),
                                   [&](const ServiceConfig& s) { return s.name == name; });
    if (!known)
        return make_error("service \"" + name + "\" does not exist");
    ClusterDelta d;
    d.delete_services.push_back(name);
    return applied(apply_delta(std::move(d)));
}

Json Agent::applied(const std::vector<std::string>& changed) {
    // Answer once every worker uses the new tables: a caller that stops
    // sending to a removed backend's service knows no packet goes there.
    if (!changed.empty())
        tables_->synchronize();
    check_update_latency();
    const Snapshot* snap = tables_->load();
    return Json{{"changed", changed}, {"generation", snap ? snap->generation : 0}};
}

void Agent::attach_source(ClusterSource* source) {
    source_ = source;
    publish_endpoints_to_source();
}

void Agent::publish_endpoints_to_source() {
    if (source_ == nullptr)
        return;
    std::vector<RemoteEndpointConfig> local;
    for (const auto& [id, rec] : endpoints_)
        local.push_back(RemoteEndpointConfig{config_.node_name + "/" + rec.spec.ip.str(), rec.spec.ip,
                                             config_.node_name, identity_for_labels(rec.spec.labels, config_.cluster.id, config_.cluster.max_connected_clusters),
                                             rec.spec.labels});
    source_->publish_endpoints(std::move(local));
}

Json Agent::source_status() const {
    if (source_ == nullptr)
        return Json{{"kind", "none"}, {"state", "synced"}};
    const SourceStatus s = source_->status();
    return Json{{"kind", s.kind},           {"endpoint", s.endpoint},     {"state", source_state_name(s.state)},
                {"last_error", s.last_error}, {"revision", s.revision},   {"events", s.events},
                {"reconnects", s.reconnects}, {"resyncs", s.resyncs},     {"updates_applied", state_updates_},
                {"lease_expiries", s.lease_expiries}};
}

void Agent::check_update_latency() {
    const auto now = std::chrono::steady_clock::now();
    while (!pending_latency_.empty() && tables_->passed(pending_latency_.front().token)) {
        update_latency_.observe(std::chrono::duration<double>(now - pending_latency_.front().received).count());
        pending_latency_.pop_front();
    }
}

void Agent::controller_ran(const std::string& name, const std::string& error) {
    Controller& c = controllers_[name];
    ++c.runs;
    c.last_run = std::chrono::steady_clock::now();
    if (error.empty()) {
        c.consecutive_failures = 0;
        return;
    }
    ++c.failures;
    ++c.consecutive_failures;
    c.last_error = error;
}

Json Agent::controllers_json() const {
    const auto now = std::chrono::steady_clock::now();
    Json list = Json::array();
    for (const auto& [name, c] : controllers_)
        list.push_back(Json{{"name", name},
                            {"runs", c.runs},
                            {"failures", c.failures},
                            {"consecutive_failures", c.consecutive_failures},
                            {"last_error", c.last_error},
                            {"last_run_ms_ago", std::chrono::duration_cast<std::chrono::milliseconds>(now - c.last_run).count()},
                            {"healthy", c.consecutive_failures == 0}});
    if (source_ != nullptr) {
        const SourceStatus s = source_->status();
        list.push_back(Json{{"name", s.kind + "-source"},
                            {"runs", s.events},
                            {"failures", s.reconnects},
                            {"consecutive_failures", s.state == SourceState::Synced ? 0 : 1},
                            {"last_error", s.last_error},
                            {"last_run_ms_ago", nullptr},
                            {"healthy", s.state == SourceState::Synced}});
    }
    return list;
}

Json Agent::ipam_json() const {
    const Ipv4Prefix& cidr = config_.network.pod_cidr;
    const uint64_t size = cidr.len >= 31 ? 0 : (uint64_t{1} << (32 - cidr.len)) - 3; // network, broadcast, gateway
    return Json{{"pod_cidr", cidr.str()}, {"allocated", endpoints_.size()}, {"capacity", size}};
}

} // namespace podlane
