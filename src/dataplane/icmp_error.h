// ICMP errors (RFC 792) built in place: a packet is turned into the error to
// its sender, quoting its IP header and the first 8 bytes of its payload.
// "Fragmentation needed" (type 3 code 4, with the next-hop MTU of RFC 1191)
// for a packet with DF set that does not fit the path; "port unreachable"
// (type 3 code 3) for a service with no backend (reject.h); "time exceeded
// in transit" (type 11 code 0) for a routed packet whose TTL runs out, so
// that traceroute shows podlane's hop.
#pragma once

#include <cstring>

#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dataplane/checksum.h"
#include "dataplane/parse.h"
#include "dataplane/verdict.h"

namespace podlane {

inline constexpr uint8_t kIcmpDestUnreachable = 3;
inline constexpr uint8_t kIcmpTimeExceeded = 11;
inline constexpr uint8_t kIcmpParamProblem = 12;
inline constexpr uint8_t kIcmpPortUnreachable = 3; ///< code of kIcmpDestUnreachable
inline constexpr uint8_t kIcmpFragNeeded = 4;      ///< code of kIcmpDestUnreachable

/// Turns the IPv4 packet `p` in `m` into the ICMP error `type`/`code` with
/// the 4-byte rest of header `rest` (as stored), from `from_ip`/`from_mac`
/// back to the packet's sender: a new 20-byte IPv4 header (TTL 64), the ICMP
/// header, then the original IP header and up to 8 bytes of its payload.
/// False, with the packet untouched, for a multi-segment mbuf or when the
/// error is longer than the packet and the mbuf has no tailroom for it.
inline bool icmp_error_in_place(rte_mbuf* m, const ParsedPacket& p, uint8_t type, uint8_t code, rte_be32_t rest,
                                Ipv4Addr from_ip, const MacAddr& from_mac) noexcept {
    if (m->nb_segs != 1)
        return false; // headers are built in the first segment only
    const uint16_t orig_total = rte_be_to_cpu_16(p.ip->total_length);
    const uint16_t quoted_len =
        static_cast<uint16_t>(p.ip_hdr_len + 8 < orig_total ? p.ip_hdr_len + 8 : orig_total);
    const uint16_t total = static_cast<uint16_t>(sizeof(rte_ipv4_hdr) + sizeof(rte_icmp_hdr) + quoted_len);
    const uint32_t frame = sizeof(rte_ether_hdr) + total;
    const uint32_t len = rte_pktmbuf_data_len(m);
    if (frame > len && rte_pktmbuf_append(m, static_cast<uint16_t>(frame - len)) == nullptr)
        return false;
    uint8_t quoted[60 + 8];
    std::memcpy(quoted, p.ip, quoted_len);

    rte_ipv4_hdr* ip = p.ip;
    const rte_be32_t sender = ip->src_addr;
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->type_of_service = 0;
    ip->total_length = rte_cpu_to_be_16(total);
    ip->packet_id = 0;
    ip->fragment_offset = 0;
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_ICMP;
    ip->hdr_checksum = 0;
    ip->src_addr = from_ip.be;
    ip->dst_addr = sender;
    ip->hdr_checksum = ipv4_header_checksum(ip);

    auto* icmp = reinterpret_cast<rte_icmp_hdr*>(ip + 1);
    icmp->icmp_type = type;
    icmp->icmp_code = code;
    icmp->icmp_cksum = 0;
    std::memcpy(reinterpret_cast<uint8_t*>(icmp) + 4, &rest, sizeof rest); // where ident and seq_nb sit
    std::memcpy(icmp + 1, quoted, quoted_len);
    icmp->icmp_cksum = static_cast<rte_be16_t>(~rte_raw_cksum(icmp, sizeof(rte_icmp_hdr) + quoted_len));

    rte_ether_hdr* eth = p.eth;
    eth->dst_addr = eth->src_addr;
    __builtin_memcpy(eth->src_addr.addr_bytes, from_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    if (frame < len)
        rte_pktmbuf_trim(m, static_cast<uint16_t>(len - frame));
    return true;
}

/// Rewrites the packet into "fragmentation needed, next-hop MTU `mtu`" from
/// `from_ip`/`from_mac` back to the sender, out of `in_port`. Carries the
/// original IP header and the first 8 bytes of its payload (RFC 792).
inline Verdict icmp_frag_needed(rte_mbuf* m, const ParsedPacket& p, Ipv4Addr from_ip, const MacAddr& from_mac,
                                uint16_t mtu, uint16_t in_port) noexcept {
    // RFC 1191: the first 16 bits "unused" (zero), then the next-hop MTU.
    if (!icmp_error_in_place(m, p, kIcmpDestUnreachable, kIcmpFragNeeded, rte_cpu_to_be_32(mtu), from_ip, from_mac))
        return Verdict::drop(DropReason::TooBig);
    return Verdict::tx(in_port, Outcome::IcmpError);
}

/// A routed packet whose TTL ran out: "time exceeded in transit" back to its
/// sender from `from_ip`/`from_mac` (the hop traceroute shows), out of
/// `in_port`. Never about an ICMP error or a later fragment (RFC 1122
/// 3.2.2, RFC 792): those are dropped as ttl_exceeded, as are packets the
/// error cannot be built in.
[[gnu::noinline]] inline Verdict icmp_time_exceeded(rte_mbuf* m, const ParsedPacket& p, Ipv4Addr from_ip,
                                                    const MacAddr& from_mac, uint16_t in_port) noexcept {
    const rte_ipv4_hdr* ip = p.ip;
    if (ipv4_is_later_fragment(ip))
        return Verdict::drop(DropReason::TtlExceeded);
    if (ip->next_proto_id == IPPROTO_ICMP) {
        const uint32_t l4 = uint32_t{p.ip_seg_len} - p.ip_hdr_len;
        const uint8_t type = l4 >= 1 ? *(reinterpret_cast<const uint8_t*>(ip) + p.ip_hdr_len) : 0xff;
        if (type != RTE_IP_ICMP_ECHO_REQUEST && type != RTE_IP_ICMP_ECHO_REPLY)
            return Verdict::drop(DropReason::TtlExceeded);
    }
    if (!icmp_error_in_place(m, p, kIcmpTimeExceeded, 0, 0, from_ip, from_mac))
        return Verdict::drop(DropReason::TtlExceeded);
    return Verdict::tx(in_port, Outcome::IcmpError);
}

/// For a packet longer than `path_mtu`: "fragmentation needed" back to its
/// sender (from `from_ip`/`from_mac`, out of `in_port`) if DF is set, else a
/// drop (podlane does not fragment).
inline Verdict too_big_for_path(rte_mbuf* m, const ParsedPacket& p, Ipv4Addr from_ip, const MacAddr& from_mac,
                                uint16_t path_mtu, uint16_t in_port) noexcept {
    if (p.ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG))
        return icmp_frag_needed(m, p, from_ip, from_mac, path_mtu, in_port);
    return Verdict::drop(DropReason::TooBig);
}

} // namespace podlane
