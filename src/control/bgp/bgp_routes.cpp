#include "control/bgp/bgp_routes.h"

#include <algorithm>

namespace podlane {

const char* bgp_route_kind_name(BgpRouteKind k) {
    switch (k) {
    case BgpRouteKind::PodCidr:
        return "PodCIDR";
    case BgpRouteKind::LoadBalancerIp:
        return "LoadBalancerIP";
    case BgpRouteKind::ExternalIp:
        return "ExternalIP";
    }
    return "?";
}

namespace {

/// Whether the node may attract the service's external traffic: always under
/// Cluster; under Local only with an active local backend (else the traffic
/// would be dropped here).
bool serves_external(const ServiceConfig& s, const Config& c) {
    if (s.external_traffic_policy == TrafficPolicy::Cluster)
        return true;
    return std::any_of(s.backends.begin(), s.backends.end(), [&](const BackendConfig& b) {
        return b.state == BackendState::Active && backend_on_node(b, c.node_name, c.network.pod_cidr);
    });
}

} // namespace

std::vector<BgpRoute> bgp_routes(const BgpInstanceConfig& in, const Config& c) {
    std::vector<BgpRoute> routes;
    if (in.advertise.pod_cidr && c.network.pod_cidr.len > 0)
        routes.push_back(BgpRoute{c.network.pod_cidr, BgpRouteKind::PodCidr, ""});
    const auto& names = in.advertise.services;
    std::vector<const ServiceConfig*> services;
    for (const ServiceConfig& s : c.services)
        if (names.empty() || std::find(names.begin(), names.end(), s.name) != names.end())
            services.push_back(&s);
    std::sort(services.begin(), services.end(), [](auto* a, auto* b) { return a->name < b->name; });
    for (const ServiceConfig* s : services) {
        if (!serves_external(*s, c))
            continue;
        if (in.advertise.load_balancer_ips && s->type == ServiceType::LoadBalancer)
            for (Ipv4Addr ip : s->lb_ips())
                routes.push_back(BgpRoute{Ipv4Prefix{ip, 32}, BgpRouteKind::LoadBalancerIp, s->name});
        if (in.advertise.external_ips)
            for (Ipv4Addr ip : s->external_ips)
                routes.push_back(BgpRoute{Ipv4Prefix{ip, 32}, BgpRouteKind::ExternalIp, s->name});
    }
    // Stable: the first by service name wins a prefix shared by two.
    std::stable_sort(routes.begin(), routes.end(), [](const BgpRoute& a, const BgpRoute& b) {
        return a.prefix.addr != b.prefix.addr ? a.prefix.addr < b.prefix.addr : a.prefix.len < b.prefix.len;
    });
    routes.erase(std::unique(routes.begin(), routes.end(),
                             [](const BgpRoute& a, const BgpRoute& b) { return a.prefix == b.prefix; }),
                 routes.end());
    return routes;
}

} // namespace podlane
