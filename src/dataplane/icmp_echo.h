// Answering ICMP echo requests (ping) addressed to podlane itself: the pod
// gateway IP on pod ports and the node IP on the uplink. Replies are built in
// place and leave by the ingress port.
#pragma once

#include <rte_icmp.h>
#include <rte_ip.h>

#include "dataplane/checksum.h"
#include "dataplane/parse.h"
#include "dataplane/snapshot.h"
#include "dataplane/verdict.h"

namespace podlane {

/// Turns an ICMP echo request to one of our addresses into the reply, sent
/// from `our_mac` out of `in_port`; anything else to us is dropped.
inline Verdict handle_to_us(const ParsedPacket& p, const MacAddr& our_mac, uint16_t in_port) noexcept {
    rte_ipv4_hdr* ip = p.ip;
    if (ip->next_proto_id != IPPROTO_ICMP)
        return Verdict::drop(DropReason::HostUnsupported);
    if (ipv4_is_fragment(ip))
        return Verdict::drop(DropReason::FragmentToHost);
    const uint16_t l4_len = static_cast<uint16_t>(rte_be_to_cpu_16(ip->total_length) - p.ip_hdr_len);
    if (l4_len < sizeof(rte_icmp_hdr))
        return Verdict::drop(DropReason::Malformed);
    auto* icmp = reinterpret_cast<rte_icmp_hdr*>(reinterpret_cast<uint8_t*>(ip) + p.ip_hdr_len);
    if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0)
        return Verdict::drop(DropReason::HostUnsupported);

    // ICMP: only the type changes (8 -> 0); patch the checksum for that word.
    rte_be16_t before = rte_cpu_to_be_16(static_cast<uint16_t>(icmp->icmp_type << 8 | icmp->icmp_code));
    icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
    icmp->icmp_cksum = csum_replace16(icmp->icmp_cksum, before,
                                      rte_cpu_to_be_16(static_cast<uint16_t>(icmp->icmp_code)));

    // IPv4: swap addresses (checksum-neutral), fresh TTL.
    const rte_be32_t src = ip->src_addr;
    ip->src_addr = ip->dst_addr;
    ip->dst_addr = src;
    rte_be16_t ttl_before = ttl_proto_word(ip);
    ip->time_to_live = 64;
    ip->hdr_checksum = csum_replace16(ip->hdr_checksum, ttl_before, ttl_proto_word(ip));

    rte_ether_hdr* eth = p.eth;
    eth->dst_addr = eth->src_addr;
    __builtin_memcpy(eth->src_addr.addr_bytes, our_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    return Verdict::tx(in_port, Outcome::EchoReply);
}

} // namespace podlane
