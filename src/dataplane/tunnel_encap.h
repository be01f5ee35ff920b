// The encapsulation stage: a routed packet for a pod on another node goes
// into a VXLAN or Geneve tunnel to that node, with Cilium's DSR option when
// the load balancer dispatched it that way. Where it then leaves (the
// uplink, or the hold queue while the node's MAC is unknown) is the deliver
// stage's business.
#pragma once

#include <cstdint>

#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dataplane/checksum.h"
#include "dataplane/icmp_error.h"
#include "dataplane/ingress.h"
#include "dataplane/parse.h"
#include "dataplane/snapshot.h"
#include "dataplane/stage_result.h"
#include "dataplane/tunnel.h"

namespace podlane {

/// Encapsulates `p` for remote node `node`: the tunnel's path MTU (the
/// uplink's less the outer headers and a DSR option), the inner packet's TTL,
/// its Ethernet header from this node's gateway to the tunnel's far end (a
/// podlane node rewrites it for its pod anyway; a kernel VXLAN device
/// accepts only its own MAC), then the outer headers with the sender's
/// identity as VNI. `lb` says whether the load balancer made it a DSR dispatch.
[[gnu::always_inline]] inline StageResult encapsulate(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p,
                                                      const Ingress& in, const RemoteNode& node,
                                                      const StageResult& lb) noexcept {
    const UplinkView& up = snap.uplink;
    const uint16_t dsr_len = lb.dsr && up.routing == Routing::Geneve ? sizeof(GeneveDsrOpt) : 0;
    const uint16_t path_mtu = static_cast<uint16_t>(up.mtu - kTunnelOverhead - dsr_len);
    if (rte_be_to_cpu_16(p.ip->total_length) > path_mtu)
        return StageResult::finish(too_big_for_path(m, p, snap.gateway_ip, snap.gateway_mac, path_mtu, in.port));
    ipv4_decrement_ttl(p.ip);
    __builtin_memcpy(p.eth->dst_addr.addr_bytes, node.inner_dst_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    __builtin_memcpy(p.eth->src_addr.addr_bytes, snap.gateway_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    const rte_be16_t sport = tunnel_source_port(inner_flow_hash(p.ip, p.ip_hdr_len));
    const bool ok = dsr_len != 0 ? tunnel_encap_dsr(m, node, in.identity, sport, lb.dsr_addr, lb.dsr_port)
                                 : tunnel_encap(m, node, in.identity, sport);
    if (!ok)
        return StageResult::finish(Verdict::drop(DropReason::NoHeadroom));
    return StageResult::go_on(true);
}

} // namespace podlane
