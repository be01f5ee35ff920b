// The conntrack burst cache. Before the per-packet work on a burst, the
// conntrack keys its packets will most likely ask for are guessed from
// their headers and looked up all at once (ct_lookup_burst), so that the
// hash buckets, keys and entries of every packet are fetched from memory in
// parallel rather than one packet after the other. ct_find() answers a
// packet from there, and ct_create() keeps the answers right when the burst
// itself creates flows.
#pragma once

#include <cstdint>
#include <span>

#include <rte_mbuf.h>
#include <rte_udp.h>

#include "dataplane/conntrack.h"
#include "dataplane/ct_tuple.h"
#include "dataplane/parse.h"
#include "dataplane/service_table.h"
#include "dataplane/snapshot.h"
#include "dataplane/tunnel_hdr.h"

namespace podlane {

/// Most packets a burst's conntrack lookups are done for at once.
inline constexpr uint32_t kCtBurstMax = 64;

/// The conntrack lookups of one burst. keys[i] is what packet i is expected
/// to look up; hits[i] what the table held for it.
struct CtBurstLookup {
    /// kCtBurstMax T's left uninitialised: only the slots looked_up marks are
    /// read, and an LbWorker made per burst (run_stages without one) would
    /// otherwise clear 2 KiB each time.
    template <typename T>
    union Slots {
        T at[kCtBurstMax];
        Slots() noexcept {}
        T& operator[](size_t i) noexcept { return at[i]; }
        const T& operator[](size_t i) const noexcept { return at[i]; }
    };
    uint64_t looked_up = 0;   ///< bit i: keys[i] and hits[i] are set
    uint32_t current = 0;     ///< the index of the packet being processed
    uint64_t repeated = 0;    ///< bit i: packet i's key was not found and an earlier packet's may be the same
    uint32_t created = 0;     ///< flows this worker created during the burst: created_keys/hits[0..created)
    Slots<CtTuple> keys;
    Slots<CtHit> hits;
    /// The original tuples and hits of the flows created during the burst:
    /// a packet whose flow did not exist at the start may belong to one.
    Slots<CtTuple> created_keys;
    Slots<CtHit> created_hits;

    /// Forgets the burst's answers (the worker rebound a flow, so some are
    /// stale): the rest of the burst looks its flows up one by one.
    void forget() noexcept { looked_up = 0; }
};

/// Which side a burst came in on, for the keys it is expected to look up.
enum class RxSide : uint8_t {
    Node,   ///< a pod, the host path or a plain port
    Uplink, ///< the uplink: the node IP's flows, tunnelled packets' inner flows
};

/// The flow of a packet with tuple `t`: what ct_lookup_burst() found for it
/// when the burst started, if it looked up this very tuple and no flow was
/// rebound since; a flow the worker created meanwhile, if the start found
/// none (a later packet of the same new flow); otherwise a lookup of its
/// own. Only the worker's own writes during the burst can matter here:
/// another packet's reply cannot arrive before the burst that carries its
/// request is sent.
inline CtHit ct_find(const LbTables& lb, const CtBurstLookup& b, const CtTuple& t) noexcept {
    const uint32_t i = b.current;
    if ((b.looked_up >> i & 1) && __builtin_memcmp(&b.keys[i], &t, sizeof t) == 0) {
        if (b.hits[i].entry != nullptr || !(b.repeated >> i & 1) || b.created == 0)
            return b.hits[i];
        for (uint32_t k = 0; k < b.created; ++k)
            if (__builtin_memcmp(&b.created_keys[k], &t, sizeof t) == 0)
                return b.created_hits[k];
        return b.hits[i];
    }
    return lb.ct->lookup(t);
}

/// Conntrack::create by worker `worker_id`, remembered for ct_find().
inline CtHit ct_create(const LbTables& lb, CtBurstLookup& b, uint32_t worker_id, const CtTuple& orig,
                       const CtXlate& fwd, uint16_t rev_nat_id, uint32_t backend_id, uint8_t flags,
                       uint32_t expires) noexcept {
    const CtHit hit = lb.ct->create(worker_id, orig, fwd, rev_nat_id, backend_id, flags, expires);
    if (hit.entry != nullptr && b.looked_up != 0) {
        if (b.created < kCtBurstMax) {
            b.created_keys[b.created] = orig;
            b.created_hits[b.created++] = hit;
        } else {
            b.forget(); // cannot happen (one create per packet)
        }
    }
    return hit;
}

/// The IPv4 header of an unfragmented TCP or UDP packet without IP options
/// in the Ethernet frame at `f` (`len` bytes, ports included), or nullptr.
inline const rte_ipv4_hdr* ct_peek_l4(const uint8_t* f, uint32_t len) noexcept {
    if (len < sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + 4 ||
        reinterpret_cast<const rte_ether_hdr*>(f)->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4))
        return nullptr;
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(f + sizeof(rte_ether_hdr));
    if (ip->version_ihl != RTE_IPV4_VHL_DEF || ipv4_is_fragment(ip) ||
        (ip->next_proto_id != IPPROTO_TCP && ip->next_proto_id != IPPROTO_UDP))
        return nullptr;
    return ip;
}

