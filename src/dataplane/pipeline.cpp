#include "dataplane/pipeline.h"

#include <rte_ethdev.h>
#include <rte_prefetch.h>

#include "dataplane/arp.h"
#include "dataplane/forward.h"
#include "dataplane/parse.h"

namespace podlane {

namespace {
/// How many packets ahead the header prefetch runs (l3fwd uses 3).
constexpr size_t kPrefetchOffset = 3;
} // namespace

void classify_burst(const Snapshot& snap, uint16_t in_port, std::span<rte_mbuf*> pkts,
                    uint16_t* out_ports, WorkerCounters& c) noexcept {
    const size_t n = pkts.size();
    for (size_t i = 0; i < n && i < kPrefetchOffset; ++i)
        rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));

    if (!snap.ports[in_port].in_use) {
        // The port is being removed: the table no longer knows it.
        for (size_t i = 0; i < n; ++i) {
            drop_packet(pkts[i], DropReason::UnknownPort, c);
            out_ports[i] = kDropPort;
        }
        return;
    }

    const Ingress ingress = Ingress::of(snap, in_port);
    uint64_t forwarded = 0, arp_replies = 0, icmp_replies = 0;
    for (size_t i = 0; i < n; ++i) {
        if (i + kPrefetchOffset < n)
            rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kPrefetchOffset], void*));
        rte_mbuf* m = pkts[i];
        const ParsedPacket p = parse_packet(m);
        Verdict v;
        switch (p.kind) {
        case L3Kind::Ipv4: {
            const bool to_gateway = p.ip->dst_addr == snap.gateway_ip.be;
            v = forward_ipv4(snap, p, ingress);
            if (!v.dropped())
                ++(to_gateway ? icmp_replies : forwarded);
            break;
        }
        case L3Kind::Arp:
            v = handle_arp(snap, p.eth, p.arp, in_port);
            arp_replies += !v.dropped();
            break;
        case L3Kind::Drop:
            v = Verdict::drop(p.drop);
            break;
        }
        if (v.dropped())
            drop_packet(m, v.reason, c);
        out_ports[i] = v.port;
    }
    c.forwarded.add(forwarded);
    c.arp_replies.add(arp_replies);
    c.icmp_replies.add(icmp_replies);
}

void transmit_burst(std::span<rte_mbuf*> pkts, const uint16_t* out_ports, uint16_t tx_queue,
                    WorkerCounters& c) noexcept {
    const size_t n = pkts.size();
    rte_mbuf* batch[kMaxBurst];
    uint64_t done = 0; // bit i: pkts[i] handled (n <= 64)
    uint64_t sent_total = 0;
    for (size_t i = 0; i < n; ++i) {
        const uint16_t port = out_ports[i];
        if (port == kDropPort || (done >> i & 1))
            continue;
        // Gather every later packet for the same port, keeping their order.
        uint16_t k = 0;
        for (size_t j = i; j < n; ++j) {
            if (out_ports[j] == port) {
                batch[k++] = pkts[j];
                done |= uint64_t{1} << j;
            }
        }
        const uint16_t sent = rte_eth_tx_burst(port, tx_queue, batch, k);
        sent_total += sent;
        for (uint16_t j = sent; j < k; ++j)
            drop_packet(batch[j], DropReason::TxFull, c);
    }
    c.tx_packets.add(sent_total);
}

} // namespace podlane
