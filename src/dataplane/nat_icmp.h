// Reverse translation of ICMP errors about NATed flows: an error (dest
// unreachable, time exceeded, parameter problem) quotes the packet that
// caused it, as it was after NAT. The error belongs to the flow's opposite
// direction; applying that direction's xlate to the outer header and the
// reverse to the quote gives the sender back the packet it sent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <rte_icmp.h>
#include <rte_ip.h>

#include "dataplane/checksum.h"
#include "dataplane/ct_tuple.h"
#include "dataplane/icmp_error.h"
#include "dataplane/nat.h"
#include "dataplane/parse.h"

namespace podlane {

namespace nat_detail {

/// An ICMP error and the packet it quotes, all in the first segment.
struct IcmpErrorView {
    rte_icmp_hdr* icmp = nullptr;
    uint32_t icmp_len = 0;      ///< the whole ICMP message
    rte_ipv4_hdr* qip = nullptr; ///< the quoted IPv4 header
    uint8_t* ql4 = nullptr;      ///< the quoted L4 header
    uint32_t ql4_len = 0;        ///< bytes of it quoted (>= 8)
    rte_be16_t sport = 0, dport = 0; ///< the quoted packet's, in CtTuple's convention
};

/// Locates the quote of an ICMP error about a TCP, UDP or ICMP echo packet;
/// false if `p` is not such an error (see icmp_error_flow_tuple).
inline bool icmp_error_view(const ParsedPacket& p, IcmpErrorView& v) noexcept {
    if (p.kind != L3Kind::Ipv4 || p.ip->next_proto_id != IPPROTO_ICMP || ipv4_is_fragment(p.ip))
        return false;
    // The checksum is recomputed over the whole message: it must all be here.
    if (p.ip_seg_len != rte_be_to_cpu_16(p.ip->total_length))
        return false;
    const uint32_t len = l4_seg_len(p);
    if (len < sizeof(rte_icmp_hdr) + sizeof(rte_ipv4_hdr) + 8)
        return false;
    auto* icmp = reinterpret_cast<rte_icmp_hdr*>(l4_of(p));
    const uint8_t type = icmp->icmp_type;
    if (type != kIcmpDestUnreachable && type != kIcmpTimeExceeded && type != kIcmpParamProblem)
        return false;
    auto* qip = reinterpret_cast<rte_ipv4_hdr*>(icmp + 1);
    const uint32_t qhl = uint32_t{qip->version_ihl & 0x0fu} * 4;
    if ((qip->version_ihl >> 4) != 4 || qhl < sizeof(rte_ipv4_hdr) || sizeof(rte_icmp_hdr) + qhl + 8 > len)
        return false;
    // The first fragment (MF, offset 0) carries the ports; later ones do not.
    if (ipv4_is_later_fragment(qip))
        return false;
    v.icmp = icmp;
    v.icmp_len = len;
    v.qip = qip;
    v.ql4 = reinterpret_cast<uint8_t*>(qip) + qhl;
    v.ql4_len = len - sizeof(rte_icmp_hdr) - qhl;
    return l4_ports(qip->next_proto_id, v.ql4, v.ql4_len, v.sport, v.dport);
}

inline rte_be16_t load16(const uint8_t* at) noexcept {
    rte_be16_t w;
    std::memcpy(&w, at, 2);
    return w;
}

inline void store16(uint8_t* at, rte_be16_t w) noexcept { std::memcpy(at, &w, 2); }

} // namespace nat_detail

/// For an ICMP error (type 3 dest unreachable, 11 time exceeded, 12 parameter
/// problem) whose quoted packet is TCP, UDP or ICMP echo with at least 8 bytes
/// of L4 quoted: the tuple of the flow direction the error travels in, i.e.
/// ct_reverse(tuple of the quoted packet) in ct_tuple_of's ICMP echo
/// convention. False otherwise: truncated quotes, a quoted fragment with
/// offset != 0, an error that is itself a fragment or not wholly in the first
/// segment, or a bad ICMP checksum (nat_apply_icmp_error recomputes it, so it
/// must not launder a corrupted message).
inline bool icmp_error_flow_tuple(const ParsedPacket& p, CtTuple& t) noexcept {
    nat_detail::IcmpErrorView v;
    if (!nat_detail::icmp_error_view(p, v))
        return false;
    if (rte_raw_cksum(v.icmp, v.icmp_len) != 0xffff)
        return false;
    t = ct_reverse(make_ct_tuple(v.qip->src_addr, v.qip->dst_addr, v.sport, v.dport, v.qip->next_proto_id));
    return true;
}

/// Applies the conntrack rewrite `x` of the direction icmp_error_flow_tuple
/// returned to the error: outer dst := x.dst; outer src := x.src only if the
/// outer src equals the quoted packet's dst (the error came from the flow's
/// endpoint itself, not from a router on the way); quoted src:sport :=
/// x.dst:x.dport and quoted dst:dport := x.src:x.sport (for a quoted ICMP
/// echo the identifier plays the port, as in ct_tuple_of). Fixes the outer
/// IPv4 checksum, the quoted IPv4 header checksum, the quoted TCP/UDP (or
/// ICMP echo) checksum if it lies inside the quote (incrementally), and
/// recomputes the outer ICMP checksum over the whole message. Does nothing to
/// a packet that is not such an error (the ICMP checksum is not verified
/// again: call icmp_error_flow_tuple first).
inline void nat_apply_icmp_error(const ParsedPacket& p, const CtXlate& x) noexcept {
    nat_detail::IcmpErrorView v;
    if (!nat_detail::icmp_error_view(p, v))
        return;
    rte_ipv4_hdr* ip = p.ip;
    rte_ipv4_hdr* qip = v.qip;

    uint32_t outer = 0;
    if (ip->src_addr == qip->dst_addr && ip->src_addr != x.src) {
        outer += csum_delta32(ip->src_addr, x.src);
        ip->src_addr = x.src;
    }
    if (ip->dst_addr != x.dst) {
        outer += csum_delta32(ip->dst_addr, x.dst);
        ip->dst_addr = x.dst;
    }
    if (outer != 0)
        ip->hdr_checksum = csum_apply_delta(ip->hdr_checksum, outer);

    uint32_t addr = 0;
    if (qip->src_addr != x.dst) {
        addr += csum_delta32(qip->src_addr, x.dst);
        qip->src_addr = x.dst;
    }
    if (qip->dst_addr != x.src) {
        addr += csum_delta32(qip->dst_addr, x.src);
        qip->dst_addr = x.src;
    }
    if (addr != 0)
        qip->hdr_checksum = csum_apply_delta(qip->hdr_checksum, addr);

    uint8_t* l4 = v.ql4;
    switch (qip->next_proto_id) {
    case IPPROTO_TCP:
    case IPPROTO_UDP: {
        uint32_t delta = addr; // the pseudo-header
        if (v.sport != x.dport) {
            delta += csum_delta16(v.sport, x.dport);
            nat_detail::store16(l4, x.dport);
        }
        if (v.dport != x.sport) {
            delta += csum_delta16(v.dport, x.sport);
            nat_detail::store16(l4 + 2, x.sport);
        }
        const bool tcp = qip->next_proto_id == IPPROTO_TCP;
        const uint32_t ck_off = tcp ? offsetof(rte_tcp_hdr, cksum) : offsetof(rte_udp_hdr, dgram_cksum);
        if (delta != 0 && ck_off + 2 <= v.ql4_len) {
            const rte_be16_t ck = nat_detail::load16(l4 + ck_off);
            nat_detail::store16(l4 + ck_off, tcp ? csum_apply_delta(ck, delta) : nat_detail::udp_csum_apply(ck, delta));
        }
        break;
    }
    case IPPROTO_ICMP: {
        auto* echo = reinterpret_cast<rte_icmp_hdr*>(l4);
        // A quoted request's identifier is its sport, a reply's its dport.
        const rte_be16_t to = echo->icmp_type == RTE_IP_ICMP_ECHO_REQUEST ? x.dport : x.sport;
        if (echo->icmp_ident != to) {
            echo->icmp_cksum = csum_replace16(echo->icmp_cksum, echo->icmp_ident, to);
            echo->icmp_ident = to;
        }
        break;
    }
    default:
        break;
    }

    v.icmp->icmp_cksum = 0;
    v.icmp->icmp_cksum = static_cast<rte_be16_t>(~rte_raw_cksum(v.icmp, v.icmp_len));
}

} // namespace podlane
