#include "dataplane/hold_queue.h"

#include <rte_ip.h>

#include "dataplane/checksum.h"
#include "dataplane/pipeline.h"

namespace podlane {

void HoldQueue::retry(const Snapshot& snap, uint16_t tx_queue, uint64_t now_tsc, WorkerCounters& c) noexcept {
    const UplinkView& up = snap.uplink;
    rte_mbuf* ready[kCapacity];
    uint16_t n_ready = 0;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n_; ++i) {
        Held& h = items_[i];
        const uint32_t nb = up.has_uplink ? up.neighbor_by_ip.lookup(h.hop) : kNotFound;
        if (nb != kNotFound) {
            // The frame is as deliver_uplink (route it now) or deliver_native
            // and deliver_encapsulated (routed: addresses only) left it.
            auto* eth = rte_pktmbuf_mtod(h.m, rte_ether_hdr*);
            if (!h.ready)
                ipv4_decrement_ttl(reinterpret_cast<rte_ipv4_hdr*>(eth + 1));
            __builtin_memcpy(eth->dst_addr.addr_bytes, up.neighbor_macs[nb].bytes.data(), RTE_ETHER_ADDR_LEN);
            __builtin_memcpy(eth->src_addr.addr_bytes, up.node_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
            ready[n_ready++] = h.m;
        } else if (now_tsc >= h.deadline || !up.has_uplink) {
            drop_packet(h.m, DropReason::NoNeighbour, c);
        } else {
            items_[kept++] = h;
        }
    }
    n_ = kept;
    if (n_ready == 0)
        return;
    c.forwarded.add(tx_or_drop(up.port_id, tx_queue, ready, n_ready, c));
}

void HoldQueue::drain(WorkerCounters& c) noexcept {
    for (uint32_t i = 0; i < n_; ++i)
        drop_packet(items_[i].m, DropReason::NoNeighbour, c);
    n_ = 0;
}

} // namespace podlane
