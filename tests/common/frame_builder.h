// Builds frames for unit tests and benchmarks, as bytes (and mbufs): Ethernet
// + IPv4 + UDP, TCP or ICMP echo, ARP requests, and VXLAN or Geneve
// encapsulation of any frame. Header-only; unit tests, bench_pipeline,
// bench_services and podlane-gen include it.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_geneve.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#include "common/net_types.h"

namespace podlane::test {

/// An Ethernet + IPv4 + (UDP | TCP | ICMP echo) frame. Ports, sequence
/// numbers and offsets are host order.
struct Ipv4Spec {
    MacAddr src_mac, dst_mac;
    Ipv4Addr src, dst;
    uint8_t ttl = 64;
    uint8_t proto = IPPROTO_UDP;
    uint16_t payload = 18;     ///< bytes after the L4 header (0, 1, 2, ... mod 256)
    uint8_t icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
    uint16_t frag_off = 0;     ///< flags included (RTE_IPV4_HDR_DF_FLAG, _MF_FLAG)
    uint16_t packet_id = 1;
    uint16_t sport = 40000;    ///< UDP and TCP
    uint16_t dport = 8080;
    uint8_t tcp_flags = RTE_TCP_SYN_FLAG;
    uint32_t tcp_seq = 1000;
    uint32_t tcp_ack = 5000;   ///< sent with RTE_TCP_ACK_FLAG; 0 otherwise
    bool l4_checksum = true;   ///< false: UDP/TCP checksum left 0
};

inline void put_mac(void* to, const MacAddr& m) { std::memcpy(to, m.bytes.data(), 6); }

/// Ethernet header from `src` to `dst` carrying `ether_type`.
inline void put_ether(uint8_t* at, const MacAddr& src, const MacAddr& dst, uint16_t ether_type) {
    auto* eth = reinterpret_cast<rte_ether_hdr*>(at);
    put_mac(&eth->dst_addr, dst);
    put_mac(&eth->src_addr, src);
    eth->ether_type = rte_cpu_to_be_16(ether_type);
}

/// IPv4 header without options; the checksum is left to the caller, after the L4 one.
inline rte_ipv4_hdr* put_ipv4(uint8_t* at, Ipv4Addr src, Ipv4Addr dst, uint8_t proto, uint16_t total_len,
                              uint8_t ttl, uint16_t frag_off, uint16_t packet_id) {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(at);
    std::memset(ip, 0, sizeof *ip);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(total_len);
    ip->packet_id = rte_cpu_to_be_16(packet_id);
    ip->fragment_offset = rte_cpu_to_be_16(frag_off);
    ip->time_to_live = ttl;
    ip->next_proto_id = proto;
    ip->src_addr = src.be;
    ip->dst_addr = dst.be;
    return ip;
}

/// The L4 header length ipv4_frame() writes for `proto`.
inline uint16_t l4_header_len(uint8_t proto) {
    return proto == IPPROTO_ICMP ? sizeof(rte_icmp_hdr) : proto == IPPROTO_TCP ? sizeof(rte_tcp_hdr) : sizeof(rte_udp_hdr);
}

/// The frame of `s` with valid checksums (except as `l4_checksum` says).
inline std::vector<uint8_t> ipv4_frame(const Ipv4Spec& s) {
    const uint16_t l4 = l4_header_len(s.proto);
    const uint16_t ip_len = static_cast<uint16_t>(sizeof(rte_ipv4_hdr) + l4 + s.payload);
    std::vector<uint8_t> f(sizeof(rte_ether_hdr) + ip_len);
    put_ether(f.data(), s.src_mac, s.dst_mac, RTE_ETHER_TYPE_IPV4);
    rte_ipv4_hdr* ip = put_ipv4(f.data() + sizeof(rte_ether_hdr), s.src, s.dst, s.proto, ip_len, s.ttl, s.frag_off,
                                s.packet_id);
    for (size_t i = f.size() - s.payload; i < f.size(); ++i) // indexed from the vector: GCC 12 warns on a pointer here
        f[i] = static_cast<uint8_t>(i - (f.size() - s.payload));
    if (s.proto == IPPROTO_ICMP) {
        auto* icmp = reinterpret_cast<rte_icmp_hdr*>(ip + 1);
        icmp->icmp_type = s.icmp_type;
        icmp->icmp_ident = rte_cpu_to_be_16(0x1234);
        icmp->icmp_seq_nb = rte_cpu_to_be_16(1);
        icmp->icmp_cksum = static_cast<uint16_t>(~rte_raw_cksum(icmp, l4 + s.payload));
    } else if (s.proto == IPPROTO_TCP) {
        auto* tcp = reinterpret_cast<rte_tcp_hdr*>(ip + 1);
        tcp->src_port = rte_cpu_to_be_16(s.sport);
        tcp->dst_port = rte_cpu_to_be_16(s.dport);
        tcp->sent_seq = rte_cpu_to_be_32(s.tcp_seq);
        tcp->recv_ack = rte_cpu_to_be_32((s.tcp_flags & RTE_TCP_ACK_FLAG) ? s.tcp_ack : 0);
        tcp->data_off = (sizeof(rte_tcp_hdr) / 4) << 4;
        tcp->tcp_flags = s.tcp_flags;
        tcp->rx_win = rte_cpu_to_be_16(65535);
        if (s.l4_checksum)
            tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
    } else {
        auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
        udp->src_port = rte_cpu_to_be_16(s.sport);
        udp->dst_port = rte_cpu_to_be_16(s.dport);
        udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(l4 + s.payload));
        if (s.l4_checksum)
            udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
    }
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    return f;
}

