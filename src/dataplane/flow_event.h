// Flow events, Hubble-style: what the pipeline did with a packet (dropped
// with its reason, forwarded, translated), with its IPv4 5-tuple before and
// after the pipeline. Workers push them into a ring of their own (single
// producer, single consumer: the control thread), sampled so that the fast
// path pays little: every dropped packet, and one in `sample_every` of the
// others. A full ring loses the event (counted), never the packet.
#pragma once

#include <cstdint>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_udp.h>

#include "dataplane/counters.h"
#include "dataplane/drop_reason.h"
#include "dataplane/parse.h"
#include "dataplane/verdict.h"

namespace podlane {

enum class FlowVerdict : uint8_t { Forwarded, Dropped, Translated };

/// An IPv4 5-tuple as seen in a packet (network order); proto 0: not IPv4.
struct FlowTuple {
    rte_be32_t src = 0;
    rte_be32_t dst = 0;
    rte_be16_t sport = 0;
    rte_be16_t dport = 0;
    uint8_t proto = 0;
    uint8_t tcp_flags = 0;
    friend bool operator==(const FlowTuple&, const FlowTuple&) = default;
};

/// One event, 56 bytes.
struct FlowEvent {
    uint64_t tsc = 0;
    FlowTuple pre;          ///< as received
    FlowTuple post;         ///< as sent (the inner packet when encapsulated); zero when dropped
    uint16_t in_port = 0;
    uint16_t out_port = 0;  ///< kDropPort when dropped
    uint16_t length = 0;    ///< frame length as received
    uint8_t worker = 0;
    FlowVerdict verdict = FlowVerdict::Forwarded;
    DropReason reason = DropReason::Count;
    Outcome outcome = Outcome::Forwarded;
    uint8_t pad[2] = {};
    uint32_t count = 1;     ///< events it stands for: itself and those aggregated into it (see FlowTap)
};
static_assert(sizeof(FlowEvent) == 56, "ring elements: a multiple of 4 bytes, and small");

/// Aggregation, as Cilium's monitor aggregation: an event like one this
/// worker emitted less than `aggregate_tsc` ago (same tuples, verdict, drop
/// reason and ports) is not emitted but counted, and the flow's next event
/// after the interval carries the count. A direct-mapped table of recent
/// events per worker; a collision only costs an extra event.
struct FlowAggregateSlot {
    uint64_t key = 0;
    uint64_t until_tsc = 0;      ///< events of `key` before this are aggregated
    uint32_t aggregated = 0;     ///< events of `key` not emitted since its last event
};

/// A worker's tap: its ring and sampling state (nullptr ring: observing off).
struct FlowTap {
    static constexpr uint32_t kAggregateSlots = 256;
    rte_ring* ring = nullptr;
    uint32_t sample_every = 0;   ///< forwarded packets: one event per this many; 0: drops only
    uint32_t countdown = 1;
    uint8_t worker = 0;
    uint64_t aggregate_tsc = 0;  ///< aggregation interval in TSC cycles; 0: every event is emitted
    FlowAggregateSlot aggregate[kAggregateSlots];
    Counter lost;                ///< events the full ring refused (read by the control thread)
    Counter aggregated;          ///< events folded into a later one's count
};

/// Whether `e` is to be emitted; when it is, e.count includes the events of
/// its flow aggregated since the previous one.
inline bool flow_aggregate(FlowTap& tap, FlowEvent& e) noexcept {
    if (tap.aggregate_tsc == 0)
        return true;
    uint64_t key = (uint64_t{e.pre.src} << 32 | e.pre.dst) ^ (uint64_t{e.post.src} << 29 | e.post.dst) * 0x9e3779b97f4a7c15ull;
    key ^= (uint64_t{e.pre.sport} << 48 | uint64_t{e.pre.dport} << 32 | uint64_t{e.post.sport} << 16 | e.post.dport) *
           0xc2b2ae3d27d4eb4full;
    key ^= uint64_t{e.pre.proto} << 56 | uint64_t{static_cast<uint8_t>(e.verdict)} << 48 |
           uint64_t{static_cast<uint8_t>(e.reason)} << 40 | uint64_t{e.in_port} << 16 | e.out_port;
    key = (key ^ (key >> 31)) * 0xbf58476d1ce4e5b9ull;
    key ^= key >> 29;
    FlowAggregateSlot& s = tap.aggregate[key % FlowTap::kAggregateSlots];
    if (s.key == key && e.tsc < s.until_tsc) {
        ++s.aggregated;
        tap.aggregated.add(1);
        return false;
    }
    e.count = s.key == key ? s.aggregated + 1 : 1;
    s.key = key;
    s.until_tsc = e.tsc + tap.aggregate_tsc;
    s.aggregated = 0;
    return true;
}

/// The IPv4 5-tuple of the frame at `offset` in `m`, or a zero tuple.
inline FlowTuple flow_tuple_at(const rte_mbuf* m, uint32_t offset) noexcept {
    FlowTuple t;
    if (rte_pktmbuf_data_len(m) < offset + sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr))
        return t;
    const uint8_t* p = rte_pktmbuf_mtod_offset(m, const uint8_t*, offset);
    const auto* eth = reinterpret_cast<const rte_ether_hdr*>(p);
    if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
        return t;
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(p + sizeof(rte_ether_hdr));
    t.src = ip->src_addr;
    t.dst = ip->dst_addr;
    t.proto = ip->next_proto_id;
    const uint32_t l4 = offset + sizeof(rte_ether_hdr) + (ip->version_ihl & 0xf) * 4u;
    if ((t.proto == IPPROTO_TCP || t.proto == IPPROTO_UDP) && rte_pktmbuf_data_len(m) >= l4 + 4 &&
        !ipv4_is_later_fragment(ip)) {
        const uint8_t* l4p = rte_pktmbuf_mtod_offset(m, const uint8_t*, l4);
        t.sport = *reinterpret_cast<const rte_be16_t*>(l4p);
        t.dport = *reinterpret_cast<const rte_be16_t*>(l4p + 2);
        if (t.proto == IPPROTO_TCP && rte_pktmbuf_data_len(m) >= l4 + 14)
            t.tcp_flags = l4p[13];
    }
    return t;
}

/// The inner frame's offset in an encapsulated packet (VXLAN or Geneve over
/// UDP over IPv4), or 0.
inline uint32_t flow_inner_offset(const rte_mbuf* m) noexcept {
    const uint32_t min = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr) + 8;
    if (rte_pktmbuf_data_len(m) < min + sizeof(rte_ether_hdr))
        return 0;
    const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, sizeof(rte_ether_hdr));
    const uint32_t tunnel = sizeof(rte_ether_hdr) + (ip->version_ihl & 0xf) * 4u + sizeof(rte_udp_hdr);
    const uint8_t* hdr = rte_pktmbuf_mtod_offset(m, const uint8_t*, tunnel);
    const uint32_t options = (hdr[0] & 0x08) ? 0 : (hdr[0] & 0x3f) * 4u; // VXLAN has the I flag; Geneve an option length
    return tunnel + 8 + options;
}

/// Pushes one event; a full ring counts it lost.
inline void flow_emit(FlowTap& tap, FlowEvent& e) noexcept {
    if (rte_ring_sp_enqueue_elem(tap.ring, &e, sizeof(FlowEvent)) != 0)
        tap.lost.add(1);
}

} // namespace podlane
