// The network-policy stage, after the load balancer (so ingress policy sees
// the backend a service flow was translated to) and before routing.
//
// As in Cilium, an endpoint's flows are tracked in conntrack as soon as a
// policy selects it in any direction, and policy is consulted for new flows
// only: a packet whose flow is tracked (either way) passes, so replies of
// allowed flows pass. A new flow is checked at its source endpoint (egress)
// when that is local and enforces egress, and at its destination endpoint
// (ingress) when that is local and enforces ingress, against the peer's
// identity: the sender's own (its port, or the tunnel's VNI) or the one the
// ipcache gives its address (world when none). Service flows are checked by
// the load balancer when it picks the backend (policy_lb_allows), and their
// later packets are the load balancer's tracked flows.
//
// Cilium's allow-localhost default ("always"): the node's own kernel may
// reach its local endpoints whatever their ingress policy says.
#pragma once

#include <rte_icmp.h>

#include "dataplane/conntrack.h"
#include "dataplane/counters.h"
#include "dataplane/ct_burst.h"
#include "dataplane/ct_pass.h"
#include "dataplane/ingress.h"
#include "dataplane/masquerade.h"
#include "dataplane/nat.h"
#include "dataplane/parse.h"
#include "dataplane/policy_table.h"
#include "dataplane/service_lb.h"
#include "dataplane/snapshot.h"
#include "dataplane/stage_result.h"

