// VXLAN (RFC 7348) and Geneve (RFC 8926) outer headers over IPv4/UDP, the way
// Cilium's tunnel mode uses them: the 24-bit VNI carries the source security
// identity, and the outer UDP source port comes from a hash of the inner flow
// so that ECMP and RSS on the underlay spread flows. The stages that use
// them: tunnel_encap.h and tunnel_decap.h.
#pragma once

#include <cstdint>

#include <rte_ether.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "dataplane/checksum.h"
#include "dataplane/parse.h"
#include "dataplane/snapshot.h"
#include "dataplane/tunnel_hdr.h"

namespace podlane {

/// A hash of the inner flow: addresses and protocol, plus the ports of
/// unfragmented TCP and UDP, so every packet of a flow (fragments included)
/// hashes the same.
inline uint32_t inner_flow_hash(const rte_ipv4_hdr* ip, uint16_t hdr_len) noexcept {
    uint32_t h = rte_hash_crc_4byte(ip->src_addr, 0x9e3779b9);
    h = rte_hash_crc_4byte(ip->dst_addr, h);
    uint32_t ports = 0;
    if (!ipv4_is_fragment(ip) && (ip->next_proto_id == IPPROTO_TCP || ip->next_proto_id == IPPROTO_UDP))
        __builtin_memcpy(&ports, reinterpret_cast<const uint8_t*>(ip) + hdr_len, 4);
    return rte_hash_crc_4byte(ports ^ ip->next_proto_id, h);
}

/// The outer UDP source port for a flow hash: 49152..65535 (RFC 6335's
/// dynamic range), as RFC 7348 recommends.
inline rte_be16_t tunnel_source_port(uint32_t flow_hash) noexcept {
    return rte_cpu_to_be_16(static_cast<uint16_t>(0xC000 | (flow_hash & 0x3FFF)));
}

/// Prepends the outer headers to the inner Ethernet frame in `m`: the remote
/// node's prebuilt template, then the per-packet fields (lengths, the IPv4
/// checksum patched for the length, source port, VNI). The caller has checked
/// the MTU; returns false if the mbuf has no headroom.
inline bool tunnel_encap(rte_mbuf* m, const RemoteNode& to, uint32_t vni, rte_be16_t src_port) noexcept {
    const uint16_t inner_len = static_cast<uint16_t>(rte_pktmbuf_pkt_len(m));
    auto* o = reinterpret_cast<OuterHdrs*>(rte_pktmbuf_prepend(m, sizeof(OuterHdrs)));
    if (o == nullptr)
        return false;
    *o = to.outer;
    const uint16_t udp_len = static_cast<uint16_t>(inner_len + sizeof(rte_udp_hdr) + sizeof(TunnelHdr));
    const rte_be16_t ip_len = rte_cpu_to_be_16(static_cast<uint16_t>(udp_len + sizeof(rte_ipv4_hdr)));
    o->ip.total_length = ip_len;
    o->ip.hdr_checksum = csum_replace16(to.outer.ip.hdr_checksum, 0, ip_len); // template has length 0
    o->udp.src_port = src_port;
    o->udp.dgram_len = rte_cpu_to_be_16(udp_len);
    o->tun.vni[0] = static_cast<uint8_t>(vni >> 16);
    o->tun.vni[1] = static_cast<uint8_t>(vni >> 8);
    o->tun.vni[2] = static_cast<uint8_t>(vni);
    return true;
}

/// tunnel_encap plus Cilium's DSR option (Geneve only) carrying the service
/// address and port the client used. Returns false without headroom.
inline bool tunnel_encap_dsr(rte_mbuf* m, const RemoteNode& to, uint32_t vni, rte_be16_t src_port,
                             rte_be32_t svc_addr, rte_be16_t svc_port) noexcept {
    auto* opt = reinterpret_cast<GeneveDsrOpt*>(rte_pktmbuf_prepend(m, sizeof(GeneveDsrOpt)));
    if (opt == nullptr)
        return false;
    *opt = GeneveDsrOpt{RTE_BE16(kGeneveOptClassCilium), kGeneveOptTypeDsr4, 2, svc_addr, svc_port, 0};
    if (!tunnel_encap(m, to, vni, src_port)) {
        rte_pktmbuf_adj(m, sizeof(GeneveDsrOpt));
        return false;
    }
    auto* o = rte_pktmbuf_mtod(m, OuterHdrs*);
    o->tun.b0 = static_cast<uint8_t>(sizeof(GeneveDsrOpt) / 4); // version 0, option length in words
    return true;
}

} // namespace podlane
