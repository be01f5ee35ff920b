// The load-balancing and NAT stages of the pipeline, between parsing and
// routing:
//  - lb_stage(): packets of tracked flows get their rewrite (DNAT to the
//    backend, reverse NAT of replies, SNAT replies); a new flow to a
//    frontend picks a backend, is tracked, and is DNATed (plus SNAT for
//    NodePort to a remote backend in snat mode, or the hairpin source);
//    ICMP errors about tracked flows are translated, quote included.
//  - masquerade(): pod traffic leaving the cluster is SNATed to the node IP.
// Plain pod-to-pod traffic costs two Ipv4Map probes here and no conntrack
// lookup: only packets to a frontend, from a backend, to the hairpin address
// or (from the uplink) to the node IP can belong to a tracked flow.
#pragma once

#include "dataplane/conntrack.h"
#include "dataplane/ct_state.h"
#include "dataplane/nat.h"
#include "dataplane/nat_icmp.h"
#include "dataplane/parse.h"
#include "dataplane/reject.h"
#include "dataplane/service_lb.h"
#include "dataplane/snapshot.h"
#include "dataplane/snat.h"
#include "dataplane/tunnel_hdr.h"
#include "dataplane/verdict.h"

namespace podlane {

/// Where a packet entered, for the choice of a frontend's backends.
enum class LbScope : uint8_t { Internal, External };

/// What a stage decided: a final verdict, or go on routing the (possibly
/// rewritten) packet, in a Geneve DSR dispatch when `dsr` is set.
struct StageResult {
    bool done = false;
    Verdict verdict;
    bool translated = false;  ///< the packet's addresses or ports were rewritten
    bool dsr = false;         ///< send to the backend's node with the DSR option
    rte_be32_t dsr_addr = 0;  ///< the service address and port for that option
    rte_be16_t dsr_port = 0;

