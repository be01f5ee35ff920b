// ICMP "fragmentation needed" (RFC 792 type 3 code 4, with the next-hop MTU
// of RFC 1191): a packet with DF set that does not fit the path is turned, in
// place, into the ICMP error to its sender.
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
inline constexpr uint8_t kIcmpFragNeeded = 4;

/// Rewrites the packet into "fragmentation needed, next-hop MTU `mtu`" from
/// `from_ip`/`from_mac` back to the sender, out of `in_port`. Carries the
/// original IP header and the first 8 bytes of its payload (RFC 792).
inline Verdict icmp_frag_needed(rte_mbuf* m, const ParsedPacket& p, Ipv4Addr from_ip, const MacAddr& from_mac,
                                uint16_t mtu, uint16_t in_port) noexcept {
    if (m->nb_segs != 1)
        return Verdict::drop(DropReason::TooBig); // headers are built in the first segment only
    uint8_t quoted[60 + 8];
    const uint16_t quoted_len = static_cast<uint16_t>(p.ip_hdr_len + 8);
    std::memcpy(quoted, p.ip, quoted_len);

    rte_ipv4_hdr* ip = p.ip;
    const rte_be32_t sender = ip->src_addr;
    const uint16_t total = static_cast<uint16_t>(sizeof(rte_ipv4_hdr) + sizeof(rte_icmp_hdr) + quoted_len);
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
    icmp->icmp_type = kIcmpDestUnreachable;
    icmp->icmp_code = kIcmpFragNeeded;
    icmp->icmp_cksum = 0;
    icmp->icmp_ident = 0;                        // "unused" in RFC 1191
    icmp->icmp_seq_nb = rte_cpu_to_be_16(mtu);   // next-hop MTU
    std::memcpy(icmp + 1, quoted, quoted_len);
    icmp->icmp_cksum = static_cast<rte_be16_t>(~rte_raw_cksum(icmp, sizeof(rte_icmp_hdr) + quoted_len));

    rte_ether_hdr* eth = p.eth;
    eth->dst_addr = eth->src_addr;
    __builtin_memcpy(eth->src_addr.addr_bytes, from_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    const uint32_t frame = sizeof(rte_ether_hdr) + total;
    rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_pkt_len(m) - frame));
    return Verdict::tx(in_port, Outcome::IcmpError);
}

} // namespace podlane