/// The conntrack key the load balancer will look up for the frame in `m`
/// received on `side`, read straight from its headers (for a tunnelled
/// packet to the node IP: the inner packet's), and whether it will look one
/// up at all: TCP/UDP to a frontend or the hairpin address, from a backend,
/// or from the uplink to the node IP. Only a guess, made before parsing:
/// ct_find() uses the result only for the very tuple the stage computes.
inline bool ct_guess_key(const Snapshot& snap, const rte_mbuf* m, RxSide side, CtTuple& t) noexcept {
    const LbTables& lb = *snap.lb;
    const UplinkView& up = snap.uplink;
    const auto* f = rte_pktmbuf_mtod(m, const uint8_t*);
    const uint32_t len = rte_pktmbuf_data_len(m);
    const rte_ipv4_hdr* ip = ct_peek_l4(f, len);
    if (ip == nullptr)
        return false;
    bool node_bound = false;
    if (side == RxSide::Uplink && ip->dst_addr == up.node_ip.be) {
        const auto* udp = reinterpret_cast<const rte_udp_hdr*>(ip + 1);
        if (ip->next_proto_id == IPPROTO_UDP && up.routing != Routing::Native && udp->dst_port == up.tunnel_port_be) {
            if (len < kTunnelOverhead)
                return false;
            const auto* tun = reinterpret_cast<const TunnelHdr*>(udp + 1);
            const uint32_t outer = kTunnelOverhead + (up.routing == Routing::Geneve ? (tun->b0 & 0x3fu) * 4 : 0);
            ip = outer < len ? ct_peek_l4(f + outer, len - outer) : nullptr;
            if (ip == nullptr)
                return false;
        } else {
            node_bound = true;
        }
    }
    const auto* ports = reinterpret_cast<const rte_be16_t*>(ip + 1);
    t = make_ct_tuple(ip->src_addr, ip->dst_addr, ports[0], ports[1], ip->next_proto_id);
    return node_bound || lb.frontend_ips.lookup(Ipv4Addr{ip->dst_addr}) != kNotFound ||
           ip->dst_addr == lb.hairpin_ip.be || lb.backend_ips.contains(Ipv4Addr{ip->src_addr});
}

/// An 8-bit hash of a conntrack key (for ct_lookup_burst's repeats).
inline uint32_t ct_fingerprint8(const CtTuple& t) noexcept {
    uint64_t a, c;
    __builtin_memcpy(&a, &t, 8);
    __builtin_memcpy(&c, reinterpret_cast<const uint8_t*>(&t) + 8, 8);
    return static_cast<uint32_t>(((a ^ (c * 0x9E3779B97F4A7C15ull)) * 0xC2B2AE3D27D4EB4Full) >> 56);
}

/// Bit at[k] for each of the n keys not found (bit k clear in `found`) whose
/// fingerprint an earlier key not found had: the packets that may belong
/// to a flow an earlier packet of the burst creates. Out of line: bursts of
/// known flows never call it.
[[gnu::noinline]] inline uint64_t ct_repeated_misses(const CtTuple* const* keys, uint32_t n, const uint8_t* at,
                                                     uint64_t found) noexcept {
    uint64_t seen[4] = {};
    uint64_t repeated = 0;
    for (uint32_t k = 0; k < n; ++k) {
        if (found >> k & 1)
            continue;
        const uint32_t f = ct_fingerprint8(*keys[k]);
        if (seen[f >> 6] >> (f & 63) & 1)
            repeated |= uint64_t{1} << at[k];
        seen[f >> 6] |= uint64_t{1} << (f & 63);
    }
    return repeated;
}

/// Before the per-packet work on a burst received on `side`: looks up the
/// conntrack keys its packets will most likely ask for, all at once, for
/// ct_find().
inline void ct_lookup_burst(const Snapshot& snap, RxSide side, std::span<rte_mbuf*> pkts, CtBurstLookup& b) noexcept {
    b.looked_up = 0;
    b.created = 0;
    if (snap.lb->ct == nullptr || pkts.size() > kCtBurstMax)
        return;
    const CtTuple* keys[kCtBurstMax];
    uint8_t at[kCtBurstMax];
    uint32_t n = 0;
    uint64_t mask = 0;
    for (uint32_t i = 0; i < pkts.size(); ++i) {
        if (ct_guess_key(snap, pkts[i], side, b.keys[i])) {
            keys[n] = &b.keys[i];
            at[n++] = static_cast<uint8_t>(i);
            mask |= uint64_t{1} << i;
        }
    }
    // A lone packet gains nothing from a bulk lookup: it looks its flow up itself.
    if (n < 2)
        return;
    const uint64_t found = snap.lb->ct->lookup_burst(keys, n, b.hits.at, at);
    b.looked_up = mask;
    // Keys not found that an earlier packet of the burst may share (an
    // 8-bit fingerprint seen before): only those can belong to a flow the
    // worker creates meanwhile (ct_find).
    b.repeated = found == (n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1) ? 0 : ct_repeated_misses(keys, n, at, found);
}

} // namespace podlane
