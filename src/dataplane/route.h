// The route stage: where a packet goes, decided from its destination (after
// the load balancer's rewrite). It only decides; delivering, masquerading
// and encapsulating are stages of their own, which the journey calls.
#pragma once

#include <cstdint>

#include "dataplane/drop_reason.h"
#include "dataplane/ingress.h"
#include "dataplane/parse.h"
#include "dataplane/snapshot.h"

namespace podlane {

/// Where route() sends a packet.
enum class RouteTo : uint8_t {
    Drop,       ///< nowhere: `drop` says why
    LocalPod,   ///< the local endpoint `index`
    Host,       ///< the node's kernel, over the host path
    Us,         ///< podlane itself (the node IP without a host path, or from the host)
    RemoteNode, ///< the remote node `index` (UplinkView::nodes) that owns the destination's PodCIDR
    Uplink,     ///< out of the uplink, unencapsulated: other nodes' kernels, the world
};

/// route()'s answer.
struct Route {
    RouteTo where = RouteTo::Drop;
    DropReason drop = DropReason::UnknownDestination; ///< when where == Drop
    uint32_t index = 0;                               ///< LocalPod: the endpoint; RemoteNode: the node

    static constexpr Route to(RouteTo where, uint32_t index = 0) noexcept { return {where, DropReason::Count, index}; }
    static constexpr Route nowhere(DropReason why) noexcept { return {RouteTo::Drop, why, 0}; }
};

/// Where a packet from a pod, the host path or (translated by the load
/// balancer) the uplink goes: a local pod, the node's kernel, a remote
/// node, or out of the uplink. TTL is tested for routed hops.
[[gnu::always_inline]] inline Route route(const Snapshot& snap, const ParsedPacket& p, const Ingress& in) noexcept {
    const rte_ipv4_hdr* ip = p.ip;
    const Ipv4Addr dst{ip->dst_addr};
    // Local pods all live in the node's PodCIDR: one mask test spares
    // remote-bound packets the endpoint lookup.
    if ((dst.be & snap.pod_mask_be) == snap.pod_net_be) {
        if (ip->time_to_live <= 1)
            return Route::nowhere(DropReason::TtlExceeded);
        const uint32_t ep = snap.endpoint_by_ip.lookup(dst);
        if (ep != kNoEndpoint)
            return Route::to(RouteTo::LocalPod, ep);
        return Route::nowhere(DropReason::UnknownDestination);
    }
    // (Pod CIDRs are unicast: only traffic leaving them can be multicast.)
    if (ipv4_is_multicast_or_broadcast(ip->dst_addr))
        return Route::nowhere(DropReason::Multicast);
    const UplinkView& up = snap.uplink;
    if (!up.has_uplink)
        return Route::nowhere(DropReason::UnknownDestination);
    // The node's own IP is local delivery, not a routed hop: no TTL check.
    if (dst == up.node_ip)
        return Route::to(up.has_host && !in.from_host ? RouteTo::Host : RouteTo::Us);
    if (ip->time_to_live <= 1)
        return Route::nowhere(DropReason::TtlExceeded);
    const uint32_t cidr = up.remote_cidrs.lookup(dst);
    if (cidr != kNotFound)
        return Route::to(RouteTo::RemoteNode, up.cidr_owner[cidr]);
    // Everything else leaves by the uplink, unencapsulated: the node's
    // kernel, the other nodes' kernels, and the outside world.
    return Route::to(RouteTo::Uplink);
}

/// Where a packet another node sent (decapsulated, or natively routed) goes:
/// only to a local pod.
[[gnu::always_inline]] inline Route route_from_node(const Snapshot& snap, const ParsedPacket& p) noexcept {
    if (p.ip->time_to_live <= 1)
        return Route::nowhere(DropReason::TtlExceeded);
    const uint32_t ep = snap.endpoint_by_ip.lookup(Ipv4Addr{p.ip->dst_addr});
    if (ep == kNoEndpoint)
        return Route::nowhere(DropReason::UnknownDestination);
    return Route::to(RouteTo::LocalPod, ep);
}

} // namespace podlane
