// ARP responder for the addresses podlane owns (the pod gateway). Requests are
// answered in place, out of the port they came in on.
#pragma once

#include <rte_arp.h>
#include <rte_ether.h>

#include "dataplane/snapshot.h"
#include "dataplane/verdict.h"

namespace podlane {

/// Turns an ARP request for the gateway IP into the reply, in place.
inline Verdict handle_arp(const Snapshot& snap, rte_ether_hdr* eth, rte_arp_hdr* arp,
                          uint16_t in_port) noexcept {
    if (arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
        arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) || arp->arp_hlen != RTE_ETHER_ADDR_LEN ||
        arp->arp_plen != 4 || arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST))
        return Verdict::drop(DropReason::ArpUnsupported);
    rte_arp_ipv4& a = arp->arp_data;
    if (a.arp_tip != snap.gateway_ip.be)
        return Verdict::drop(DropReason::ArpNotForUs);

    rte_ether_addr gw;
    __builtin_memcpy(gw.addr_bytes, snap.gateway_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
    a.arp_tha = a.arp_sha;
    a.arp_tip = a.arp_sip;
    a.arp_sha = gw;
    a.arp_sip = snap.gateway_ip.be;
    eth->dst_addr = a.arp_tha;
    eth->src_addr = gw;
    return Verdict::tx(in_port);
}

} // namespace podlane
