// Packets arriving on the uplink: ARP for the node IP, ping to the node IP,
// tunnelled pod traffic (decapsulated and delivered), and natively routed
// pod traffic for this node's pods.
#pragma once

#include <rte_udp.h>

#include "dataplane/arp.h"
#include "dataplane/forward.h"
#include "dataplane/parse.h"
#include "dataplane/tunnel.h"

namespace podlane {

/// Delivers a packet from another node (decapsulated, or natively routed)
/// to a local pod, after reverse NAT of replies from service backends.
[[gnu::always_inline]] inline Verdict deliver_from_node(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p, uint16_t in_port,
                                 Outcome what, LbWorker& w) noexcept {
    const StageResult lb = load_balance(snap, m, p, LbScope::Internal, NodeIpBound::No, in_port, w);
    if (lb.done)
        return lb.verdict;
    if (!lb.translated && what == Outcome::Forwarded)
        masquerade_track_inbound(snap, p, w);
    if (p.ip->time_to_live <= 1)
        return Verdict::drop(DropReason::TtlExceeded);
    const uint32_t ep = snap.endpoint_by_ip.lookup(Ipv4Addr{p.ip->dst_addr});
    if (ep == kNoEndpoint)
        return Verdict::drop(DropReason::UnknownDestination);
    return deliver_local(snap, p, ep, what);
}

/// Delivers an inner packet just taken out of a tunnel. A Geneve DSR
/// dispatch is tracked first, so the backend's replies leave as the service.
[[gnu::always_inline]] inline Verdict deliver_decapsulated(const Snapshot& snap, rte_mbuf* m, const Decap& d, uint16_t in_port,
                                    LbWorker& w) noexcept {
    const ParsedPacket inner = parse_packet(m);
    if (inner.kind != L3Kind::Ipv4)
        return Verdict::drop(inner.kind == L3Kind::Drop ? inner.drop : DropReason::BadTunnel);
    if (d.dsr_addr != 0)
        dsr_track_arrival(snap, inner, d.dsr_addr, d.dsr_port, w);
    return deliver_from_node(snap, m, inner, in_port, Outcome::Decapsulated, w);
}

/// Handles an IPv4 packet received on the uplink.
[[gnu::always_inline]] inline Verdict uplink_ipv4(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p, uint16_t in_port,
                           WorkerCounters& c, LbWorker& w) noexcept {
    const UplinkView& up = snap.uplink;
    const Ipv4Addr dst{p.ip->dst_addr};
    if (dst == up.node_ip) {
        if (up.routing != Routing::Native && p.ip->next_proto_id == IPPROTO_UDP &&
            !ipv4_is_fragment(p.ip) &&
            rte_be_to_cpu_16(p.ip->total_length) >= p.ip_hdr_len + sizeof(rte_udp_hdr)) {
            const auto* udp = reinterpret_cast<const rte_udp_hdr*>(reinterpret_cast<const uint8_t*>(p.ip) + p.ip_hdr_len);
            if (udp->dst_port == up.tunnel_port_be) {
                const Decap d = tunnel_decap(m, p.ip, p.ip_hdr_len, up.routing);
                if (!d.ok)
                    return Verdict::drop(DropReason::BadTunnel);
                return deliver_decapsulated(snap, m, d, in_port, w);
            }
        }
        // NodePorts, HostPorts, and replies to flows SNATed to the node IP.
        const StageResult lb = load_balance(snap, m, p, LbScope::External, NodeIpBound::Yes, in_port, w);
        if (lb.done)
            return lb.verdict;
        if (lb.translated)
            return route_ipv4(snap, m, p, Ingress::uplink(in_port), c, w, lb);
        return up.has_host ? deliver_host(snap, p) : handle_to_us(p, up.node_mac, in_port);
    }
    if (ipv4_is_multicast_or_broadcast(p.ip->dst_addr))
        return Verdict::drop(DropReason::Multicast);
    // LoadBalancer IPs and ExternalIPs routed to this node.
    if (snap.lb->frontend_ips.lookup(dst) != kNotFound) {
        const StageResult lb = load_balance(snap, m, p, LbScope::External, NodeIpBound::No, in_port, w);
        if (lb.done)
            return lb.verdict;
        if (lb.translated)
            return route_ipv4(snap, m, p, Ingress::uplink(in_port), c, w, lb);
    }
    // Native routing: another node sent a packet for one of our pods.
    return deliver_from_node(snap, m, p, in_port, Outcome::Forwarded, w);
}

} // namespace podlane
