// The decapsulation stage: VXLAN (RFC 7348) or Geneve (RFC 8926) packets
// from other nodes, addressed to the node IP's tunnel port, lose their outer
// headers; a Geneve dispatch's DSR option (Cilium's) is read on the way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "dataplane/parse.h"
#include "dataplane/snapshot.h"
#include "dataplane/tunnel_hdr.h"

namespace podlane {

/// True for a packet to the node IP that is tunnel traffic: the uplink
/// tunnels (VXLAN or Geneve), and it is a whole (unfragmented) UDP datagram
/// to the tunnel port.
[[gnu::always_inline]] inline bool is_tunnel_packet(const UplinkView& up, const ParsedPacket& p) noexcept {
    if (up.routing == Routing::Native || p.ip->next_proto_id != IPPROTO_UDP || ipv4_is_fragment(p.ip) ||
        rte_be_to_cpu_16(p.ip->total_length) < p.ip_hdr_len + sizeof(rte_udp_hdr))
        return false;
    const auto* udp = reinterpret_cast<const rte_udp_hdr*>(reinterpret_cast<const uint8_t*>(p.ip) + p.ip_hdr_len);
    return udp->dst_port == up.tunnel_port_be;
}

/// Result of looking at a UDP packet sent to the tunnel port.
struct Decap {
    bool ok = false;
    uint32_t vni = 0;       ///< the sender's source identity
    rte_be32_t dsr_addr = 0; ///< Geneve DSR option: the service address (0: none)
    rte_be16_t dsr_port = 0; ///< and port
};

/// Finds Cilium's DSR option among `len` bytes of Geneve options. Options
/// sit at any 2-byte boundary of the frame, so they are copied out, not cast
/// (a GeneveDsrOpt* there is misaligned: UBSan, found by tests/fuzz).
inline void geneve_find_dsr(const uint8_t* opts, uint32_t len, Decap& d) noexcept {
    for (uint32_t off = 0; off + 4 <= len;) {
        const uint8_t* o = opts + off;
        const uint32_t data = uint32_t{o[offsetof(GeneveDsrOpt, length)] & 0x1fu} * 4;
        if (off + 4 + data > len)
            return;
        rte_be16_t opt_class;
        std::memcpy(&opt_class, o + offsetof(GeneveDsrOpt, opt_class), sizeof opt_class);
        if (opt_class == RTE_BE16(kGeneveOptClassCilium) && o[offsetof(GeneveDsrOpt, type)] == kGeneveOptTypeDsr4 &&
            data >= 8) {
            std::memcpy(&d.dsr_addr, o + offsetof(GeneveDsrOpt, addr), sizeof d.dsr_addr);
            std::memcpy(&d.dsr_port, o + offsetof(GeneveDsrOpt, port), sizeof d.dsr_port);
            return;
        }
        off += 4 + data;
    }
}

/// Validates the tunnel header after the outer UDP header at `udp` and strips
/// every outer header, leaving the inner Ethernet frame in `m`.
// Always inlined: with the fragment paths in the journeys GCC took it out of
// line, a call a tunnelled packet (bench_pipeline decap 354.7 -> 389.8
// instructions a packet).
[[gnu::always_inline]] inline Decap tunnel_decap(rte_mbuf* m, const rte_ipv4_hdr* ip, uint16_t ip_hdr_len,
                                                 Routing routing) noexcept {
    const auto* udp = reinterpret_cast<const rte_udp_hdr*>(reinterpret_cast<const uint8_t*>(ip) + ip_hdr_len);
    const uint32_t l4_len = rte_be_to_cpu_16(ip->total_length) - ip_hdr_len;
    if (l4_len < sizeof(rte_udp_hdr) + sizeof(TunnelHdr) || rte_be_to_cpu_16(udp->dgram_len) > l4_len)
        return {};
    const auto* t = reinterpret_cast<const TunnelHdr*>(udp + 1);
    uint32_t opt_len = 0;
    if (routing == Routing::Geneve) {
        opt_len = uint32_t{t->b0 & 0x3fu} * 4;
        if ((t->b0 >> 6) != 0 || (t->b1 & kGeneveCriticalBit) || t->proto != RTE_BE16(kGenevePtypeEthernet))
            return {};
    } else if (!(t->b0 & kVxlanFlagVni)) {
        return {};
    }
    const uint32_t outer = sizeof(rte_ether_hdr) + ip_hdr_len + sizeof(rte_udp_hdr) + sizeof(TunnelHdr) + opt_len;
    if (outer + sizeof(rte_ether_hdr) > rte_pktmbuf_data_len(m))
        return {};
    const uint32_t vni = uint32_t{t->vni[0]} << 16 | uint32_t{t->vni[1]} << 8 | t->vni[2];
    Decap d{true, vni, 0, 0};
    if (opt_len != 0)
        geneve_find_dsr(reinterpret_cast<const uint8_t*>(t + 1), opt_len, d);
    // Drop any Ethernet padding after the outer datagram, then the outer headers.
    const uint32_t frame_end = sizeof(rte_ether_hdr) + rte_be_to_cpu_16(ip->total_length);
    if (rte_pktmbuf_pkt_len(m) > frame_end)
        rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - frame_end));
    rte_pktmbuf_adj(m, static_cast<uint16_t>(outer));
    return d;
}

/// The stage: strips the outer headers of tunnel packet `p` (what `d` tells
/// about them: the sender's identity, a DSR option) and parses the inner
/// packet, which it returns. It goes on if it is IPv4; anything else is a
/// drop (kind Drop, with the reason).
[[gnu::always_inline]] inline ParsedPacket decapsulate(rte_mbuf* m, const ParsedPacket& p, Routing routing,
                                                       Decap& d) noexcept {
    d = tunnel_decap(m, p.ip, p.ip_hdr_len, routing);
    if (!d.ok) {
        ParsedPacket bad;
        bad.drop = DropReason::BadTunnel;
        return bad;
    }
    ParsedPacket inner = parse_packet(m);
    if (inner.kind == L3Kind::Arp) {
        inner.kind = L3Kind::Drop;
        inner.drop = DropReason::BadTunnel;
    }
    return inner;
}

} // namespace podlane
