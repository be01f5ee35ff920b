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

/// Delivers an inner packet just taken out of a tunnel.
inline Verdict deliver_decapsulated(const Snapshot& snap, rte_mbuf* m) noexcept {
    const ParsedPacket inner = parse_packet(m);
    if (inner.kind != L3Kind::Ipv4)
        return Verdict::drop(inner.kind == L3Kind::Drop ? inner.drop : DropReason::BadTunnel);
    if (inner.ip->time_to_live <= 1)
        return Verdict::drop(DropReason::TtlExceeded);
    const uint32_t ep = snap.endpoint_by_ip.lookup(Ipv4Addr{inner.ip->dst_addr});
    if (ep == kNoEndpoint)
        return Verdict::drop(DropReason::UnknownDestination);
    return deliver_local(snap, inner, ep, Outcome::Decapsulated);
}

/// Handles an IPv4 packet received on the uplink.
inline Verdict uplink_ipv4(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p, uint16_t in_port) noexcept {
    const UplinkView& up = snap.uplink;
    const Ipv4Addr dst{p.ip->dst_addr};
    if (dst == up.node_ip) {
        if (up.routing != Routing::Native && p.ip->next_proto_id == IPPROTO_UDP &&
            (p.ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) == 0 &&
            rte_be_to_cpu_16(p.ip->total_length) >= p.ip_hdr_len + sizeof(rte_udp_hdr)) {
            const auto* udp = reinterpret_cast<const rte_udp_hdr*>(reinterpret_cast<const uint8_t*>(p.ip) + p.ip_hdr_len);
            if (udp->dst_port == up.tunnel_port_be) {
                if (!tunnel_decap(m, p.ip, p.ip_hdr_len, up.routing).ok)
                    return Verdict::drop(DropReason::BadTunnel);
                return deliver_decapsulated(snap, m);
            }
        }
        return up.has_host ? deliver_host(snap, p) : handle_to_us(p, up.node_mac, in_port);
    }
    if (ipv4_is_multicast_or_broadcast(p.ip->dst_addr))
        return Verdict::drop(DropReason::Multicast);
    // Native routing: another node sent a packet for one of our pods.
    const uint32_t ep = snap.endpoint_by_ip.lookup(dst);
    if (ep == kNoEndpoint)
        return Verdict::drop(DropReason::UnknownDestination);
    if (p.ip->time_to_live <= 1)
        return Verdict::drop(DropReason::TtlExceeded);
    return deliver_local(snap, p, ep, Outcome::Forwarded);
}

} // namespace podlane
