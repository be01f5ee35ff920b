// The agent's LB IPAM side: assigning LoadBalancer addresses from the pools
// (control/lbipam) whenever the services or the pools change, having the
// source record them (sticky across nodes and restarts), and the
// lbipam.pools view.
#include "control/agent/agent.h"

#include <cstdio>

namespace podlane {

bool Agent::absorb_lb_ipam(const ClusterDelta& delta) {
    bool touched = false;
    if (delta.replace && (!lb_records_.empty() || !delta.upsert_lb_records.empty())) {
        lb_records_.clear();
        touched = true;
    }
    for (const auto& [name, ips] : delta.upsert_lb_records) {
        lb_records_[name] = ips;
        touched = true;
    }
    for (const std::string& name : delta.delete_lb_records)
        touched |= lb_records_.erase(name) > 0;
    if (delta.lb_ipam && !(*delta.lb_ipam == config_.lb_ipam)) {
        std::fprintf(stderr, "podlaned: lb-ipam: %zu pool(s) now (were %zu)\n", delta.lb_ipam->pools.size(),
                     config_.lb_ipam.pools.size());
        config_.lb_ipam = *delta.lb_ipam;
        touched = true;
    }
    return touched;
}

std::vector<std::string> Agent::run_lb_ipam() {
    // Without pools LB IPAM is off: no service is pending (a LoadBalancer
    // service without addresses keeps its ClusterIP and NodePort, as before
    // LB IPAM; recorded addresses are served as they are) and a service
    // change costs nothing more.
    if (config_.lb_ipam.pools.empty()) {
        std::vector<std::string> changed;
        for (ServiceConfig& s : config_.services)
            if (s.lb_ipam.managed) {
                s.lb_ipam = LbIpamStatus{};
                changed.push_back(s.name);
            }
        lb_ipam_pools_.clear();
        return changed;
    }
    // Records kept apart from the services (etcd) join their services.
    if (config_.source.kind == SourceKind::Etcd)
        for (ServiceConfig& s : config_.services) {
            auto it = lb_records_.find(s.name);
            s.lbipam_recorded = it == lb_records_.end() ? std::vector<Ipv4Addr>{} : it->second;
        }
    LbIpamResult result = assign_lb_ips(config_.lb_ipam, config_.services);
    lb_ipam_pools_ = std::move(result.pools);
    auto changed = apply_lb_ipam(result, config_.services);
    record_lb_ips();
    return changed;
}

void Agent::record_lb_ips() {
    if (source_ == nullptr)
        return;
    std::map<std::string, LbRecordAsk> asked;
    const auto ask = [&](const std::string& name, const std::vector<Ipv4Addr>& ips,
                         const std::vector<Ipv4Addr>& recorded) {
        LbRecordAsk a{ips, recorded};
        auto it = lb_asked_.find(name);
        if (it == lb_asked_.end() || !(it->second == a))
            source_->record_lb_ips(name, ips, recorded);
        asked[name] = std::move(a);
    };
    for (const ServiceConfig& s : config_.services)
        if (s.lb_ipam.managed && s.lb_ipam.ips != s.lbipam_recorded)
            ask(s.name, s.lb_ipam.ips, s.lbipam_recorded);
    // A deleted service's record goes with it (etcd; a Service's status goes
    // with the Service).
    for (const auto& [name, ips] : lb_records_)
        if (!service_named(name))
            ask(name, {}, ips);
    lb_asked_ = std::move(asked);
}

Result<Json> Agent::lb_ipam_pools() {
    Json pools = Json::array();
    for (size_t i = 0; i < lb_ipam_pools_.size(); ++i) {
        const LbIpamPoolStatus& st = lb_ipam_pools_[i];
        const LbIpamPoolConfig& pc = config_.lb_ipam.pools[i];
        Json blocks = Json::array();
        for (const LbIpamBlock& b : pc.blocks)
            blocks.push_back(b.text);
        Json services = Json::array();
        for (const ServiceConfig& s : config_.services)
            if (s.lb_ipam.pool == st.name && !s.lb_ipam.ips.empty())
                services.push_back(s.name);
        pools.push_back(Json{{"name", st.name},
                             {"disabled", st.disabled},
                             {"conflicting", st.conflicting},
                             {"conflict", st.conflict.empty() ? Json(nullptr) : Json(st.conflict)},
                             {"ips_total", st.total},
                             {"ips_available", st.available()},
                             {"ips_used", st.used},
                             {"blocks", blocks},
                             {"services", services}});
    }
    Json pending = Json::array();
    for (const ServiceConfig& s : config_.services)
        if (s.lb_ipam.managed && !s.lb_ipam.pending.empty())
            pending.push_back(Json{{"name", s.name}, {"reason", s.lb_ipam.pending}});
    return Json{{"pools", pools}, {"pending", pending}};
}

} // namespace podlane
