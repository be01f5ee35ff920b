// Answering a new flow to a service that has no backend, in place: a TCP RST
// for TCP, ICMP port unreachable otherwise, from the service address back to
// the sender, so that clients fail fast instead of timing out.
#pragma once

#include <cstdint>

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "dataplane/checksum.h"
#include "dataplane/icmp_error.h"
#include "dataplane/nat.h"
#include "dataplane/parse.h"
#include "dataplane/verdict.h"

namespace podlane {

/// Turns a TCP segment (not itself a RST) into a RST|ACK from its destination
/// back to its sender, in place: ports and addresses swapped, seq = the
/// segment's ack if ACK was set else 0, ack = seq + payload length (+1 for
/// SYN, +1 for FIN), no payload, no options, TTL 64, valid IPv4 and TCP
/// checksums. Ethernet: dst = the packet's src MAC, src = `from_mac`. Returns
/// Verdict::tx(in_port, Outcome::Rejected), or a drop (DropReason::NoBackend)
/// when it cannot: a RST, a multi-segment mbuf, or not a TCP segment whose
/// whole header ct_tuple_of would accept.
inline Verdict reject_tcp_rst(rte_mbuf* m, const ParsedPacket& p, const MacAddr& from_mac, uint16_t in_port) noexcept {
    if (m->nb_segs != 1 || p.kind != L3Kind::Ipv4 || p.ip->next_proto_id != IPPROTO_TCP || ipv4_is_fragment(p.ip))
        return Verdict::drop(DropReason::NoBackend);
    const auto* in = reinterpret_cast<const rte_tcp_hdr*>(l4_of(p));
    const uint32_t hdr_len = nat_detail::tcp_hdr_len(l4_of(p), l4_seg_len(p));
    const uint8_t flags = in->tcp_flags;
    if (hdr_len == 0 || (flags & RTE_TCP_RST_FLAG) != 0)
        return Verdict::drop(DropReason::NoBackend);

    rte_ipv4_hdr* ip = p.ip;
    const uint32_t payload = rte_be_to_cpu_16(ip->total_length) - p.ip_hdr_len - hdr_len;
    const uint32_t ack = rte_be_to_cpu_32(in->sent_seq) + payload + ((flags & RTE_TCP_SYN_FLAG) != 0) +
                         ((flags & RTE_TCP_FIN_FLAG) != 0);
    const rte_be32_t seq_be = (flags & RTE_TCP_ACK_FLAG) != 0 ? in->recv_ack : 0;
    const rte_be16_t sport = in->src_port, dport = in->dst_port;
    const rte_be32_t src = ip->src_addr, dst = ip->dst_addr;

    // From here on `in` is overwritten (the new TCP header may overlap IP options).
    constexpr uint16_t total = sizeof(rte_ipv4_hdr) + sizeof(rte_tcp_hdr);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->type_of_service = 0;
    ip->total_length = rte_cpu_to_be_16(total);
    ip->packet_id = 0;
    ip->fragment_offset = 0;
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_TCP;
    ip->hdr_checksum = 0;
    ip->src_addr = dst;
    ip->dst_addr = src;
    ip->hdr_checksum = ipv4_header_checksum(ip);

    auto* tcp = reinterpret_cast<rte_tcp_hdr*>(ip + 1);
    tcp->src_port = dport;
    tcp->dst_port = sport;
    tcp->sent_seq = seq_be;
    tcp->recv_ack = rte_cpu_to_be_32(ack);
    tcp->data_off = (sizeof(rte_tcp_hdr) / 4) << 4;
    tcp->tcp_flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
    tcp->rx_win = 0;
    tcp->cksum = 0;
    tcp->tcp_urp = 0;
    tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);

    rte_ether_hdr* eth = p.eth;
    eth->dst_addr = eth->src_addr;
    __builtin_memcpy(eth->src_addr.addr_bytes, from_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    // The RST (54 bytes) is never longer than the segment it answers.
    rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_data_len(m) - (sizeof(rte_ether_hdr) + total)));
    return Verdict::tx(in_port, Outcome::Rejected);
}

/// Turns the packet into ICMP port unreachable (type 3 code 3) from its
/// destination address (the service VIP) back to the sender, quoting the IP
/// header and 8 bytes, like icmp_frag_needed. Returns Verdict::tx(in_port,
/// Outcome::Rejected), or a drop (DropReason::NoBackend) for a multi-segment
/// mbuf or one with no tailroom for the error.
inline Verdict reject_icmp_port_unreachable(rte_mbuf* m, const ParsedPacket& p, const MacAddr& from_mac,
                                            uint16_t in_port) noexcept {
    if (!icmp_error_in_place(m, p, kIcmpDestUnreachable, kIcmpPortUnreachable, 0, Ipv4Addr{p.ip->dst_addr}, from_mac))
        return Verdict::drop(DropReason::NoBackend);
    return Verdict::tx(in_port, Outcome::Rejected);
}

} // namespace podlane
