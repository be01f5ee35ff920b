// The agent's LB IPAM side: assigning LoadBalancer addresses from the pools
// (control/lbipam) whenever the services change, and the lbipam.pools view.
#include "control/agent/agent.h"

namespace podlane {

std::vector<std::string> Agent::run_lb_ipam() {
    // Without pools (fixed for the agent's life) LB IPAM is off: no service is
    // pending (a LoadBalancer service without addresses keeps its ClusterIP
    // and NodePort, as before LB IPAM) and a service change costs nothing more.
    if (config_.lb_ipam.pools.empty())
        return {};
    LbIpamResult result = assign_lb_ips(config_.lb_ipam, config_.services);
    lb_ipam_pools_ = std::move(result.pools);
    return apply_lb_ipam(result, config_.services);
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
