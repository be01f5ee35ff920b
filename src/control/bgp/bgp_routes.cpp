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
    case BgpRouteKind::ClusterIp:
        return "ClusterIP";
    }
    return "?";
}

namespace {

bool has_local_active_backend(const ServiceConfig& s, const Config& c) {
    return std::any_of(s.backends.begin(), s.backends.end(), [&](const BackendConfig& b) {
        return b.state == BackendState::Active && backend_on_node(b, c.node_name, c.network.pod_cidr);
    });
}

/// Whether the node may attract the service's traffic under `policy`: always
/// under Cluster; under Local only with an active local backend (else the
/// traffic would be dropped here).
bool serves(TrafficPolicy policy, const ServiceConfig& s, const Config& c) {
    return policy == TrafficPolicy::Cluster || has_local_active_backend(s, c);
}

bool selects(const BgpServiceAdvertisement& a, const ServiceConfig& s) {
    if (!a.names.empty() && std::find(a.names.begin(), a.names.end(), s.name) == a.names.end())
        return false;
    return a.selector.empty() || a.selector.matches(service_selector_labels(s.name, s.labels));
}

} // namespace

std::vector<BgpRoute> bgp_routes(const BgpInstanceConfig& in, const Config& c) {
    std::vector<BgpRoute> routes;
    if (in.advertise.pod_cidr && c.network.pod_cidr.len > 0)
        routes.push_back(BgpRoute{c.network.pod_cidr, BgpRouteKind::PodCidr, ""});
    std::vector<const ServiceConfig*> services;
    for (const ServiceConfig& s : c.services)
        services.push_back(&s);
    std::sort(services.begin(), services.end(), [](auto* a, auto* b) { return a->name < b->name; });
    for (const ServiceConfig* s : services) {
        bool lb = false, external = false, cluster = false;
        for (const BgpServiceAdvertisement& a : in.advertise.services)
            if (selects(a, *s)) {
                lb |= a.load_balancer_ips;
                external |= a.external_ips;
                cluster |= a.cluster_ips;
            }
        const bool ext_ok = (lb || external) && serves(s->external_traffic_policy, *s, c);
        if (lb && ext_ok && s->type == ServiceType::LoadBalancer)
            for (Ipv4Addr ip : s->lb_ips())
                routes.push_back(BgpRoute{Ipv4Prefix{ip, 32}, BgpRouteKind::LoadBalancerIp, s->name});
        if (external && ext_ok)
            for (Ipv4Addr ip : s->external_ips)
                routes.push_back(BgpRoute{Ipv4Prefix{ip, 32}, BgpRouteKind::ExternalIp, s->name});
        if (cluster && !s->cluster_ip.is_zero() && serves(s->internal_traffic_policy, *s, c))
            routes.push_back(BgpRoute{Ipv4Prefix{s->cluster_ip, 32}, BgpRouteKind::ClusterIp, s->name});
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
