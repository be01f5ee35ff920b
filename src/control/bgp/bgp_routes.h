// What a BGP instance advertises: a pure function of the node's config and
// cluster state (PodCIDR, services, where their backends run).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "control/config/config.h"

namespace podlane {

/// Why a prefix is advertised.
enum class BgpRouteKind { PodCidr, LoadBalancerIp, ExternalIp, ClusterIp };
const char* bgp_route_kind_name(BgpRouteKind k);

/// One advertised prefix of one instance.
struct BgpRoute {
    Ipv4Prefix prefix;
    BgpRouteKind kind = BgpRouteKind::PodCidr;
    std::string service;   ///< the service it comes from (LoadBalancer/External/Cluster IPs); empty for the PodCIDR

    friend bool operator==(const BgpRoute&, const BgpRoute&) = default;
};

/// The routes to advertise, by instance name.
using BgpRouteSet = std::map<std::string, std::vector<BgpRoute>>;

/// The prefixes instance `in` advertises, sorted by prefix, each once (a
/// prefix two services share is reported for the first by name):
/// - the node's PodCIDR (advertise.pod_cidr);
/// - for each of advertise.services, the selected services' LoadBalancer
///   IPs, ExternalIPs and ClusterIPs as /32s. LoadBalancer and External IPs
///   under externalTrafficPolicy Local, ClusterIPs under
///   internalTrafficPolicy Local, only while a backend on this node is
///   active (backend_on_node), as Cilium does; under Cluster always.
std::vector<BgpRoute> bgp_routes(const BgpInstanceConfig& in, const Config& c);

} // namespace podlane
