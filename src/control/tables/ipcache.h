// The ipcache model, Cilium's map from IP prefixes to security identities and
// tunnel endpoints (`cilium map get cilium_ipcache`), computed on the control
// side from the config and the local endpoints. For now it is informational
// (shown over the API); the dataplane consumes it in a later issue.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "control/config/config.h"
#include "control/api/control_api.h"

namespace podlane {

/// One ipcache entry.
struct IpcacheEntry {
    Ipv4Prefix prefix;
    uint32_t identity = 0;
    Ipv4Addr tunnel_endpoint; ///< 0 = local; else the node IP behind the prefix (next hop in native routing)
    std::string source;       ///< "local-endpoint", "node", "remote-pod-cidr" or "local-pod-cidr"
};

/// The ipcache for this node, sorted by prefix address, then length:
///  - each local endpoint's IP/32 -> identity_for_labels(its labels), local;
///  - config.node_ip/32 (when set) and the gateway IP/32 -> host (1), local, source "node"
///    (the gateway is Cilium's router IP, which carries the host identity);
///  - this node's PodCIDR -> world (2), local, "local-pod-cidr": a pod IP that is not
///    (yet) a known endpoint has no identity of its own;
///  - each peer node's IP/32 -> remote-node (6), tunnel endpoint = that IP, source "node";
///  - each peer PodCIDR -> world (2), tunnel endpoint = the peer's node IP, "remote-pod-cidr"
///    (remote pods' own identities arrive with the kvstore later). In native routing
///    the tunnel endpoint is recorded all the same: it is the next hop.
/// A prefix listed twice keeps the first of the order above (e.g. an endpoint /32
/// over a node /32); a peer without a node IP is skipped.
std::vector<IpcacheEntry> build_ipcache(const Config& config, const std::vector<EndpointConfig>& local_endpoints);

/// The longest-prefix match for `ip`, or nullptr.
const IpcacheEntry* ipcache_lookup(const std::vector<IpcacheEntry>& ipcache, Ipv4Addr ip);

/// "ipcache.list" data: [{"prefix", "identity", "identity_name", "tunnel_endpoint", "source"}],
/// identity_name being "reserved:..." or "" and tunnel_endpoint "0.0.0.0" for local.
Json ipcache_json(const std::vector<IpcacheEntry>& ipcache);
/// Same as ipcache_json(build_ipcache(config, local_endpoints)).
Json ipcache_json(const Config& config, const std::vector<EndpointConfig>& local_endpoints);

/// "identity.list" data: the reserved identities, then one entry per distinct label set of
/// the local endpoints, sorted by id (then labels, should two label sets share an id):
/// [{"id", "labels": ["k=v", ...] or ["reserved:host"], "reserved": bool, "endpoints": N}].
Json identity_list_json(const Config& config, const std::vector<EndpointConfig>& local_endpoints);

} // namespace podlane
