// ARP for the addresses podlane owns (the pod gateway on pod ports, the node
// IP on the uplink). Requests are answered in place, out of the port they
// came in on; on the uplink, what ARP teaches about neighbours goes to the
// control thread's neighbour cache.
#pragma once

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ring_elem.h>

#include "dataplane/counters.h"
#include "dataplane/snapshot.h"
#include "dataplane/verdict.h"

namespace podlane {

/// True for an Ethernet/IPv4 ARP packet of the usual shape.
inline bool arp_is_ether_ipv4(const rte_arp_hdr* arp) noexcept {
    return arp->arp_hardware == RTE_BE16(RTE_ARP_HRD_ETHER) &&
           arp->arp_protocol == RTE_BE16(RTE_ETHER_TYPE_IPV4) && arp->arp_hlen == RTE_ETHER_ADDR_LEN &&
           arp->arp_plen == 4;
}

/// Turns an ARP request for `our_ip` into the reply from `our_mac`, in place.
inline Verdict arp_reply_in_place(rte_ether_hdr* eth, rte_arp_hdr* arp, Ipv4Addr our_ip, const MacAddr& our_mac,
                                  uint16_t in_port) noexcept {
    rte_arp_ipv4& a = arp->arp_data;
    rte_ether_addr mine;
    __builtin_memcpy(mine.addr_bytes, our_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
    a.arp_tha = a.arp_sha;
    a.arp_tip = a.arp_sip;
    a.arp_sha = mine;
    a.arp_sip = our_ip.be;
    eth->dst_addr = a.arp_tha;
    eth->src_addr = mine;
    return Verdict::tx(in_port, Outcome::ArpReply);
}

/// ARP on a pod port: only requests for the gateway IP are answered.
inline Verdict handle_arp(const Snapshot& snap, rte_ether_hdr* eth, rte_arp_hdr* arp, uint16_t in_port) noexcept {
    if (!arp_is_ether_ipv4(arp) || arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST))
        return Verdict::drop(DropReason::ArpUnsupported);
    if (arp->arp_data.arp_tip != snap.gateway_ip.be)
        return Verdict::drop(DropReason::ArpNotForUs);
    return arp_reply_in_place(eth, arp, snap.gateway_ip, snap.gateway_mac, in_port);
}

/// ARP on the uplink: requests for the node IP are answered; requests for us
/// and replies teach the control thread the sender's MAC (as Linux learns).
inline Verdict handle_uplink_arp(const Snapshot& snap, rte_ether_hdr* eth, rte_arp_hdr* arp, uint16_t in_port,
                                 WorkerCounters& c) noexcept {
    if (!arp_is_ether_ipv4(arp))
        return Verdict::drop(DropReason::ArpUnsupported);
    const UplinkView& up = snap.uplink;
    const bool request = arp->arp_opcode == RTE_BE16(RTE_ARP_OP_REQUEST);
    const bool reply = arp->arp_opcode == RTE_BE16(RTE_ARP_OP_REPLY);
    const bool for_us = arp->arp_data.arp_tip == up.node_ip.be;
    if (!(request || reply))
        return Verdict::drop(DropReason::ArpUnsupported);
    if (!for_us)
        return Verdict::drop(DropReason::ArpNotForUs);
    if (arp->arp_data.arp_sip != 0 && up.neighbor_ring != nullptr) {
        NeighborFact fact{Ipv4Addr{arp->arp_data.arp_sip}, {}, in_port};
        __builtin_memcpy(fact.mac.bytes.data(), arp->arp_data.arp_sha.addr_bytes, RTE_ETHER_ADDR_LEN);
        if (rte_ring_mp_enqueue_elem(up.neighbor_ring, &fact, sizeof fact) != 0)
            c.neighbor_facts_lost.add(1);
    }
    if (reply)
        return Verdict::consumed();
    return arp_reply_in_place(eth, arp, up.node_ip, up.node_mac, in_port);
}

} // namespace podlane
