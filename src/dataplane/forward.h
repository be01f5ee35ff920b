// IPv4 forwarding between local endpoints: source check, TTL, endpoint lookup
// and the Ethernet rewrite to the destination pod.
#pragma once

#include "dataplane/checksum.h"
#include "dataplane/icmp_echo.h"
#include "dataplane/parse.h"
#include "dataplane/snapshot.h"
#include "dataplane/verdict.h"

namespace podlane {

/// What the pipeline knows about the port a burst came in on.
struct Ingress {
    uint16_t port = 0;
    bool from_endpoint = false; ///< the port belongs to a pod
    Ipv4Addr endpoint_ip;       ///< that pod's IP, the only source it may use

    static Ingress of(const Snapshot& snap, uint16_t port) noexcept {
        const uint32_t ep = snap.ports[port].endpoint;
        return ep == kNoEndpoint ? Ingress{port, false, {}} : Ingress{port, true, snap.endpoints[ep].ip};
    }
};

/// Routes a parsed IPv4 packet that arrived on `in`.
inline Verdict forward_ipv4(const Snapshot& snap, const ParsedPacket& p, const Ingress& in) noexcept {
    rte_ipv4_hdr* ip = p.ip;
    const uint16_t in_port = in.port;
    // A pod may only send from its own IP (anti-spoofing, like Cilium's
    // DROP_INVALID_SIP).
    if (in.from_endpoint && in.endpoint_ip.be != ip->src_addr)
        return Verdict::drop(DropReason::InvalidSource);

    const Ipv4Addr dst{ip->dst_addr};
    if (dst == snap.gateway_ip)
        return handle_to_gateway(snap, p, in_port);
    if (ip->time_to_live <= 1)
        return Verdict::drop(DropReason::TtlExceeded);

    const uint32_t ep = snap.endpoint_by_ip.lookup(dst);
    if (ep == kNoEndpoint)
        return Verdict::drop(DropReason::UnknownDestination);
    const EndpointEntry& to = snap.endpoints[ep];

    ipv4_decrement_ttl(ip);
    __builtin_memcpy(p.eth->dst_addr.addr_bytes, to.mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    __builtin_memcpy(p.eth->src_addr.addr_bytes, snap.gateway_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    return Verdict::tx(to.port_id);
}

} // namespace podlane
