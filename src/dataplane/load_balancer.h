// The load-balancer stage, between the source check and routing: conntrack
// and services.
//  - packets of tracked flows get their rewrite (DNAT to the backend,
//    reverse NAT of replies, SNAT replies);
//  - a new flow to a frontend picks a backend (service_lb.h), is tracked,
//    and is DNATed (plus SNAT for NodePort to a remote backend in snat mode,
//    or the hairpin source);
//  - ICMP errors about tracked flows are translated, quote included.
// Plain pod-to-pod traffic costs two Ipv4Map probes here and no conntrack
// lookup: only packets to a frontend, from a backend, to the hairpin address
// or (from the uplink) to the node IP can belong to a tracked flow.
#pragma once

#include "dataplane/conntrack.h"
#include "dataplane/ct_burst.h"
#include "dataplane/ct_pass.h"
#include "dataplane/frag_tuple.h"
#include "dataplane/nat.h"
#include "dataplane/nat_icmp.h"
#include "dataplane/parse.h"
#include "dataplane/policy.h"
#include "dataplane/reject.h"
#include "dataplane/service_lb.h"
#include "dataplane/snapshot.h"
#include "dataplane/snat.h"
#include "dataplane/stage_result.h"
#include "dataplane/verdict.h"

namespace podlane {

/// Where a packet entered, for the choice of a frontend's backends.
enum class LbScope : uint8_t { Internal, External };

/// Whether a packet arrived on the uplink for the node IP, where SNATed
/// flows' replies and NodePorts live: such a packet is always looked up.
enum class NodeIpBound : uint8_t { No, Yes };

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
    // Network policy sees the backend (ingress at it, egress from the client).
    if (!policy_lb_allows(snap, t.src, lb.backends[id].ip.be, t.proto, lb.backends[id].port_be, w))
        return StageResult::finish(Verdict::drop(DropReason::PolicyDenied));
    const CtHit hit = ct_create(lb, w.ct_burst, w.worker_id, t, fwd, s.rev_nat_id, id, flags,
                                w.now_s + lb.timeouts.tcp_syn);
    if (hit.entry == nullptr)
        return StageResult::finish(Verdict::drop(DropReason::CtFull));
    ct_pass(lb, hit, p, t, w.now_s);
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
            w.ct_burst.forget(); // the burst's answers for this flow are stale
            if (!lb.ct->rebind(hit, t, fwd, nid, lb.services[si].rev_nat_id))
                return StageResult::finish(Verdict::drop(DropReason::CtFull));
            e.flags.store(nflags | (flags & kCtSeenReply), std::memory_order_relaxed);
        }
    }
    ct_pass(lb, hit, p, t, w.now_s);
    StageResult r = StageResult::go_on(true);
    if (hit.dir == CtDir::Original && (e.flags.load(std::memory_order_relaxed) & kCtDsr)) {
        r.dsr = true;
        r.dsr_addr = e.orig_dst; // replies are rewritten back to the service address
        r.dsr_port = e.orig_dport;
    }
    return r;
}

/// A later fragment of a known flow (frag_tuple.h): the flow's rewrite, as
/// its first fragment got it. A flow whose backend went away is not moved
/// from here (the first fragment did it, or the datagram is lost anyway).
[[gnu::noinline]] inline StageResult lb_tracked_later_fragment(const Snapshot& snap, const ParsedPacket& p,
                                                               const CtTuple& t, CtHit hit, LbWorker& w) noexcept {
    const LbTables& lb = *snap.lb;
    ct_pass_later_fragment(lb, hit, p, t, w.now_s);
    StageResult r = StageResult::go_on(true);
    if (hit.dir == CtDir::Original && (hit.entry->flags.load(std::memory_order_relaxed) & kCtDsr)) {
        r.dsr = true;
        r.dsr_addr = hit.entry->orig_dst;
        r.dsr_port = hit.entry->orig_dport;
    }
    return r;
}

/// load_balance() for a packet that may belong to a tracked flow or a frontend.
[[gnu::noinline]] inline StageResult load_balance_slow(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p,
                                                       LbScope scope, NodeIpBound bound, uint16_t in_port,
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
    if (!to_frontend && bound == NodeIpBound::No && ip->dst_addr != lb.hairpin_ip.be &&
        !lb.backend_ips.contains(Ipv4Addr{ip->src_addr}))
        return StageResult::go_on();
    // A fragment gets its tuple from the fragment table: the first one is
    // load-balanced like a whole packet, a later one only follows its flow.
    FragKind frag = FragKind::None;
    if (!ct_tuple_of(p, t)) {
        if (!ipv4_is_fragment(ip))
            return StageResult::go_on();
        frag = frag_tuple_of(lb, p, w.now_s, w.worker_id, t);
        if (frag == FragKind::None) {
            if (to_frontend && ip->dst_addr != snap.uplink.node_ip.be)
                return StageResult::finish(Verdict::drop(DropReason::FragmentToService));
            return StageResult::go_on();
        }
    }
    const CtHit hit = ct_find(lb, w.ct_burst, t);
    if (hit.entry != nullptr) {
        if (frag == FragKind::Later) [[unlikely]]
            return lb_tracked_later_fragment(snap, p, t, hit, w);
        return lb_tracked(snap, m, p, t, hit, scope, in_port, w);
    }
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
    if (frag == FragKind::Later) // its flow is gone, or its first fragment made none: no new flow from here
        return StageResult::finish(Verdict::drop(DropReason::FragmentToService));
    if (si == kNotFound)
        return StageResult::finish(Verdict::drop(DropReason::ServiceUnreachable));
    return lb_new_flow(snap, m, p, t, lb.services[si], scope, in_port, w);
}

/// The load-balancer stage: conntrack and services for a packet that
/// entered in `scope`. Inline, the cheap test of whether the packet can
/// concern a service or a tracked flow at all; the rest out of line, so
/// plain pod traffic pays a few instructions.
[[gnu::always_inline]] inline StageResult load_balance(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p,
                                                       LbScope scope, NodeIpBound bound, uint16_t in_port,
                                                       LbWorker& w) noexcept {
    const LbTables& lb = *snap.lb;
    const rte_ipv4_hdr* ip = p.ip;
    if (lb.ct == nullptr)
        return StageResult::go_on();
    if (bound == NodeIpBound::No && ip->next_proto_id != IPPROTO_ICMP && ip->dst_addr != lb.hairpin_ip.be &&
        lb.frontend_ips.lookup(Ipv4Addr{ip->dst_addr}) == kNotFound &&
        !lb.backend_ips.contains(Ipv4Addr{ip->src_addr}))
        return StageResult::go_on();
    return load_balance_slow(snap, m, p, scope, bound, in_port, w);
}

} // namespace podlane