namespace podlane {

/// The identity of address `ip_be` for a peer with no identity at hand: a
/// local endpoint's, an address the ipcache knows, else world.
inline uint32_t policy_identity_of(const Snapshot& snap, rte_be32_t ip_be) noexcept {
    const uint32_t ep = snap.endpoint_by_ip.lookup(Ipv4Addr{ip_be});
    if (ep != kNotFound)
        return snap.endpoints[ep].identity;
    const PolicyTables& pt = *snap.policy;
    const uint32_t peer = pt.peer_index.lookup(Ipv4Addr{ip_be});
    return peer != kNotFound ? pt.peer_identity[peer] : kWorldIdentity;
}

/// Counts a verdict (counters.h: by direction and whether it allowed).
inline void policy_count(WorkerCounters* c, PolicyDirection d, bool allowed) noexcept {
    if (c != nullptr)
        c->policy_verdict(d, allowed).add(1);
}

/// The verdict on a new flow from src to dst (proto, destination port in
/// host order) whose sender has identity `src_id` (0: from its address).
inline bool policy_new_flow(const Snapshot& snap, rte_be32_t src, rte_be32_t dst, uint8_t proto, uint16_t dport,
                            uint32_t src_id, uint32_t se, uint32_t de, LbWorker& w) noexcept {
    const PolicyTables& pt = *snap.policy;
    if (se != kNotFound && pt.endpoints[se].dir[1].enforce) {
        const uint32_t dst_id = policy_identity_of(snap, dst);
        const bool ok = policy_allows(pt.endpoints[se].dir[1], dst_id, rte_be_to_cpu_32(dst), proto, dport);
        policy_count(w.counters, PolicyDirection::Egress, ok);
        if (!ok)
            return false;
    }
    if (de != kNotFound && pt.endpoints[de].dir[0].enforce) {
        const uint32_t id = src_id != 0 ? src_id : policy_identity_of(snap, src);
        const bool ok = id == kHostIdentity ||
                        policy_allows(pt.endpoints[de].dir[0], id, rte_be_to_cpu_32(src), proto, dport);
        policy_count(w.counters, PolicyDirection::Ingress, ok);
        if (!ok)
            return false;
    }
    return true;
}

/// For the load balancer: may a new service flow from `src` go to the
/// backend it picked (dst:dport_be)? w.src_identity is the sender's identity.
inline bool policy_lb_allows(const Snapshot& snap, rte_be32_t src, rte_be32_t dst, uint8_t proto, rte_be16_t dport_be,
                             LbWorker& w) noexcept {
    const PolicyTables& pt = *snap.policy;
    if (!pt.any_enforced)
        return true;
    return policy_new_flow(snap, src, dst, proto, rte_be_to_cpu_16(dport_be), w.src_identity,
                           pt.endpoint_index.lookup(Ipv4Addr{src}), pt.endpoint_index.lookup(Ipv4Addr{dst}), w);
}

/// Whether the masquerade stage will track this packet's flow itself (a
/// local pod's packet leaving the cluster): the policy stage then leaves
/// the tracking to it.
inline bool policy_masquerade_tracks(const Snapshot& snap, const ParsedPacket& p) noexcept {
    const LbTables& lb = *snap.lb;
    return lb.masquerade && (p.ip->src_addr & snap.pod_mask_be) == snap.pod_net_be &&
           lb.no_masquerade.lookup(Ipv4Addr{p.ip->dst_addr}) == kNotFound;
}

/// policy() for a packet that may concern an endpoint under policy.
[[gnu::noinline]] inline StageResult policy_slow(const Snapshot& snap, const ParsedPacket& p, LbWorker& w) noexcept {
    const PolicyTables& pt = *snap.policy;
    const rte_ipv4_hdr* ip = p.ip;
    const uint32_t se = pt.endpoint_index.lookup(Ipv4Addr{ip->src_addr});
    const uint32_t de = pt.endpoint_index.lookup(Ipv4Addr{ip->dst_addr});
    const bool tracked_src = se != kNotFound && (pt.endpoints[se].dir[0].enforce || pt.endpoints[se].dir[1].enforce);
    const bool tracked_dst = de != kNotFound && (pt.endpoints[de].dir[0].enforce || pt.endpoints[de].dir[1].enforce);
    if (!tracked_src && !tracked_dst)
        return StageResult::go_on();
    const LbTables& lb = *snap.lb;
    CtTuple t;
    const bool has_tuple = lb.ct != nullptr && ct_tuple_of(p, t);
    uint16_t dport = 0;
    if (has_tuple) {
        const CtHit hit = ct_find(lb, w.ct_burst, t);
        if (hit.entry != nullptr) { // an established flow, or a reply
            ct_account(lb, *hit.entry, hit.dir, p, t, w.now_s);
            return StageResult::go_on();
        }
        if (t.proto == IPPROTO_TCP || t.proto == IPPROTO_UDP)
            dport = rte_be_to_cpu_16(t.dport);
    } else if (ip->next_proto_id == IPPROTO_ICMP && !ipv4_is_fragment(ip)) {
        // ICMP errors relate to a flow; they pass like its replies.
        const auto* icmp = reinterpret_cast<const rte_icmp_hdr*>(l4_of(p));
        if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST && icmp->icmp_type != RTE_IP_ICMP_ECHO_REPLY)
            return StageResult::go_on();
    }
    if (!policy_new_flow(snap, ip->src_addr, ip->dst_addr, ip->next_proto_id, dport, w.src_identity, se, de, w))
        return StageResult::finish(Verdict::drop(DropReason::PolicyDenied));
    if (has_tuple && ct_opens_flow(p, t) && !policy_masquerade_tracks(snap, p)) {
        const uint32_t life = t.proto == IPPROTO_TCP ? lb.timeouts.tcp_syn : t.proto == IPPROTO_UDP ? lb.timeouts.udp : lb.timeouts.icmp;
        const CtHit made = ct_create(lb, w.ct_burst, w.worker_id, t, ct_identity(t), 0, 0, 0, w.now_s + life);
        if (made.entry != nullptr)
            ct_account(lb, *made.entry, CtDir::Original, p, t, w.now_s);
    }
    return StageResult::go_on();
}

/// The policy stage for a packet the load balancer did not translate (a
/// translated one belongs to a tracked service flow, or to a new one the
/// load balancer checked). Without any endpoint under policy: one test.
[[gnu::always_inline]] inline StageResult policy(const Snapshot& snap, const ParsedPacket& p, const StageResult& lb,
                                                 LbWorker& w) noexcept {
    if (!snap.policy->any_enforced || lb.translated)
        return StageResult::go_on();
    return policy_slow(snap, p, w);
}

} // namespace podlane
