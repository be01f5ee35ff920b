// NAT on the hot path: reading a packet's conntrack tuple and rewriting its
// addresses and ports to a conntrack xlate, with every checksum patched
// incrementally (RFC 1624). TCP, UDP and ICMP echo; everything else is not
// trackable. Header-only, no allocation, no locks.
#pragma once

#include <cstdint>

#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/checksum.h"
#include "dataplane/ct_tuple.h"
#include "dataplane/parse.h"

namespace podlane {

/// The L4 header of a parsed IPv4 packet.
inline uint8_t* l4_of(const ParsedPacket& p) noexcept { return reinterpret_cast<uint8_t*>(p.ip) + p.ip_hdr_len; }

/// Bytes of L4 header and payload in the first segment (within total_length).
inline uint32_t l4_seg_len(const ParsedPacket& p) noexcept { return uint32_t{p.ip_seg_len} - p.ip_hdr_len; }

namespace nat_detail {

/// The length of the TCP header (options included) at `l4` if it is well
/// formed and fits in `avail` bytes, else 0.
inline uint32_t tcp_hdr_len(const uint8_t* l4, uint32_t avail) noexcept {
    if (avail < sizeof(rte_tcp_hdr))
        return 0;
    const uint32_t len = (uint32_t{reinterpret_cast<const rte_tcp_hdr*>(l4)->data_off} >> 4) * 4;
    return len >= sizeof(rte_tcp_hdr) && len <= avail ? len : 0;
}

/// The L4 "ports" of TCP/UDP (bytes 0-3) or ICMP echo (the identifier as the
/// sport of a request, the dport of a reply) in CtTuple's convention; false
/// for other protocols, other ICMP types or fewer than `avail` bytes.
inline bool l4_ports(uint8_t proto, const uint8_t* l4, uint32_t avail, rte_be16_t& sport, rte_be16_t& dport) noexcept {
    switch (proto) {
    case IPPROTO_TCP:
    case IPPROTO_UDP: {
        if (avail < sizeof(rte_udp_hdr))
            return false;
        const auto* udp = reinterpret_cast<const rte_udp_hdr*>(l4); // TCP's ports sit at the same offsets
        sport = udp->src_port;
        dport = udp->dst_port;
        return true;
    }
    case IPPROTO_ICMP: {
        if (avail < sizeof(rte_icmp_hdr))
            return false;
        const auto* icmp = reinterpret_cast<const rte_icmp_hdr*>(l4);
        if (icmp->icmp_type == RTE_IP_ICMP_ECHO_REQUEST) {
            sport = icmp->icmp_ident;
            dport = 0;
            return true;
        }
        if (icmp->icmp_type == RTE_IP_ICMP_ECHO_REPLY) {
            sport = 0;
            dport = icmp->icmp_ident;
            return true;
        }
        return false;
    }
    default:
        return false;
    }
}

/// Patches a UDP checksum by `delta`: 0 ("no checksum") stays 0, a computed
/// 0 is sent as 0xffff (RFC 768).
inline rte_be16_t udp_csum_apply(rte_be16_t csum, uint32_t delta) noexcept {
    if (csum == 0)
        return 0;
    const rte_be16_t c = csum_apply_delta(csum, delta);
    return c == 0 ? static_cast<rte_be16_t>(0xffff) : c;
}

} // namespace nat_detail

/// ct_tuple_of() without the fragment check: for a first fragment, whose L4
/// header is there (frag_tuple.h).
inline bool ct_tuple_of_l4(const ParsedPacket& p, CtTuple& t) noexcept {
    const uint8_t proto = p.ip->next_proto_id;
    const uint8_t* l4 = l4_of(p);
    const uint32_t avail = l4_seg_len(p);
    if (proto == IPPROTO_TCP && nat_detail::tcp_hdr_len(l4, avail) == 0)
        return false;
    rte_be16_t sport, dport;
    if (!nat_detail::l4_ports(proto, l4, avail, sport, dport))
        return false;
    t = make_ct_tuple(p.ip->src_addr, p.ip->dst_addr, sport, dport, proto);
    return true;
}

/// Reads the conntrack tuple of an IPv4 packet: TCP/UDP ports; ICMP echo
/// request -> (src, id, dst, 0), echo reply -> (src, 0, dst, id).
/// Returns false (not trackable) for fragments (MF set or offset != 0), other
/// protocols, other ICMP types, or an L4 header that does not fit inside
/// total_length / the first segment (for TCP: the header with its options).
inline bool ct_tuple_of(const ParsedPacket& p, CtTuple& t) noexcept {
    if (p.kind != L3Kind::Ipv4 || ipv4_is_fragment(p.ip))
        return false;
    return ct_tuple_of_l4(p, t);
}

/// TCP flags byte of a TCP packet ct_tuple_of accepted (for the conntrack
/// state machine).
inline uint8_t tcp_flags_of(const ParsedPacket& p) noexcept {
    return reinterpret_cast<const rte_tcp_hdr*>(l4_of(p))->tcp_flags;
}

/// The IPv4 half of nat_apply(): addresses and header checksum; returns the
/// checksum delta of the address change (for the L4 pseudo-header). Alone,
/// the rewrite of a later fragment, which has no L4 header (the first
/// fragment's L4 checksum, patched by nat_apply, covers the whole datagram).
inline uint32_t nat_apply_addrs(const ParsedPacket& p, const CtTuple& t, const CtXlate& x) noexcept {
    rte_ipv4_hdr* ip = p.ip;
    uint32_t addr_delta = 0;
    if (x.src != t.src) {
        addr_delta += csum_delta32(t.src, x.src);
        ip->src_addr = x.src;
    }
    if (x.dst != t.dst) {
        addr_delta += csum_delta32(t.dst, x.dst);
        ip->dst_addr = x.dst;
    }
    if (addr_delta != 0)
        ip->hdr_checksum = csum_apply_delta(ip->hdr_checksum, addr_delta);
    return addr_delta;
}

/// Rewrites the packet whose tuple is `t` (as ct_tuple_of read it) to `x`:
/// IPv4 src/dst with the header checksum updated incrementally; TCP/UDP ports
/// with the L4 checksum updated incrementally for both the pseudo-header
/// addresses and the ports (a UDP checksum of 0 means "none" and stays 0; a
/// computed UDP checksum of 0 is sent as 0xffff); ICMP echo: the identifier
/// (from x.sport for a request, x.dport for a reply) with the ICMP checksum
/// updated (no pseudo-header for ICMPv4). Fields that do not change cost
/// nothing beyond the compare.
inline void nat_apply(const ParsedPacket& p, const CtTuple& t, const CtXlate& x) noexcept {
    const uint32_t addr_delta = nat_apply_addrs(p, t, x);

    uint8_t* l4 = l4_of(p);
    switch (t.proto) {
    case IPPROTO_TCP:
    case IPPROTO_UDP: {
        auto* udp = reinterpret_cast<rte_udp_hdr*>(l4); // ports at the same offsets in TCP
        uint32_t delta = addr_delta;
        if (x.sport != t.sport) {
            delta += csum_delta16(t.sport, x.sport);
            udp->src_port = x.sport;
        }
        if (x.dport != t.dport) {
            delta += csum_delta16(t.dport, x.dport);
            udp->dst_port = x.dport;
        }
        if (delta == 0)
            return;
        if (t.proto == IPPROTO_TCP) {
            auto* tcp = reinterpret_cast<rte_tcp_hdr*>(l4);
            tcp->cksum = csum_apply_delta(tcp->cksum, delta);
        } else {
            udp->dgram_cksum = nat_detail::udp_csum_apply(udp->dgram_cksum, delta);
        }
        return;
    }
    case IPPROTO_ICMP: {
        auto* icmp = reinterpret_cast<rte_icmp_hdr*>(l4);
        const bool request = icmp->icmp_type == RTE_IP_ICMP_ECHO_REQUEST;
        const rte_be16_t from = request ? t.sport : t.dport;
        const rte_be16_t to = request ? x.sport : x.dport;
        if (to != from) {
            icmp->icmp_cksum = csum_replace16(icmp->icmp_cksum, from, to);
            icmp->icmp_ident = to;
        }
        return;
    }
    default:
        return;
    }
}

} // namespace podlane