/// Ethernet + ARP request from (mac, ip) asking for `target`.
inline std::vector<uint8_t> arp_request(const MacAddr& mac, Ipv4Addr ip, Ipv4Addr target) {
    std::vector<uint8_t> f(sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr));
    put_ether(f.data(), mac, MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, RTE_ETHER_TYPE_ARP);
    auto* arp = reinterpret_cast<rte_arp_hdr*>(f.data() + sizeof(rte_ether_hdr));
    arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    arp->arp_hlen = 6;
    arp->arp_plen = 4;
    arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
    put_mac(&arp->arp_data.arp_sha, mac);
    arp->arp_data.arp_sip = ip.be;
    arp->arp_data.arp_tip = target.be;
    return f;
}

/// The tunnel header encapsulate() writes.
enum class TunnelKind : uint8_t { Vxlan, Geneve };

/// The outer headers of a VXLAN or Geneve frame (UDP checksum 0, no Geneve options).
struct TunnelSpec {
    TunnelKind kind = TunnelKind::Vxlan;
    MacAddr src_mac, dst_mac;
    Ipv4Addr src, dst;
    uint16_t sport = 49152;
    uint16_t dport = 0;        ///< 0: 8472 for VXLAN (Linux's default), 6081 for Geneve
    uint32_t vni = 0;          ///< 24 bits
    uint8_t ttl = 64;
    uint16_t frag_off = 0;     ///< flags included
    uint16_t packet_id = 0;
};

/// Bytes the outer Ethernet, IPv4, UDP and VXLAN or (option-less) Geneve headers add.
inline constexpr uint16_t kEncapLen = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr) + 8;
static_assert(sizeof(rte_vxlan_hdr) == 8 && sizeof(rte_geneve_hdr) == 8);

/// `inner` (a whole Ethernet frame) behind the outer headers of `t`.
inline std::vector<uint8_t> encapsulate(const TunnelSpec& t, std::span<const uint8_t> inner) {
    std::vector<uint8_t> f(kEncapLen + inner.size());
    put_ether(f.data(), t.src_mac, t.dst_mac, RTE_ETHER_TYPE_IPV4);
    const auto ip_len = static_cast<uint16_t>(f.size() - sizeof(rte_ether_hdr));
    rte_ipv4_hdr* ip = put_ipv4(f.data() + sizeof(rte_ether_hdr), t.src, t.dst, IPPROTO_UDP, ip_len, t.ttl, t.frag_off,
                                t.packet_id);
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
    udp->src_port = rte_cpu_to_be_16(t.sport);
    udp->dst_port = rte_cpu_to_be_16(t.dport != 0 ? t.dport : t.kind == TunnelKind::Geneve ? 6081 : 8472);
    udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(ip_len - sizeof(rte_ipv4_hdr)));
    if (t.kind == TunnelKind::Vxlan) {
        auto* vx = reinterpret_cast<rte_vxlan_hdr*>(udp + 1);
        vx->vx_flags = rte_cpu_to_be_32(0x08000000); // I: the VNI is valid
        vx->vx_vni = rte_cpu_to_be_32(t.vni << 8);
    } else {
        auto* gn = reinterpret_cast<rte_geneve_hdr*>(udp + 1);
        gn->proto = rte_cpu_to_be_16(RTE_ETHER_TYPE_TEB);
        gn->vni[0] = static_cast<uint8_t>(t.vni >> 16);
        gn->vni[1] = static_cast<uint8_t>(t.vni >> 8);
        gn->vni[2] = static_cast<uint8_t>(t.vni);
    }
    std::memcpy(f.data() + kEncapLen, inner.data(), inner.size());
    return f;
}

/// Copies `bytes` into a fresh mbuf from `pool` (nullptr if the pool is empty).
inline rte_mbuf* to_mbuf(rte_mempool* pool, const std::vector<uint8_t>& bytes) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr)
        return nullptr;
    char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(bytes.size()));
    std::memcpy(p, bytes.data(), bytes.size());
    return m;
}

/// The mbuf's bytes.
inline std::vector<uint8_t> bytes_of(const rte_mbuf* m) {
    const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
    return std::vector<uint8_t>(p, p + rte_pktmbuf_data_len(m));
}

} // namespace podlane::test
