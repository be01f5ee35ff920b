// The deliver stage, the last before tx: a routed packet's Ethernet header
// for where it goes and the port it leaves by. A local pod, the node's
// kernel, a remote node over the uplink (natively routed or already
// encapsulated), or the uplink's next hop; a next hop whose MAC is not known
// yet is asked of the control thread, and the packet waits for it in the
// hold queue. Routed packets' TTL is decremented here (an encapsulated one's
// was, inside the tunnel), and the path MTU checked for what leaves by the
// uplink natively.
#pragma once

#include <rte_ring_elem.h>

#include "dataplane/checksum.h"
#include "dataplane/counters.h"
#include "dataplane/icmp_error.h"
#include "dataplane/ingress.h"
#include "dataplane/parse.h"
#include "dataplane/snapshot.h"
#include "dataplane/verdict.h"

namespace podlane {

/// Asks the control thread to resolve `hop` (it probes at once). While a
/// next hop is unresolved every packet to it asks: once the ring holds a
/// few requests already, more say nothing new and are not queued.
inline void ask_resolve(const UplinkView& up, Ipv4Addr hop, WorkerCounters& c) noexcept {
    NeighborFact ask{hop, {}, kResolveRequest};
    if (up.neighbor_ring == nullptr)
        c.neighbor_facts_lost.add(1);
    else if (rte_ring_count(up.neighbor_ring) < 32 && rte_ring_mp_enqueue_elem(up.neighbor_ring, &ask, sizeof ask) != 0)
        c.neighbor_facts_lost.add(1);
}

/// To local endpoint `ep`: TTL and MACs as a router would.
[[gnu::always_inline]] inline Verdict deliver_local(const Snapshot& snap, const ParsedPacket& p, uint32_t ep,
                                                    Outcome what) noexcept {
    const EndpointEntry& to = snap.endpoints[ep];
    ipv4_decrement_ttl(p.ip);
    __builtin_memcpy(p.eth->dst_addr.addr_bytes, to.mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    __builtin_memcpy(p.eth->src_addr.addr_bytes, snap.gateway_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    return Verdict::tx(to.port_id, what);
}

/// To the node's own kernel over the host path. Local delivery, as for any
/// host: TTL is left alone.
inline Verdict deliver_host(const Snapshot& snap, const ParsedPacket& p) noexcept {
    const UplinkView& up = snap.uplink;
    __builtin_memcpy(p.eth->dst_addr.addr_bytes, up.host_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    __builtin_memcpy(p.eth->src_addr.addr_bytes, snap.gateway_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    return Verdict::tx(up.host_port, Outcome::Forwarded);
}

/// An encapsulated packet to remote node `node`: out of the uplink, or into
/// the hold queue (routed already) while the node's MAC is unknown. The
/// outer Ethernet header came with the node's template.
[[gnu::always_inline]] inline Verdict deliver_encapsulated(const UplinkView& up, const RemoteNode& node) noexcept {
    return node.mac_valid ? Verdict::tx(up.port_id, Outcome::Encapsulated) : Verdict::unresolved(node.ip, true);
}

/// A natively routed packet to remote node `node`, its next hop on the
/// uplink: the uplink's MTU, TTL, MACs; into the hold queue (routed
/// already) while the node's MAC is unknown.
inline Verdict deliver_native(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p, const Ingress& in,
                              const RemoteNode& node) noexcept {
    const UplinkView& up = snap.uplink;
    if (rte_be_to_cpu_16(p.ip->total_length) > up.mtu)
        return too_big_for_path(m, p, snap.gateway_ip, snap.gateway_mac, up.mtu, in.port);
    ipv4_decrement_ttl(p.ip);
    __builtin_memcpy(p.eth->dst_addr.addr_bytes, node.mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    __builtin_memcpy(p.eth->src_addr.addr_bytes, up.node_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    return node.mac_valid ? Verdict::tx(up.port_id, Outcome::Forwarded) : Verdict::unresolved(node.ip, true);
}

/// Out of the uplink, unencapsulated, to `dst` on the uplink subnet or else
/// via the uplink's gateway. An unresolved next hop is asked of the control
/// thread, and the packet waits for it (not routed yet: the hold queue
/// decrements its TTL when it leaves).
inline Verdict deliver_uplink(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p, const Ingress& in,
                              WorkerCounters& c) noexcept {
    const UplinkView& up = snap.uplink;
    const Ipv4Addr dst{p.ip->dst_addr};
    const Ipv4Addr hop = up.subnet.contains(dst) ? dst : up.gateway;
    if (hop.is_zero())
        return Verdict::drop(DropReason::UnknownDestination);
    if (rte_be_to_cpu_16(p.ip->total_length) > up.mtu)
        return too_big_for_path(m, p, snap.gateway_ip, snap.gateway_mac, up.mtu, in.port);
    const uint32_t n = up.neighbor_by_ip.lookup(hop);
    if (n == kNotFound) {
        ask_resolve(up, hop, c);
        return Verdict::unresolved(hop);
    }
    ipv4_decrement_ttl(p.ip);
    __builtin_memcpy(p.eth->dst_addr.addr_bytes, up.neighbor_macs[n].bytes.data(), RTE_ETHER_ADDR_LEN);
    __builtin_memcpy(p.eth->src_addr.addr_bytes, up.node_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    return Verdict::tx(up.port_id, Outcome::Forwarded);
}

} // namespace podlane
