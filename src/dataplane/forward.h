// IPv4 forwarding: from a pod port to a local pod (MAC rewrite) or to a
// remote node (natively over the uplink, or in a VXLAN/Geneve tunnel), with
// the source check, TTL, path MTU and next-hop resolution on the way.
#pragma once

#include <rte_ring_elem.h>

#include "dataplane/checksum.h"
#include "dataplane/counters.h"
#include "dataplane/icmp_echo.h"
#include "dataplane/icmp_error.h"
#include "dataplane/dsr.h"
#include "dataplane/load_balancer.h"
#include "dataplane/masquerade.h"
#include "dataplane/parse.h"
#include "dataplane/snapshot.h"
#include "dataplane/tunnel.h"
#include "dataplane/verdict.h"

namespace podlane {

/// Cilium's reserved identity for the node itself (host traffic's VNI).
inline constexpr uint32_t kHostIdentity = 1;
/// Cilium's reserved identity for everything outside the cluster.
inline constexpr uint32_t kWorldIdentity = 2;

/// What the pipeline knows about the port a burst came in on.
struct Ingress {
    uint16_t port = 0;
    bool from_endpoint = false; ///< the port belongs to a pod
    bool from_host = false;     ///< the port is the host path (the node's kernel)
    Ipv4Addr endpoint_ip;       ///< that pod's IP, the only source it may use
    uint32_t identity = 0;      ///< the sender's identity (the VNI of its tunnelled packets)

    static Ingress of(const Snapshot& snap, uint16_t port) noexcept {
        if (snap.ports[port].role == PortRole::Host)
            return Ingress{port, false, true, {}, kHostIdentity};
        const uint32_t ep = snap.ports[port].endpoint;
        if (ep == kNoEndpoint)
            return Ingress{port, false, false, {}, 0};
        return Ingress{port, true, false, snap.endpoints[ep].ip, snap.endpoints[ep].identity};
    }
    /// The uplink: traffic from outside (or from other nodes' kernels).
    static Ingress uplink(uint16_t port) noexcept { return Ingress{port, false, false, {}, kWorldIdentity}; }
};

/// For a packet longer than `path_mtu`: ICMP fragmentation-needed back to
/// its sender if DF is set, else a drop (podlane does not fragment).
inline Verdict too_big_for_path(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p, const Ingress& in,
                                uint16_t path_mtu) noexcept {
    if (p.ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG))
        return icmp_frag_needed(m, p, snap.gateway_ip, snap.gateway_mac, path_mtu, in.port);
    return Verdict::drop(DropReason::TooBig);
}

