// Builds test frames (Ethernet + ARP or IPv4 + ICMP/UDP) as bytes and mbufs.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "common/net_types.h"

namespace podlane::test {

struct Ipv4Spec {
    MacAddr src_mac, dst_mac;
    Ipv4Addr src, dst;
    uint8_t ttl = 64;
    uint8_t proto = IPPROTO_UDP;
    uint16_t payload = 18;     ///< bytes after the L4 header
    uint8_t icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
    uint16_t frag_off = 0;     ///< host order, flags included
};

inline void put_mac(void* to, const MacAddr& m) { std::memcpy(to, m.bytes.data(), 6); }

/// Ethernet + IPv4 + (UDP | ICMP echo) with valid checksums.
inline std::vector<uint8_t> ipv4_frame(const Ipv4Spec& s) {
    const uint16_t l4 = s.proto == IPPROTO_ICMP ? sizeof(rte_icmp_hdr) : sizeof(rte_udp_hdr);
    std::vector<uint8_t> f(sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + l4 + s.payload);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(f.data());
    put_mac(&eth->dst_addr, s.dst_mac);
    put_mac(&eth->src_addr, s.src_mac);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(sizeof(rte_ipv4_hdr) + l4 + s.payload));
    ip->packet_id = rte_cpu_to_be_16(1);
    ip->fragment_offset = rte_cpu_to_be_16(s.frag_off);
    ip->time_to_live = s.ttl;
    ip->next_proto_id = s.proto;
    ip->src_addr = s.src.be;
    ip->dst_addr = s.dst.be;
    uint8_t* payload = reinterpret_cast<uint8_t*>(ip + 1) + l4;
    for (uint16_t i = 0; i < s.payload; ++i)
        payload[i] = static_cast<uint8_t>(i);
    if (s.proto == IPPROTO_ICMP) {
        auto* icmp = reinterpret_cast<rte_icmp_hdr*>(ip + 1);
        icmp->icmp_type = s.icmp_type;
        icmp->icmp_ident = rte_cpu_to_be_16(0x1234);
        icmp->icmp_seq_nb = rte_cpu_to_be_16(1);
        icmp->icmp_cksum = static_cast<uint16_t>(~rte_raw_cksum(icmp, l4 + s.payload));
    } else {
        auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
        udp->src_port = rte_cpu_to_be_16(40000);
        udp->dst_port = rte_cpu_to_be_16(8080);
        udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(l4 + s.payload));
        udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
    }
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    return f;
}

/// Ethernet + ARP request from (mac, ip) asking for `target`.
inline std::vector<uint8_t> arp_request(const MacAddr& mac, Ipv4Addr ip, Ipv4Addr target) {
    std::vector<uint8_t> f(sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr));
    auto* eth = reinterpret_cast<rte_ether_hdr*>(f.data());
    std::memset(eth->dst_addr.addr_bytes, 0xff, 6);
    put_mac(&eth->src_addr, mac);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
    auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
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
