// Parsing and validating Ethernet, ARP and IPv4 headers. Every check that can
// fail names the drop reason; malformed input is a verdict, never a crash.
#pragma once

#include <cstdint>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dataplane/checksum.h"
#include "dataplane/drop_reason.h"

namespace podlane {

/// True for 224.0.0.0/4 and 255.255.255.255, which podlane never routes.
inline bool ipv4_is_multicast_or_broadcast(rte_be32_t dst_be) noexcept {
    return (dst_be & RTE_BE32(0xf0000000)) == RTE_BE32(0xe0000000) || dst_be == 0xffffffffu;
}

/// True for any fragment: MF set or a non-zero offset. Only an unfragmented
/// packet carries its L4 header for sure (and the first fragment only has it).
inline bool ipv4_is_fragment(const rte_ipv4_hdr* ip) noexcept {
    return (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0;
}

/// True for a fragment other than the first (non-zero offset): it carries no
/// L4 header at all.
inline bool ipv4_is_later_fragment(const rte_ipv4_hdr* ip) noexcept {
    return (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) != 0;
}

/// What a frame carries, once parsed.
enum class L3Kind : uint8_t { Arp, Ipv4, Drop };

/// Header pointers into the first mbuf segment, valid when kind != Drop.
struct ParsedPacket {
    L3Kind kind = L3Kind::Drop;
    DropReason drop = DropReason::Malformed; ///< why, when kind == Drop
    rte_ether_hdr* eth = nullptr;
    rte_arp_hdr* arp = nullptr;   ///< when kind == Arp
    rte_ipv4_hdr* ip = nullptr;   ///< when kind == Ipv4
    uint16_t ip_hdr_len = 0;      ///< IPv4 header length in bytes, options included
    uint16_t ip_seg_len = 0;      ///< bytes of the IPv4 packet (up to total_length) in the first segment
};

/// Parses Ethernet and then ARP or IPv4. Headers must sit in the first segment.
/// IPv4 checks: version 4, IHL >= 5, total length within the frame, header
/// checksum (unless the PMD already verified it).
[[gnu::always_inline]] inline ParsedPacket parse_packet(rte_mbuf* m) noexcept {
    ParsedPacket p;
    const uint32_t len = rte_pktmbuf_data_len(m);
    if (len < sizeof(rte_ether_hdr))
        return p;
    p.eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    const uint16_t ether_type = p.eth->ether_type;
    const uint32_t l3_len = len - sizeof(rte_ether_hdr);

    if (ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV4)) {
        if (l3_len < sizeof(rte_ipv4_hdr))
            return p;
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.eth + 1);
        const uint16_t hdr_len = static_cast<uint16_t>((ip->version_ihl & 0x0f) * 4);
        const uint16_t total = rte_be_to_cpu_16(ip->total_length);
        if ((ip->version_ihl >> 4) != 4 || hdr_len < sizeof(rte_ipv4_hdr) || hdr_len > l3_len ||
            total < hdr_len || total > rte_pktmbuf_pkt_len(m) - sizeof(rte_ether_hdr))
            return p;
        const uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
        if (ck == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
            (ck != RTE_MBUF_F_RX_IP_CKSUM_GOOD && !ipv4_checksum_ok(ip, hdr_len))) {
            p.drop = DropReason::BadIpChecksum;
            return p;
        }
        p.ip = ip;
        p.ip_hdr_len = hdr_len;
        p.ip_seg_len = static_cast<uint16_t>(total < l3_len ? total : l3_len);
        p.kind = L3Kind::Ipv4;
        return p;
    }
    if (ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP)) {
        if (l3_len < sizeof(rte_arp_hdr))
            return p;
        p.arp = reinterpret_cast<rte_arp_hdr*>(p.eth + 1);
        p.kind = L3Kind::Arp;
        return p;
    }
    p.drop = DropReason::UnsupportedEthertype;
    return p;
}

} // namespace podlane
