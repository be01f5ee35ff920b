// Packet capture (podlane capture): while a capture runs, each worker copies
// the packets it receives that match the capture's filter, formatted as
// pcapng Enhanced Packet Blocks (rte_pcapng_copy), into a ring of its own
// (single producer, single consumer: the control thread, which writes them
// to the file). When no capture runs, the cost is one relaxed load per
// received burst. A full ring or an empty copy pool loses the copy (counted),
// never the packet.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_pcapng.h>
#include <rte_ring.h>

#include "dataplane/counters.h"
#include "dataplane/flow_event.h"

namespace podlane {

/// One condition of a capture filter (all of a filter's terms must hold).
struct CaptureTerm {
    enum class Kind : uint8_t { Host, Port, Proto };
    enum class Side : uint8_t { Either, Src, Dst };
    Kind kind = Kind::Host;
    Side side = Side::Either;
    bool negate = false;
    uint8_t proto = 0;      ///< Proto: IPPROTO_*
    rte_be16_t port = 0;    ///< Port (network order)
    rte_be32_t ip = 0;      ///< Host (network order)
};

/// A conjunction of terms; no term matches every packet.
struct CaptureFilter {
    static constexpr uint32_t kMaxTerms = 8;
    std::array<CaptureTerm, kMaxTerms> terms{};
    uint32_t count = 0;

    bool matches(const FlowTuple& t) const noexcept {
        for (uint32_t i = 0; i < count; ++i) {
            const CaptureTerm& c = terms[i];
            bool hit = false;
            switch (c.kind) {
            case CaptureTerm::Kind::Host:
                hit = (c.side != CaptureTerm::Side::Dst && t.src == c.ip) ||
                      (c.side != CaptureTerm::Side::Src && t.dst == c.ip);
                break;
            case CaptureTerm::Kind::Port:
                hit = (t.proto == IPPROTO_TCP || t.proto == IPPROTO_UDP) &&
                      ((c.side != CaptureTerm::Side::Dst && t.sport == c.port) ||
                       (c.side != CaptureTerm::Side::Src && t.dport == c.port));
                break;
            case CaptureTerm::Kind::Proto:
                hit = t.proto == c.proto;
                break;
            }
            if (hit == c.negate)
                return false;
        }
        return true;
    }
};

/// A worker's capture state. The control thread writes everything but the
/// counters while `active` is false and no worker can still be inside
/// capture_burst (after an RCU grace period), then sets `active`.
struct CaptureTap {
    std::atomic<bool> active{false};
    CaptureFilter filter;
    rte_ring* ring = nullptr;            ///< pcapng-formatted copies for the control thread
    rte_mempool* pool = nullptr;         ///< where copies come from
    uint32_t snaplen = UINT32_MAX;       ///< bytes copied per packet
    rte_be16_t tunnel_port_a = 0;        ///< UDP ports whose payload is an inner frame (VXLAN, Geneve),
    rte_be16_t tunnel_port_b = 0;        ///< matched against the filter too
    /// Port id -> pcapng interface index of the file (the ports that existed
    /// when it was opened); 0xff: a port the file does not describe.
    std::array<uint8_t, RTE_MAX_ETHPORTS> interface{};
    Counter matched;                     ///< copies handed to the control thread
    Counter lost;                        ///< matching packets not copied (full ring, no mbuf, unknown port)
};

/// Whether `m` (its outer frame, or the inner frame of a tunnel packet)
/// matches the capture's filter.
inline bool capture_matches(const CaptureTap& tap, const rte_mbuf* m) noexcept {
    if (tap.filter.count == 0)
        return true;
    const FlowTuple outer = flow_tuple_at(m, 0);
    if (tap.filter.matches(outer))
        return true;
    if (outer.proto != IPPROTO_UDP || (outer.dport != tap.tunnel_port_a && outer.dport != tap.tunnel_port_b))
        return false;
    const uint32_t inner = flow_inner_offset(m);
    return inner != 0 && tap.filter.matches(flow_tuple_at(m, inner));
}

/// Copies the packets of a received burst that match, as they arrived on
/// `port`/`queue`. Called only while tap.active.
inline void capture_burst(CaptureTap& tap, uint16_t port, uint16_t queue, rte_mbuf* const* pkts, uint16_t n) noexcept {
    const uint64_t now = rte_get_tsc_cycles();
    for (uint16_t i = 0; i < n; ++i) {
        if (!capture_matches(tap, pkts[i]))
            continue;
        const uint8_t interface = port < tap.interface.size() ? tap.interface[port] : 0xff;
        rte_mbuf* copy = interface == 0xff ? nullptr
                                           : rte_pcapng_copy(port, queue, pkts[i], tap.pool, tap.snaplen, now,
                                                             RTE_PCAPNG_DIRECTION_IN);
        if (copy == nullptr) {
            tap.lost.add(1);
            continue;
        }
        // The Enhanced Packet Block's interface id (pcapng: block type,
        // block length, then the interface id) is the file's interface
        // index, which differs from the port id once ports come and go.
        *rte_pktmbuf_mtod_offset(copy, uint32_t*, 8) = interface;
        if (rte_ring_sp_enqueue(tap.ring, copy) != 0) {
            rte_pktmbuf_free(copy);
            tap.lost.add(1);
            continue;
        }
        tap.matched.add(1);
    }
}

} // namespace podlane
