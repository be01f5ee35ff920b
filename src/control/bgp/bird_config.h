// BIRD 2's configuration for podlaned's BGP instances: generated as a whole
// from the config and the routes to advertise, and applied with
// `birdc configure` (BIRD keeps every session whose peer settings did not
// change, and only sends the route differences).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "control/bgp/bgp_routes.h"
#include "control/config/bgp_config.h"

namespace podlane {

/// BIRD's protocol name for a peer of an instance: "bgp_<instance>__<peer>",
/// '-' as '_' (BIRD symbols are letters, digits and '_').
std::string bird_protocol_name(const BgpInstanceConfig& in, const BgpPeerConfig& peer);

/// The whole bird.conf: one table and one static protocol (the advertised
/// routes, as blackholes) per instance, and one BGP protocol per peer that
/// exports that table's static routes only and imports into it. Nothing is
/// installed into the kernel (no kernel protocol): podlane's dataplane owns
/// forwarding. `routes` has one list per instance, by instance name.
std::string bird_config(const BgpConfig& bgp, const BgpRouteSet& routes,
                        Ipv4Addr node_ip, const std::string& node_name);

} // namespace podlane