    static StageResult go_on(bool translated = false) noexcept { return {false, {}, translated, false, 0, 0}; }
    static StageResult finish(Verdict v) noexcept { return {true, v, false, false, 0, 0}; }
};

/// The flow of a packet with tuple `t`: what lb_lookup_burst() found for it
/// when the burst started, if it looked up this very tuple and this worker
/// has rebound no flow since; a flow the worker created meanwhile, if the
/// start found none (a later packet of the same new flow); otherwise a
/// lookup of its own. Only the worker's own writes during the burst can
/// matter here: another packet's reply cannot arrive before the burst that
/// carries its request is sent.
inline CtHit ct_find(const LbTables& lb, const CtTuple& t, const LbWorker& w) noexcept {
    const CtBurstLookup& b = w.ct_burst;
    const uint32_t i = b.current;
    if ((b.looked_up >> i & 1) && b.rebinds == w.ct_rebinds && __builtin_memcmp(&b.keys[i], &t, sizeof t) == 0) {
        if (b.hits[i].entry != nullptr || !(b.repeated >> i & 1) || b.created == 0)
            return b.hits[i];
        for (uint32_t k = 0; k < b.created; ++k)
            if (__builtin_memcmp(&b.created_keys[k], &t, sizeof t) == 0)
                return b.created_hits[k];
        return b.hits[i];
    }
    return lb.ct->lookup(t);
}

/// Conntrack::create, remembered for ct_find().
inline CtHit ct_create(const LbTables& lb, LbWorker& w, const CtTuple& orig, const CtXlate& fwd,
                       uint16_t rev_nat_id, uint32_t backend_id, uint8_t flags, uint32_t expires) noexcept {
    const CtHit hit = lb.ct->create(w.worker_id, orig, fwd, rev_nat_id, backend_id, flags, expires);
    CtBurstLookup& b = w.ct_burst;
    if (hit.entry != nullptr && b.looked_up != 0) {
        if (b.created < kCtBurstMax) {
            b.created_keys[b.created] = orig;
            b.created_hits[b.created++] = hit;
        } else {
            ++w.ct_rebinds; // cannot happen (one create per packet); forget the burst's answers
        }
    }
    return hit;
}

/// Accounts packet `p` (tuple `t`) to its flow's entry going in direction `dir`.
inline void ct_account(const LbTables& lb, CtEntry& e, CtDir dir, const ParsedPacket& p, const CtTuple& t,
                       const LbWorker& w) noexcept {
    const uint8_t flags = t.proto == IPPROTO_TCP ? tcp_flags_of(p) : 0;
    ct_on_packet(e, dir, t.proto, flags, rte_be_to_cpu_16(p.ip->total_length), w.now_s, lb.timeouts);
}

/// Applies the rewrite of a tracked flow's direction `hit.dir` and accounts the packet.
inline void ct_pass(const LbTables& lb, const CtHit& hit, const ParsedPacket& p, const CtTuple& t,
                    const LbWorker& w) noexcept {
    ct_account(lb, *hit.entry, hit.dir, p, t, w);
    nat_apply(p, t, lb.ct->xlate(hit));
}

/// The NodePort handling of a flow from outside to a backend on another node.
inline NodePortMode nodeport_mode_for(const LbTables& lb, uint8_t proto) noexcept {
    if (lb.nodeport_mode == NodePortMode::Hybrid)
        return proto == IPPROTO_TCP ? NodePortMode::Dsr : NodePortMode::Snat;
    return lb.nodeport_mode;
}

/// A new flow to a frontend with no usable backend.
inline StageResult lb_no_backend(const LbTables& lb, rte_mbuf* m, const ParsedPacket& p, uint16_t in_port) noexcept {
    if (lb.no_backends == NoBackendAction::Drop)
        return StageResult::finish(Verdict::drop(DropReason::NoBackend));
    MacAddr ours;
    __builtin_memcpy(ours.bytes.data(), p.eth->dst_addr.addr_bytes, RTE_ETHER_ADDR_LEN);
    if (p.ip->next_proto_id == IPPROTO_TCP)
        return StageResult::finish(reject_tcp_rst(m, p, ours, in_port));
    return StageResult::finish(reject_icmp_port_unreachable(m, p, ours, in_port));
}

/// The forward rewrite of a new flow `t` to backend `b`, and its flags.
/// Returns false when no SNAT port is free.
inline bool lb_forward_xlate(const Snapshot& snap, const CtTuple& t, const LbBackend& b, LbScope scope,
                             const LbWorker& w, CtXlate& fwd, uint8_t& flags, uint64_t rnd) noexcept {
    const LbTables& lb = *snap.lb;
    fwd = CtXlate{t.src, b.ip.be, t.sport, b.port_be};
    flags = kCtDnat;
    if (scope == LbScope::External)
        flags |= kCtNodePort;
    if (b.ip.be == t.src) {
        // Hairpin: the client is its own backend. Its kernel would drop a
        // packet from its own address, so the source becomes the hairpin IP.
        fwd.src = lb.hairpin_ip.be;
        flags |= kCtSnat | kCtHairpin;
        return true;
    }
    if (scope != LbScope::External || b.local)
        return true;
    if (nodeport_mode_for(lb, t.proto) == NodePortMode::Dsr) {
        flags |= kCtDsr;
        return true;
    }
    const CtTuple after_dnat{t.src, b.ip.be, t.sport, b.port_be, t.proto, {}};
    const SnatSlice slice{lb.snat_port_min, lb.snat_port_max, w.worker_id, snap.workers.empty() ? 1u : static_cast<uint32_t>(snap.workers.size())};
    const rte_be16_t port = snat_pick_port(*lb.ct, after_dnat, snap.uplink.node_ip.be, slice, static_cast<uint32_t>(rnd));
    if (port == 0)
        return false;
    fwd.src = snap.uplink.node_ip.be;
    fwd.sport = port;
    flags |= kCtSnat;
    return true;
}

/// Load-balances a new flow `t` to service entry `s`.
inline StageResult lb_new_flow(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p, const CtTuple& t,
                               const LbService& s, LbScope scope, uint16_t in_port, LbWorker& w) noexcept {
    const LbTables& lb = *snap.lb;
    const uint32_t id = lb_select(lb, s, t, w);
    if (id == kNotFound)
        return lb_no_backend(lb, m, p, in_port);
    CtXlate fwd;
    uint8_t flags = 0;
    if (!lb_forward_xlate(snap, t, lb.backends[id], scope, w, fwd, flags, lb_random(w)))
        return StageResult::finish(Verdict::drop(DropReason::NatPortExhausted));
    const CtHit hit = ct_create(lb, w, t, fwd, s.rev_nat_id, id, flags, w.now_s + lb.timeouts.tcp_syn);
    if (hit.entry == nullptr)
        return StageResult::finish(Verdict::drop(DropReason::CtFull));
    ct_pass(lb, hit, p, t, w);
    StageResult r = StageResult::go_on(true);
    if (flags & kCtDsr) {
        r.dsr = true;
        r.dsr_addr = t.dst;
        r.dsr_port = t.dport;
    }
    return r;
}

/// The service entry for frontend (dst, dport) in `scope`, or kNotFound.
inline uint32_t lb_service_for(const LbTables& lb, const CtTuple& t, LbScope scope, bool& is_frontend) noexcept {
    const uint32_t fe = lb.frontend_by_key.lookup(frontend_key(t.dst, t.dport, t.proto));
    is_frontend = fe != kNotFound;
    if (!is_frontend)
        return kNotFound;
    return scope == LbScope::External ? lb.frontends[fe].external : lb.frontends[fe].internal;
}

/// A packet of a known flow. A DNATed flow whose backend was removed is
/// moved to a new backend (or refused when the service has none left).
inline StageResult lb_tracked(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p, const CtTuple& t,
                              CtHit hit, LbScope scope, uint16_t in_port, LbWorker& w) noexcept {
    const LbTables& lb = *snap.lb;
    CtEntry& e = *hit.entry;
    const uint8_t flags = e.flags.load(std::memory_order_relaxed);
    if (hit.dir == CtDir::Original && (flags & kCtDnat)) {
        const uint32_t id = hit.backend_id;
        const bool alive = id < lb.backends.size() && lb.backends[id].present &&
                           lb.backends[id].ip.be == e.to_dst && lb.backends[id].port_be == e.to_dport;
        if (!alive) {
            bool is_frontend = false;
            const uint32_t si = lb_service_for(lb, t, scope, is_frontend);
            const uint32_t nid = si == kNotFound ? kNotFound : lb_select(lb, lb.services[si], t, w);
            if (nid == kNotFound)
                return lb_no_backend(lb, m, p, in_port);
            CtXlate fwd;
            uint8_t nflags = 0;
            if (!lb_forward_xlate(snap, t, lb.backends[nid], scope, w, fwd, nflags, lb_random(w)))
                return StageResult::finish(Verdict::drop(DropReason::NatPortExhausted));
            ++w.ct_rebinds; // the burst's answers for this flow are stale (ct_find)
            if (!lb.ct->rebind(hit, t, fwd, nid, lb.services[si].rev_nat_id))
                return StageResult::finish(Verdict::drop(DropReason::CtFull));
            e.flags.store(nflags | (flags & kCtSeenReply), std::memory_order_relaxed);
        }
    }
    ct_pass(lb, hit, p, t, w);
    StageResult r = StageResult::go_on(true);
    if (hit.dir == CtDir::Original && (e.flags.load(std::memory_order_relaxed) & kCtDsr)) {
        r.dsr = true;
        r.dsr_addr = e.orig_dst; // replies are rewritten back to the service address
        r.dsr_port = e.orig_dport;
    }
    return r;
}

/// lb_stage() for a packet that may belong to a tracked flow or a frontend.
[[gnu::noinline]] inline StageResult lb_stage_slow(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p,
                                                   LbScope scope, bool node_ip_bound, uint16_t in_port,
                                                   LbWorker& w) noexcept {
    const LbTables& lb = *snap.lb;
    const rte_ipv4_hdr* ip = p.ip;
    CtTuple t;
    if (ip->next_proto_id == IPPROTO_ICMP && icmp_error_flow_tuple(p, t)) {
        const CtHit hit = lb.ct->lookup(t);
        if (hit.entry == nullptr)
            return StageResult::go_on();
        nat_apply_icmp_error(p, lb.ct->xlate(hit));
        return StageResult::go_on(true);
    }
    const bool to_frontend = lb.frontend_ips.lookup(Ipv4Addr{ip->dst_addr}) != kNotFound;
    if (!to_frontend && !node_ip_bound && ip->dst_addr != lb.hairpin_ip.be &&
        !lb.backend_ips.contains(Ipv4Addr{ip->src_addr}))
        return StageResult::go_on();
    if (!ct_tuple_of(p, t)) {
        if (to_frontend && ipv4_is_fragment(ip) && ip->dst_addr != snap.uplink.node_ip.be)
            return StageResult::finish(Verdict::drop(DropReason::FragmentToService));
        return StageResult::go_on();
    }
    const CtHit hit = ct_find(lb, t, w);
    if (hit.entry != nullptr)
        return lb_tracked(snap, m, p, t, hit, scope, in_port, w);
    if (!to_frontend)
        return StageResult::go_on();
    bool is_frontend = false;
    const uint32_t si = lb_service_for(lb, t, scope, is_frontend);
    if (!is_frontend) {
        // A service address answers only on its ports (the node IP is also
        // an ordinary host address).
        if (ip->dst_addr == snap.uplink.node_ip.be && snap.uplink.has_uplink)
            return StageResult::go_on();
        return StageResult::finish(Verdict::drop(DropReason::ServiceUnreachable));
    }
    if (si == kNotFound)
        return StageResult::finish(Verdict::drop(DropReason::ServiceUnreachable));
    return lb_new_flow(snap, m, p, t, lb.services[si], scope, in_port, w);
}

/// Load balancing and conntrack for a packet that entered in `scope`.
/// `node_ip_bound`: it arrived on the uplink for the node IP, where SNATed
/// flows' replies and NodePorts live. Inline, the cheap test of whether the
/// packet can concern a service or a tracked flow at all; the rest out of
/// line, so plain pod traffic pays a few instructions.
[[gnu::always_inline]] inline StageResult lb_stage(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p,
                                                   LbScope scope, bool node_ip_bound, uint16_t in_port,
                                                   LbWorker& w) noexcept {
    const LbTables& lb = *snap.lb;
    const rte_ipv4_hdr* ip = p.ip;
    if (lb.ct == nullptr)
        return StageResult::go_on();
    if (!node_ip_bound && ip->next_proto_id != IPPROTO_ICMP && ip->dst_addr != lb.hairpin_ip.be &&
        lb.frontend_ips.lookup(Ipv4Addr{ip->dst_addr}) == kNotFound &&
        !lb.backend_ips.contains(Ipv4Addr{ip->src_addr}))
        return StageResult::go_on();
    return lb_stage_slow(snap, m, p, scope, node_ip_bound, in_port, w);
}

/// The IPv4 header of an unfragmented TCP or UDP packet without IP options
/// in the Ethernet frame at `f` (`len` bytes, ports included), or nullptr.
inline const rte_ipv4_hdr* lb_peek_l4(const uint8_t* f, uint32_t len) noexcept {
    if (len < sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + 4 ||
        reinterpret_cast<const rte_ether_hdr*>(f)->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4))
        return nullptr;
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(f + sizeof(rte_ether_hdr));
    if (ip->version_ihl != RTE_IPV4_VHL_DEF || ipv4_is_fragment(ip) ||
        (ip->next_proto_id != IPPROTO_TCP && ip->next_proto_id != IPPROTO_UDP))
        return nullptr;
    return ip;
}

