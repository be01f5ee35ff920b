// Masquerade: pod traffic leaving the cluster by the uplink gets the node IP
// as its source (and a free port), tracked so that its replies are
// translated back by the load balancer. Flows that must keep their
// addresses (from outside straight to a pod, the node's kernel to outside)
// are tracked untranslated, so masquerade leaves them and their ports alone.
#pragma once

#include "dataplane/ct_burst.h"
#include "dataplane/ct_pass.h"
#include "dataplane/frag_tuple.h"
#include "dataplane/nat.h"
#include "dataplane/nat_icmp.h"
#include "dataplane/parse.h"
#include "dataplane/service_lb.h"
#include "dataplane/snapshot.h"
#include "dataplane/snat.h"
#include "dataplane/stage_result.h"
#include "dataplane/verdict.h"

namespace podlane {

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
[[gnu::noinline]] inline void track_untranslated(const Snapshot& snap, const ParsedPacket& p, uint8_t flags,
                                                 LbWorker& w) noexcept {
    const LbTables& lb = *snap.lb;
    CtTuple t;
    if (!ct_tuple_of(p, t))
        return;
    const CtHit hit = lb.ct->lookup(t);
    if (hit.entry != nullptr) {
        ct_pass(lb, hit, p, t, w.now_s);
        return;
    }
    if (!ct_opens_flow(p, t) || lb.ct->in_use(ct_reverse(t)))
        return;
    const CtHit made =
        ct_create(lb, w.ct_burst, w.worker_id, t, ct_identity(t), 0, 0, flags, w.now_s + lb.timeouts.tcp_syn);
    if (made.entry != nullptr)
        ct_account(lb, *made.entry, CtDir::Original, p, t, w.now_s);
}

/// A packet from outside the cluster straight to a local pod (native
/// routing), while masquerading is on: tracked untranslated, so the pod's
/// replies are not masqueraded as if the pod had opened the flow.
[[gnu::always_inline]] inline void masquerade_track_inbound(const Snapshot& snap, const ParsedPacket& p,
                                                            LbWorker& w) noexcept {
    const LbTables& lb = *snap.lb;
    if (lb.masquerade && lb.ct != nullptr && lb.no_masquerade.lookup(Ipv4Addr{p.ip->src_addr}) == kNotFound)
        track_untranslated(snap, p, kCtInbound, w);
}

/// A connection the node's kernel opens to outside the cluster (from the
/// node IP, over the host path), while masquerading is on: tracked
/// untranslated, so masquerade never hands its source port to a pod's flow
/// to the same server.
[[gnu::always_inline]] inline void masquerade_track_host(const Snapshot& snap, const ParsedPacket& p,
                                                         LbWorker& w) noexcept {
    const LbTables& lb = *snap.lb;
    if (lb.masquerade && lb.ct != nullptr && p.ip->src_addr == snap.uplink.node_ip.be &&
        lb.no_masquerade.lookup(Ipv4Addr{p.ip->dst_addr}) == kNotFound)
        track_untranslated(snap, p, kCtHost, w);
}

/// A new masqueraded flow `t`: the node IP and a free port as its source.
inline StageResult masquerade_new_flow(const Snapshot& snap, const ParsedPacket& p, const CtTuple& t,
                                       LbWorker& w) noexcept {
    const LbTables& lb = *snap.lb;
    const SnatSlice slice{lb.snat_port_min, lb.snat_port_max, w.worker_id,
                          snap.workers.empty() ? 1u : static_cast<uint32_t>(snap.workers.size())};
    const rte_be32_t node = snap.uplink.node_ip.be;
    const rte_be16_t port = snat_pick_port(*lb.ct, t, node, slice, static_cast<uint32_t>(lb_random(w)));
    if (port == 0)
        return StageResult::finish(Verdict::drop(DropReason::NatPortExhausted));
    const CtXlate fwd = t.proto == IPPROTO_ICMP ? CtXlate{node, t.dst, port, 0} : CtXlate{node, t.dst, port, t.dport};
    const CtHit made = ct_create(lb, w.ct_burst, w.worker_id, t, fwd, 0, 0, kCtSnat, w.now_s + lb.timeouts.tcp_syn);
    if (made.entry == nullptr)
        return StageResult::finish(Verdict::drop(DropReason::CtFull));
    ct_pass(lb, made, p, t, w.now_s);
    return StageResult::go_on(true);
}

/// masquerade() for a fragment: its tuple from the fragment table
/// (frag_tuple.h); a first fragment is masqueraded like a whole packet, a
/// later one follows its flow or, without one, is dropped. Out of line, so
/// that the journeys stay as they were.
[[gnu::noinline]] inline StageResult masquerade_fragment(const Snapshot& snap, const ParsedPacket& p,
                                                         LbWorker& w) noexcept {
    const LbTables& lb = *snap.lb;
    CtTuple t;
    const FragKind frag = frag_tuple_of(lb, p, w.now_s, w.worker_id, t);
    if (frag == FragKind::None)
        return StageResult::finish(Verdict::drop(DropReason::FragmentToService));
    const CtHit hit = lb.ct->lookup(t);
    if (hit.entry != nullptr) {
        if (frag == FragKind::Later)
            ct_pass_later_fragment(lb, hit, p, t, w.now_s);
        else
            ct_pass(lb, hit, p, t, w.now_s);
        return StageResult::go_on(true);
    }
    if (frag == FragKind::Later) // the first fragment made no flow: nothing to follow
        return StageResult::finish(Verdict::drop(DropReason::FragmentToService));
    return masquerade_new_flow(snap, p, t, w);
}

/// The masquerade stage, for packets leaving by the uplink unencapsulated: a
/// local pod's packet for a destination outside the cluster gets the node
/// IP as its source (and a free port).
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
            return masquerade_fragment(snap, p, w);
        return StageResult::go_on(); // a protocol NAT cannot track leaves as it is
    }
    const CtHit hit = ct_find(lb, w.ct_burst, t);
    if (hit.entry != nullptr) {
        ct_pass(lb, hit, p, t, w.now_s);
        return StageResult::go_on(true);
    }
    return masquerade_new_flow(snap, p, t, w);
}

} // namespace podlane