/// Delivers a packet to the node's own kernel over the host path. Local
/// delivery, as for any host: TTL is left alone.
inline Verdict deliver_host(const Snapshot& snap, const ParsedPacket& p) noexcept {
    const UplinkView& up = snap.uplink;
    __builtin_memcpy(p.eth->dst_addr.addr_bytes, up.host_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    __builtin_memcpy(p.eth->src_addr.addr_bytes, snap.gateway_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    return Verdict::tx(up.host_port, Outcome::Forwarded);
}

/// Asks the control thread to resolve `hop` (it probes at once). While a
/// next hop is unresolved every packet to it asks: once the ring holds a
/// few requests already, more say nothing new and are not queued.
inline void ask_resolve(const UplinkView& up, Ipv4Addr hop, WorkerCounters& c) noexcept {
    NeighborFact ask{hop, {}, kResolveRequest};
    if (up.neighbor_ring == nullptr)
        c.neighbor_facts_lost.add(1);
    else if (rte_ring_count(up.neighbor_ring) < 32 && rte_ring_mp_enqueue_elem(up.neighbor_ring, &ask, sizeof ask) != 0)
        c.neighbor_facts_lost.add(1);
}

/// Sends a packet out of the uplink, unencapsulated, to `dst` on the uplink
/// subnet or else via the uplink's gateway. An unresolved next hop is asked
/// of the control thread, and the packet waits for it (HoldQueue).
inline Verdict forward_uplink(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p, const Ingress& in,
                              WorkerCounters& c, LbWorker& w) noexcept {
    const UplinkView& up = snap.uplink;
    const StageResult masq = masquerade(snap, p, w);
    if (masq.done)
        return masq.verdict;
    if (in.from_host)
        masquerade_track_host(snap, p, w);
    const Ipv4Addr dst{p.ip->dst_addr};
    const Ipv4Addr hop = up.subnet.contains(dst) ? dst : up.gateway;
    if (hop.is_zero())
        return Verdict::drop(DropReason::UnknownDestination);
    if (rte_be_to_cpu_16(p.ip->total_length) > up.mtu)
        return too_big_for_path(snap, m, p, in, up.mtu);
    const uint32_t n = up.neighbor_by_ip.lookup(hop);
    if (n == kNotFound) {
        ask_resolve(up, hop, c);
        return Verdict::unresolved(hop);
    }
    ipv4_decrement_ttl(p.ip);
    __builtin_memcpy(p.eth->dst_addr.addr_bytes, up.neighbor_macs[n].bytes.data(), RTE_ETHER_ADDR_LEN);
    __builtin_memcpy(p.eth->src_addr.addr_bytes, up.node_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    return Verdict::tx(up.port_id, Outcome::Forwarded);
}

/// Delivers a packet to local endpoint `ep`: TTL and MACs as a router would.
[[gnu::always_inline]] inline Verdict deliver_local(const Snapshot& snap, const ParsedPacket& p, uint32_t ep, Outcome what) noexcept {
    const EndpointEntry& to = snap.endpoints[ep];
    ipv4_decrement_ttl(p.ip);
    __builtin_memcpy(p.eth->dst_addr.addr_bytes, to.mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    __builtin_memcpy(p.eth->src_addr.addr_bytes, snap.gateway_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    return Verdict::tx(to.port_id, what);
}

/// Sends a pod's packet to the remote node owning its destination
/// (kResolved: whose MAC is known; else the packet is routed and
/// encapsulated all the same and waits for the MAC in the hold queue).
template <bool kResolved>
inline Verdict forward_remote_to(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p, const Ingress& in,
                                 uint32_t node_index, const StageResult& lb) noexcept {
    const UplinkView& up = snap.uplink;
    const RemoteNode& node = up.nodes[node_index];
    const bool tunnel = up.routing != Routing::Native;
    const uint16_t dsr_len = lb.dsr && up.routing == Routing::Geneve ? sizeof(GeneveDsrOpt) : 0;
    const uint16_t path_mtu = static_cast<uint16_t>(tunnel ? up.mtu - kTunnelOverhead - dsr_len : up.mtu);
    if (rte_be_to_cpu_16(p.ip->total_length) > path_mtu)
        return too_big_for_path(snap, m, p, in, path_mtu);

    ipv4_decrement_ttl(p.ip);
    if (!tunnel) {
        __builtin_memcpy(p.eth->dst_addr.addr_bytes, node.mac.bytes.data(), RTE_ETHER_ADDR_LEN);
        __builtin_memcpy(p.eth->src_addr.addr_bytes, up.node_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
        return kResolved ? Verdict::tx(up.port_id, Outcome::Forwarded) : Verdict::unresolved(node.ip, true);
    }
    // The inner frame goes from this node's gateway to the remote end of the
    // tunnel (a podlane node rewrites it for its pod anyway; a kernel VXLAN
    // device accepts only its own MAC).
    __builtin_memcpy(p.eth->dst_addr.addr_bytes, node.inner_dst_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    __builtin_memcpy(p.eth->src_addr.addr_bytes, snap.gateway_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    const rte_be16_t sport = tunnel_source_port(inner_flow_hash(p.ip, p.ip_hdr_len));
    const bool ok = dsr_len != 0 ? tunnel_encap_dsr(m, node, in.identity, sport, lb.dsr_addr, lb.dsr_port)
                                 : tunnel_encap(m, node, in.identity, sport);
    if (!ok)
        return Verdict::drop(DropReason::NoHeadroom);
    return kResolved ? Verdict::tx(up.port_id, Outcome::Encapsulated) : Verdict::unresolved(node.ip, true);
}

/// Sends a pod's packet to the remote node owning its destination, whose MAC is known.
[[gnu::noinline]] inline Verdict forward_remote(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p,
                                                const Ingress& in, uint32_t node_index,
                                                const StageResult& lb) noexcept {
    return forward_remote_to<true>(snap, m, p, in, node_index, lb);
}

/// The same for a node whose MAC is still being resolved: asks for it, and
/// the routed packet waits in the hold queue.
[[gnu::noinline]] inline Verdict forward_remote_unresolved(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p,
                                                           const Ingress& in, uint32_t node_index, const StageResult& lb,
                                                           WorkerCounters& c) noexcept {
    ask_resolve(snap.uplink, snap.uplink.nodes[node_index].ip, c);
    return forward_remote_to<false>(snap, m, p, in, node_index, lb);
}

/// Routes a parsed IPv4 packet after the load-balancing stage (`lb` says
/// whether it goes in a DSR dispatch): to a local pod, the node's kernel, a
/// remote node, or out of the uplink.
[[gnu::always_inline]] inline Verdict route_ipv4(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p, const Ingress& in,
                          WorkerCounters& c, LbWorker& w, const StageResult& lb) noexcept {
    rte_ipv4_hdr* ip = p.ip;
    const Ipv4Addr dst{ip->dst_addr};
    // Local pods all live in the node's PodCIDR: one mask test spares
    // remote-bound packets the endpoint lookup.
    if ((dst.be & snap.pod_mask_be) == snap.pod_net_be) {
        if (ip->time_to_live <= 1)
            return Verdict::drop(DropReason::TtlExceeded);
        const uint32_t ep = snap.endpoint_by_ip.lookup(dst);
        if (ep != kNoEndpoint)
            return deliver_local(snap, p, ep, Outcome::Forwarded);
        return Verdict::drop(DropReason::UnknownDestination);
    }
    // (Pod CIDRs are unicast: only traffic leaving them can be multicast.)
    if (ipv4_is_multicast_or_broadcast(ip->dst_addr))
        return Verdict::drop(DropReason::Multicast);
    const UplinkView& up = snap.uplink;
    if (up.has_uplink) {
        // The node's own IP is local delivery, not a routed hop: no TTL check.
        if (dst == up.node_ip)
            return up.has_host && !in.from_host ? deliver_host(snap, p) : handle_to_us(p, snap.gateway_mac, in.port);
        if (ip->time_to_live <= 1)
            return Verdict::drop(DropReason::TtlExceeded);
        const uint32_t cidr = up.remote_cidrs.lookup(dst);
        if (cidr != kNotFound) {
            const uint32_t owner = up.cidr_owner[cidr];
            if (!up.nodes[owner].mac_valid) [[unlikely]]
                return forward_remote_unresolved(snap, m, p, in, owner, lb, c);
            return forward_remote(snap, m, p, in, owner, lb);
        }
        // Everything else leaves by the uplink, unencapsulated: the node's
        // kernel, the other nodes' kernels, and the outside world (pods
        // masqueraded to the node IP unless the destination is exempt).
        return forward_uplink(snap, m, p, in, c, w);
    }
    return Verdict::drop(DropReason::UnknownDestination);
}

/// Handles a parsed IPv4 packet that arrived on a pod, host or plain port.
[[gnu::always_inline]] inline Verdict forward_ipv4(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p, const Ingress& in,
                            WorkerCounters& c, LbWorker& w) noexcept {
    rte_ipv4_hdr* ip = p.ip;
    // A pod may only send from its own IP (anti-spoofing, like Cilium's
    // DROP_INVALID_SIP).
    if (in.from_endpoint && in.endpoint_ip.be != ip->src_addr)
        return Verdict::drop(DropReason::InvalidSource);
    if (ip->dst_addr == snap.gateway_ip.be)
        return handle_to_us(p, snap.gateway_mac, in.port);
    const StageResult lb = load_balance(snap, m, p, LbScope::Internal, NodeIpBound::No, in.port, w);
    if (lb.done)
        return lb.verdict;
    return route_ipv4(snap, m, p, in, c, w, lb);
}

} // namespace podlane