/// The conntrack key lb_stage() will look up for the frame in `m` received
/// on the uplink or not, read straight from its headers (for a tunnelled
/// packet to the node IP: the inner packet's), and whether it will look one
/// up at all: TCP/UDP to a frontend or the hairpin address, from a backend,
/// or from the uplink to the node IP. Only a guess, made before parsing:
/// ct_find() uses the result only for the very tuple lb_stage computes.
inline bool lb_guess_key(const Snapshot& snap, const rte_mbuf* m, bool from_uplink, CtTuple& t) noexcept {
    const LbTables& lb = *snap.lb;
    const UplinkView& up = snap.uplink;
    const auto* f = rte_pktmbuf_mtod(m, const uint8_t*);
    const uint32_t len = rte_pktmbuf_data_len(m);
    const rte_ipv4_hdr* ip = lb_peek_l4(f, len);
    if (ip == nullptr)
        return false;
    bool node_bound = false;
    if (from_uplink && ip->dst_addr == up.node_ip.be) {
        const auto* udp = reinterpret_cast<const rte_udp_hdr*>(ip + 1);
        if (ip->next_proto_id == IPPROTO_UDP && up.routing != Routing::Native && udp->dst_port == up.tunnel_port_be) {
            if (len < kTunnelOverhead)
                return false;
            const auto* tun = reinterpret_cast<const TunnelHdr*>(udp + 1);
            const uint32_t outer = kTunnelOverhead + (up.routing == Routing::Geneve ? (tun->b0 & 0x3fu) * 4 : 0);
            ip = outer < len ? lb_peek_l4(f + outer, len - outer) : nullptr;
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

/// An 8-bit hash of a conntrack key (for lb_lookup_burst's repeats).
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

/// Before the per-packet work on a burst received on the uplink or not:
/// looks up the conntrack keys its packets will most likely ask for, all at
/// once (see CtBurstLookup), for ct_find().
inline void lb_lookup_burst(const Snapshot& snap, bool from_uplink, std::span<rte_mbuf*> pkts, LbWorker& w) noexcept {
    CtBurstLookup& b = w.ct_burst;
    b.looked_up = 0;
    b.created = 0;
    b.rebinds = w.ct_rebinds;
    if (snap.lb->ct == nullptr || pkts.size() > kCtBurstMax)
        return;
    const CtTuple* keys[kCtBurstMax];
    uint8_t at[kCtBurstMax];
    uint32_t n = 0;
    uint64_t mask = 0;
    for (uint32_t i = 0; i < pkts.size(); ++i) {
        if (lb_guess_key(snap, pkts[i], from_uplink, b.keys[i])) {
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

/// On the backend's node: a packet that came in a Geneve DSR dispatch is
/// tracked so that the backend's replies leave from here as the service
/// (addr:port). `p` is the decapsulated inner packet.
inline void lb_dsr_arrival(const Snapshot& snap, const ParsedPacket& p, rte_be32_t addr, rte_be16_t port,
                           LbWorker& w) noexcept {
    const LbTables& lb = *snap.lb;
    CtTuple t;
    if (lb.ct == nullptr || !ct_tuple_of(p, t))
        return;
    CtEntry* e = lb.ct->lookup(ct_reverse(t)).entry;
    if (e == nullptr) {
        const CtTuple orig{t.src, addr, t.sport, port, t.proto, {}};
        e = ct_create(lb, w, orig, ct_identity(t), 0, 0, kCtDsr, w.now_s + lb.timeouts.tcp_syn).entry;
    }
    if (e != nullptr)
        ct_account(lb, *e, CtDir::Original, p, t, w);
}

/// True if `p` (tuple `t`) can open a connection: anything but an ICMP echo
/// reply or a TCP segment other than a SYN.
inline bool ct_opens_flow(const ParsedPacket& p, const CtTuple& t) noexcept {
    if (t.proto == IPPROTO_ICMP)
        return t.sport != 0;
    return t.proto != IPPROTO_TCP ||
           (tcp_flags_of(p) & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG;
}

/// Tracks the flow of `p` without translation (`flags` says why), so that
/// masquerade leaves it alone: its replies find the flow, and its reply
/// tuple is never handed to a masqueraded flow. Only a packet that opens a
/// connection starts tracking, and a reply tuple a flow already holds is
/// left to that flow.
[[gnu::noinline]] inline void lb_track_untranslated(const Snapshot& snap, const ParsedPacket& p, uint8_t flags,
                                                    LbWorker& w) noexcept {
    const LbTables& lb = *snap.lb;
    CtTuple t;
    if (!ct_tuple_of(p, t))
        return;
    const CtHit hit = lb.ct->lookup(t);
    if (hit.entry != nullptr) {
        ct_pass(lb, hit, p, t, w);
        return;
    }
    if (!ct_opens_flow(p, t) || lb.ct->in_use(ct_reverse(t)))
        return;
    const CtHit made = ct_create(lb, w, t, ct_identity(t), 0, 0, flags, w.now_s + lb.timeouts.tcp_syn);
    if (made.entry != nullptr)
        ct_account(lb, *made.entry, CtDir::Original, p, t, w);
}

/// A packet from outside the cluster straight to a local pod (native
/// routing), while masquerading is on: tracked untranslated, so the pod's
/// replies are not masqueraded as if the pod had opened the flow.
[[gnu::always_inline]] inline void lb_track_inbound(const Snapshot& snap, const ParsedPacket& p, LbWorker& w) noexcept {
    const LbTables& lb = *snap.lb;
    if (lb.masquerade && lb.ct != nullptr && lb.no_masquerade.lookup(Ipv4Addr{p.ip->src_addr}) == kNotFound)
        lb_track_untranslated(snap, p, kCtInbound, w);
}

/// A connection the node's kernel opens to outside the cluster (from the
/// node IP, over the host path), while masquerading is on: tracked
/// untranslated, so masquerade never hands its source port to a pod's flow
/// to the same server.
[[gnu::always_inline]] inline void lb_track_host(const Snapshot& snap, const ParsedPacket& p, LbWorker& w) noexcept {
    const LbTables& lb = *snap.lb;
    if (lb.masquerade && lb.ct != nullptr && p.ip->src_addr == snap.uplink.node_ip.be &&
        lb.no_masquerade.lookup(Ipv4Addr{p.ip->dst_addr}) == kNotFound)
        lb_track_untranslated(snap, p, kCtHost, w);
}

/// Masquerade: a local pod's packet leaving by the uplink for a destination
/// outside the cluster gets the node IP as its source (and a free port).
inline StageResult masquerade(const Snapshot& snap, const ParsedPacket& p, LbWorker& w) noexcept {
    const LbTables& lb = *snap.lb;
    const rte_ipv4_hdr* ip = p.ip;
    if (!lb.masquerade || lb.ct == nullptr || (ip->src_addr & snap.pod_mask_be) != snap.pod_net_be ||
        lb.no_masquerade.lookup(Ipv4Addr{ip->dst_addr}) != kNotFound)
        return StageResult::go_on();
    CtTuple t;
    if (ip->next_proto_id == IPPROTO_ICMP && icmp_error_flow_tuple(p, t)) {
        const CtHit hit = lb.ct->lookup(t);
        if (hit.entry != nullptr)
            nat_apply_icmp_error(p, lb.ct->xlate(hit));
        return StageResult::go_on(hit.entry != nullptr);
    }
    if (!ct_tuple_of(p, t)) {
        if (ipv4_is_fragment(ip))
            return StageResult::finish(Verdict::drop(DropReason::FragmentToService));
        return StageResult::go_on(); // a protocol NAT cannot track leaves as it is
    }
    const CtHit hit = ct_find(lb, t, w);
    if (hit.entry != nullptr) {
        ct_pass(lb, hit, p, t, w);
        return StageResult::go_on(true);
    }
    const SnatSlice slice{lb.snat_port_min, lb.snat_port_max, w.worker_id, snap.workers.empty() ? 1u : static_cast<uint32_t>(snap.workers.size())};
    const rte_be32_t node = snap.uplink.node_ip.be;
    const rte_be16_t port = snat_pick_port(*lb.ct, t, node, slice, static_cast<uint32_t>(lb_random(w)));
    if (port == 0)
        return StageResult::finish(Verdict::drop(DropReason::NatPortExhausted));
    const CtXlate fwd = t.proto == IPPROTO_ICMP ? CtXlate{node, t.dst, port, 0} : CtXlate{node, t.dst, port, t.dport};
    const CtHit made = ct_create(lb, w, t, fwd, 0, 0, kCtSnat, w.now_s + lb.timeouts.tcp_syn);
    if (made.entry == nullptr)
        return StageResult::finish(Verdict::drop(DropReason::CtFull));
    ct_pass(lb, made, p, t, w);
    return StageResult::go_on(true);
}

} // namespace podlane
