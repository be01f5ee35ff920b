#include "dataplane/pipeline.h"

#include <array>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_prefetch.h>

#include "dataplane/arp.h"
#include "dataplane/ct_burst.h"
#include "dataplane/deliver.h"
#include "dataplane/dsr.h"
#include "dataplane/hold_queue.h"
#include "dataplane/icmp_echo.h"
#include "dataplane/icmp_error.h"
#include "dataplane/ingress.h"
#include "dataplane/load_balancer.h"
#include "dataplane/masquerade.h"
#include "dataplane/parse.h"
#include "dataplane/policy.h"
#include "dataplane/route.h"
#include "dataplane/stage_tally.h"
#include "dataplane/tunnel_decap.h"
#include "dataplane/tunnel_encap.h"

namespace podlane {

namespace {

static_assert(kMaxBurst <= kCtBurstMax, "ct_lookup_burst covers a whole burst");
static_assert(kMaxBurst <= 255, "a burst's stage counts fit StageTally's byte lanes");

/// How many packets ahead the header prefetch runs (l3fwd uses 3).
constexpr size_t kPrefetchOffset = 3;

/// Asks for the line at `p` in the exclusive state (x86 PREFETCHW; a hint
/// elsewhere). Headers podlane rewrites (NAT, TTL, encapsulation) were
/// written last by another agent (a NIC's DMA, a zero-copy memif peer on
/// another core): a plain prefetch fetches them shared, and the first write
/// then pays a second trip to take them over.
[[gnu::always_inline]] inline void prefetch_for_write(const void* p) noexcept {
#if defined(__x86_64__)
    asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p)));
#else
    __builtin_prefetch(p, 1, 3);
#endif
}

// The journeys: for each kind of ingress port, the stages a packet goes
// through, in order, each one call into the file named after it. A stage
// either finishes the packet (its verdict) or lets it go on, possibly
// rewritten; the journey, not the stage, calls the next one. `trace`
// records which stages a packet entered, which rewrote it and which one
// finished it, for the per-stage counters (stage_tally.h; parse counts
// every packet of a burst in, and arp, to_us and deliver finish all they
// take, so those are not entered explicitly).

/// TTL ran out at podlane's hop: ICMP time exceeded from the gateway (to a
/// pod or the host) or the node IP (to the uplink), as a Linux router.
/// Out of line: the journeys stay as they were without it.
[[gnu::noinline, gnu::cold]] Verdict ttl_exceeded(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p,
                                                  const Ingress& in) noexcept {
    if (in.from_endpoint || in.from_host)
        return icmp_time_exceeded(m, p, snap.gateway_ip, snap.gateway_mac, in.port);
    return icmp_time_exceeded(m, p, snap.uplink.node_ip, snap.uplink.node_mac, in.port);
}

/// The second half of a journey that may lead anywhere: route → then, by
/// where the packet goes, encapsulation (a remote node) or masquerade (the
/// uplink) → deliver. `lb` is what the load balancer did (a DSR dispatch is
/// encapsulated with its option).
[[gnu::always_inline]] inline Verdict route_and_deliver(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& p,
                                                        const Ingress& in, const StageResult& lb, StageTrace& trace,
                                                        WorkerCounters& c, LbWorker& w) noexcept {
    trace.enter(Stage::Route);
    const Route r = route(snap, p, in);
    switch (r.where) {
    case RouteTo::LocalPod:
        return trace.finish(Stage::Deliver, deliver_local(snap, p, r.index, Outcome::Forwarded));
    case RouteTo::Host:
        return trace.finish(Stage::Deliver, deliver_host(snap, p));
    case RouteTo::Us:
        return trace.finish(Stage::ToUs, handle_to_us(p, snap.gateway_mac, in.port));
    case RouteTo::RemoteNode: {
        const RemoteNode& node = snap.uplink.nodes[r.index];
        if (!node.mac_valid) [[unlikely]]
            ask_resolve(snap.uplink, node.ip, c); // the packet goes on, and waits for the MAC in the hold queue
        if (snap.uplink.routing == Routing::Native)
            return trace.finish(Stage::Deliver, deliver_native(snap, m, p, in, node));
        trace.enter(Stage::Encap);
        const StageResult encap = encapsulate(snap, m, p, in, node, lb);
        if (encap.done)
            return trace.finish(Stage::Encap, encap.verdict);
        trace.translated(Stage::Encap);
        return trace.finish(Stage::Deliver, deliver_encapsulated(snap.uplink, node));
    }
    case RouteTo::Uplink: {
        trace.enter(Stage::Masquerade);
        const StageResult masq = masquerade(snap, p, w);
        if (masq.done)
            return trace.finish(Stage::Masquerade, masq.verdict);
        if (masq.translated)
            trace.translated(Stage::Masquerade);
        if (in.from_host)
            masquerade_track_host(snap, p, w);
        return trace.finish(Stage::Deliver, deliver_uplink(snap, m, p, in, c));
    }
    case RouteTo::Drop:
        break;
    }
    if (r.drop == DropReason::TtlExceeded) [[unlikely]]
        return trace.finish(Stage::Route, ttl_exceeded(snap, m, p, in));
    return trace.finish(Stage::Route, Verdict::drop(r.drop));
}

/// A packet from a pod (or a plain port): parse → source check / to us →
/// (policy) → load balancer → route → masquerade or encapsulation → deliver.
[[gnu::always_inline]] inline Verdict from_pod(const Snapshot& snap, rte_mbuf* m, const Ingress& in,
                                               StageTrace& trace, WorkerCounters& c, LbWorker& w) noexcept {
    const ParsedPacket p = parse_packet(m);
    if (p.kind == L3Kind::Arp)
        return trace.finish(Stage::Arp, handle_arp(snap, p.eth, p.arp, in.port));
    if (p.kind != L3Kind::Ipv4)
        return trace.finish(Stage::Parse, Verdict::drop(p.drop));
    trace.enter(Stage::Source);
    if (!source_ok(in, p))
        return trace.finish(Stage::Source, Verdict::drop(DropReason::InvalidSource));
    if (p.ip->dst_addr == snap.gateway_ip.be)
        return trace.finish(Stage::ToUs, handle_to_us(p, snap.gateway_mac, in.port));
    trace.enter(Stage::LoadBalancer);
    w.src_identity = in.identity;
    const StageResult lb = load_balance(snap, m, p, LbScope::Internal, NodeIpBound::No, in.port, w);
    if (lb.done)
        return trace.finish(Stage::LoadBalancer, lb.verdict);
    if (lb.translated)
        trace.translated(Stage::LoadBalancer);
    if (const StageResult pol = policy(snap, p, lb, w); pol.done)
        return trace.finish(Stage::LoadBalancer, pol.verdict);
    return route_and_deliver(snap, m, p, in, lb, trace, c, w);
}

// from_host repeats from_pod's tail on purpose: sharing it through one more
// always-inline helper made GCC lay out the pod journey differently, 209.8 ->
// 224.8 instructions a packet for bench_pipeline's local scenario.
/// A packet from the node's kernel over the host path: parse → to us →
/// (policy) → load balancer → route → masquerade (which tracks the kernel's
/// own flows to outside) or encapsulation → deliver.
[[gnu::always_inline]] inline Verdict from_host(const Snapshot& snap, rte_mbuf* m, const Ingress& in,
                                                StageTrace& trace, WorkerCounters& c, LbWorker& w) noexcept {
    const ParsedPacket p = parse_packet(m);
    if (p.kind == L3Kind::Arp)
        return trace.finish(Stage::Arp, handle_arp(snap, p.eth, p.arp, in.port));
    if (p.kind != L3Kind::Ipv4)
        return trace.finish(Stage::Parse, Verdict::drop(p.drop));
    if (p.ip->dst_addr == snap.gateway_ip.be)
        return trace.finish(Stage::ToUs, handle_to_us(p, snap.gateway_mac, in.port));
    trace.enter(Stage::LoadBalancer);
    w.src_identity = in.identity;
    const StageResult lb = load_balance(snap, m, p, LbScope::Internal, NodeIpBound::No, in.port, w);
    if (lb.done)
        return trace.finish(Stage::LoadBalancer, lb.verdict);
    if (lb.translated)
        trace.translated(Stage::LoadBalancer);
    if (const StageResult pol = policy(snap, p, lb, w); pol.done)
        return trace.finish(Stage::LoadBalancer, pol.verdict);
    return route_and_deliver(snap, m, p, in, lb, trace, c, w);
}

/// A tunnelled packet from another node: decapsulation → (policy) → load
/// balancer (a DSR dispatch tracked, replies reverse-NATed) → route to a
/// local pod → deliver.
[[gnu::always_inline]] inline Verdict from_tunnel(const Snapshot& snap, rte_mbuf* m, const ParsedPacket& outer,
                                                  uint16_t in_port, StageTrace& trace, LbWorker& w) noexcept {
    trace.enter(Stage::Decap);
    Decap d;
    const ParsedPacket p = decapsulate(m, outer, snap.uplink.routing, d);
    if (p.kind != L3Kind::Ipv4)
        return trace.finish(Stage::Decap, Verdict::drop(p.drop));
    trace.translated(Stage::Decap);
    trace.enter(Stage::LoadBalancer);
    // The VNI is the sender's identity; a remote node's own (host) traffic is remote-node to us.
    w.src_identity = d.vni == kHostIdentity ? kRemoteNodeIdentity : d.vni;
    if (d.dsr_addr != 0)
        dsr_track_arrival(snap, p, d.dsr_addr, d.dsr_port, w);
    const StageResult lb = load_balance(snap, m, p, LbScope::Internal, NodeIpBound::No, in_port, w);
    if (lb.done)
        return trace.finish(Stage::LoadBalancer, lb.verdict);
    if (lb.translated)
        trace.translated(Stage::LoadBalancer);
    if (const StageResult pol = policy(snap, p, lb, w); pol.done)
        return trace.finish(Stage::LoadBalancer, pol.verdict);
    trace.enter(Stage::Route);
    const Route r = route_from_node(snap, p);
    if (r.where != RouteTo::LocalPod)
        return trace.finish(Stage::Route, Verdict::drop(r.drop));
    return trace.finish(Stage::Deliver, deliver_local(snap, p, r.index, Outcome::Decapsulated));
}

/// A packet from the uplink: parse → tunnel traffic (from_tunnel), or →
/// (policy) → load balancer → either route → masquerade or encapsulation →
/// deliver (NodePorts and external frontends translated to a backend), or
/// the node's own (host path or to us), or another node's natively routed
/// packet → route to a local pod → deliver.
[[gnu::always_inline]] inline Verdict from_uplink(const Snapshot& snap, rte_mbuf* m, uint16_t in_port,
                                                  StageTrace& trace, WorkerCounters& c, LbWorker& w) noexcept {
    const ParsedPacket p = parse_packet(m);
    if (p.kind == L3Kind::Arp)
        return trace.finish(Stage::Arp, handle_uplink_arp(snap, p.eth, p.arp, in_port, c));
    if (p.kind != L3Kind::Ipv4)
        return trace.finish(Stage::Parse, Verdict::drop(p.drop));
    const UplinkView& up = snap.uplink;
    const Ipv4Addr dst{p.ip->dst_addr};
    if (dst == up.node_ip) {
        if (is_tunnel_packet(up, p))
            return from_tunnel(snap, m, p, in_port, trace, w);
        w.src_identity = 0;
        // NodePorts, HostPorts, and replies to flows SNATed to the node IP.
        trace.enter(Stage::LoadBalancer);
        const StageResult lb = load_balance(snap, m, p, LbScope::External, NodeIpBound::Yes, in_port, w);
        if (lb.done)
            return trace.finish(Stage::LoadBalancer, lb.verdict);
        if (lb.translated) {
            trace.translated(Stage::LoadBalancer);
            return route_and_deliver(snap, m, p, Ingress::uplink(in_port), lb, trace, c, w);
        }
        if (up.has_host)
            return trace.finish(Stage::Deliver, deliver_host(snap, p));
        return trace.finish(Stage::ToUs, handle_to_us(p, up.node_mac, in_port));
    }
    if (ipv4_is_multicast_or_broadcast(p.ip->dst_addr)) {
        trace.enter(Stage::Route);
        return trace.finish(Stage::Route, Verdict::drop(DropReason::Multicast));
    }
    // LoadBalancer IPs and ExternalIPs routed to this node are external
    // frontends; the rest is native routing, another node's packet for one
    // of our pods (replies from backends reverse-NATed on the way).
    const bool frontend = snap.lb->frontend_ips.lookup(dst) != kNotFound;
    w.src_identity = 0; // from its address (ipcache)
    trace.enter(Stage::LoadBalancer);
    const StageResult lb = load_balance(snap, m, p, frontend ? LbScope::External : LbScope::Internal,
                                        NodeIpBound::No, in_port, w);
    if (lb.done)
        return trace.finish(Stage::LoadBalancer, lb.verdict);
    if (lb.translated) {
        trace.translated(Stage::LoadBalancer);
        if (frontend)
            return route_and_deliver(snap, m, p, Ingress::uplink(in_port), lb, trace, c, w);
    } else {
        if (const StageResult pol = policy(snap, p, lb, w); pol.done)
            return trace.finish(Stage::LoadBalancer, pol.verdict);
        masquerade_track_inbound(snap, p, w);
    }
    trace.enter(Stage::Route);
    const Route r = route_from_node(snap, p);
    if (r.where != RouteTo::LocalPod)
        return trace.finish(Stage::Route, Verdict::drop(r.drop));
    return trace.finish(Stage::Deliver, deliver_local(snap, p, r.index, Outcome::Forwarded));
}

/// Reports what happened to pkts[i] as a flow event: every drop, and one in
/// tap.sample_every of the rest (`sampled`, whose pre-pipeline tuple was
/// taken before the pipeline touched it).
[[gnu::noinline]] void observe_packet(FlowTap& tap, const rte_mbuf* m, const Verdict& v, bool sampled,
                                      const FlowTuple& pre, uint16_t in_port, uint16_t length) noexcept {
    FlowEvent e;
    e.tsc = rte_rdtsc();
    e.pre = sampled ? pre : flow_tuple_at(m, 0);
    e.in_port = in_port;
    e.out_port = v.port;
    e.length = length;
    e.worker = tap.worker;
    e.outcome = v.outcome;
    if (v.outcome == Outcome::Dropped) {
        e.verdict = FlowVerdict::Dropped;
        e.reason = v.reason;
    } else {
        e.post = flow_tuple_at(m, v.outcome == Outcome::Encapsulated ? flow_inner_offset(m) : 0);
        const bool xlated = e.post.proto != 0 && (e.post.src != e.pre.src || e.post.dst != e.pre.dst ||
                                                  e.post.sport != e.pre.sport || e.post.dport != e.pre.dport);
        const bool decap = v.outcome == Outcome::Decapsulated;
        e.verdict = xlated && !decap ? FlowVerdict::Translated : FlowVerdict::Forwarded;
    }
    if (flow_aggregate(tap, e))
        flow_emit(tap, e);
}

/// Runs `handle` (a journey) on every packet with prefetch ahead, frees
/// what is not transmitted (counting drops by reason) and counts outcomes
/// and, once for the burst, what each stage did. kObserve: with a
/// flow-event tap (compiled separately, so that a worker without one runs
/// exactly the loop it would without observe).
template <bool kObserve, typename Handle>
inline void run_burst(std::span<rte_mbuf*> pkts, uint16_t* out_ports, WorkerCounters& c, HoldQueue* hold,
                      FlowTap* tap, uint16_t in_port, Handle handle) noexcept {
    const size_t n = pkts.size();
    for (size_t i = 0; i < n && i < kPrefetchOffset; ++i)
        rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
    std::array<uint32_t, static_cast<size_t>(Outcome::Count)> outcomes{};
    StageTally tally;
    uint32_t not_held = 0;
    // Observe: pick the sampled packets and take their tuples before the
    // pipeline touches them, in a pass of its own, so that the per-packet
    // loop below carries one mask and nothing else.
    [[maybe_unused]] uint64_t sampled = 0;
    [[maybe_unused]] FlowTuple pre[kMaxBurst];
    [[maybe_unused]] uint16_t length[kMaxBurst];
    if constexpr (kObserve) {
        // countdown: packets until the next sample (1: this burst's first).
        // Most bursts hold none: one compare; otherwise a step per sample.
        const uint32_t every = tap->sample_every;
        uint32_t next = tap->countdown;
        if (every != 0) {
            for (; next <= n; next += every) {
                const size_t i = next - 1;
                sampled |= uint64_t{1} << i;
                pre[i] = flow_tuple_at(pkts[i], 0);
                length[i] = static_cast<uint16_t>(rte_pktmbuf_pkt_len(pkts[i]));
            }
            tap->countdown = next - static_cast<uint32_t>(n);
        }
    }
    for (size_t i = 0; i < n; ++i) {
        if (i + kPrefetchOffset < n)
            rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kPrefetchOffset], void*));
        StageTrace trace(tally);
        const Verdict v = handle(static_cast<uint32_t>(i), pkts[i], trace);
        if constexpr (kObserve) {
            const bool was_sampled = (sampled >> i) & 1;
            if (was_sampled || v.outcome == Outcome::Dropped) [[unlikely]]
                observe_packet(*tap, pkts[i], v, was_sampled, pre[i], in_port,
                               was_sampled ? length[i] : static_cast<uint16_t>(rte_pktmbuf_pkt_len(pkts[i])));
        }
        ++outcomes[static_cast<size_t>(v.outcome)];
        if (v.outcome == Outcome::Dropped)
            drop_packet(pkts[i], v.reason, c);
        else if (v.outcome == Outcome::Consumed)
            rte_pktmbuf_free(pkts[i]);
        else if ((v.outcome == Outcome::Unresolved || v.outcome == Outcome::UnresolvedRouted) &&
                 (hold == nullptr || !hold->push(pkts[i], v.hop, rte_rdtsc(), v.outcome == Outcome::UnresolvedRouted))) {
            drop_packet(pkts[i], DropReason::NoNeighbour, c);
            ++not_held; // the hold queue was full
        }
        out_ports[i] = v.port;
    }
    auto count = [&](Outcome o) { return outcomes[static_cast<size_t>(o)]; };
    c.forwarded.add(count(Outcome::Forwarded) + count(Outcome::Encapsulated) + count(Outcome::Decapsulated));
    c.encapsulated.add(count(Outcome::Encapsulated));
    c.decapsulated.add(count(Outcome::Decapsulated));
    c.arp_replies.add(count(Outcome::ArpReply));
    c.icmp_replies.add(count(Outcome::EchoReply));
    c.icmp_errors.add(count(Outcome::IcmpError));
    c.arp_learned.add(count(Outcome::Consumed));
    c.held.add(count(Outcome::Unresolved) + count(Outcome::UnresolvedRouted) - not_held);
    c.rejected.add(count(Outcome::Rejected));
    tally.add_to(c, static_cast<uint32_t>(n));
}

} // namespace

namespace {

/// run_stages()'s work, with or without a flow-event tap; always inlined,
/// so that each caller below is one loop of its own.
template <bool kObserve>
[[gnu::always_inline]] inline void stages_with(const Snapshot& snap, uint16_t in_port, std::span<rte_mbuf*> pkts,
                                               uint16_t* out_ports, WorkerCounters& c, HoldQueue* hold,
                                               LbWorker& w) noexcept {
    const PortRole role = snap.ports[in_port].role;
    // Every header of the burst at once: the conntrack keys below read them
    // all before the per-packet work starts. (The inner headers of a tunnel
    // packet, if any, start in the second line.) And the headroom line an
    // outer header goes into: the peer that read the mbuf's last packet out
    // (zero-copy memif) still holds it.
    for (rte_mbuf* m : pkts) {
        const uint8_t* data = rte_pktmbuf_mtod(m, const uint8_t*);
        prefetch_for_write(data);
        if (role == PortRole::Uplink)
            prefetch_for_write(data + RTE_CACHE_LINE_SIZE);
        if (rte_pktmbuf_headroom(m) >= RTE_CACHE_LINE_SIZE)
            prefetch_for_write(data - 1);
    }
    if (snap.lb->ct != nullptr)
        w.now_s = ct_now_s();
    w.counters = &c;
    // The burst's conntrack lookups, all at once (ct_find() takes them per packet).
    ct_lookup_burst(snap, role == PortRole::Uplink ? RxSide::Uplink : RxSide::Node, pkts, w.ct_burst);
    // Each journey is always inlined into its burst loop: a packet's stage
    // trace then folds into one constant per path (GCC left the uplink's out
    // of line, a call a packet with the trace in memory: decap +25%). The
    // GNU attribute spelling: [[gnu::always_inline]] there would apply to
    // the lambda's type, and be ignored.
    switch (role) {
    case PortRole::Endpoint:
    case PortRole::Plain: {
        const Ingress ingress = Ingress::of(snap, in_port);
        run_burst<kObserve>(pkts, out_ports, c, hold, w.flows, in_port,
                            [&](uint32_t i, rte_mbuf* m, StageTrace& trace) __attribute__((always_inline)) {
                                w.ct_burst.current = i;
                                return from_pod(snap, m, ingress, trace, c, w);
                            });
        break;
    }
    case PortRole::Host: {
        const Ingress ingress = Ingress::of(snap, in_port);
        run_burst<kObserve>(pkts, out_ports, c, hold, w.flows, in_port,
                            [&](uint32_t i, rte_mbuf* m, StageTrace& trace) __attribute__((always_inline)) {
                                w.ct_burst.current = i;
                                return from_host(snap, m, ingress, trace, c, w);
                            });
        break;
    }
    case PortRole::Uplink:
        run_burst<kObserve>(pkts, out_ports, c, hold, w.flows, in_port,
                            [&](uint32_t i, rte_mbuf* m, StageTrace& trace) __attribute__((always_inline)) {
                                w.ct_burst.current = i;
                                return from_uplink(snap, m, in_port, trace, c, w);
                            });
        break;
    default: // PortRole::Unused: the port is being removed, the table no longer knows it
        run_burst<kObserve>(pkts, out_ports, c, hold, w.flows, in_port, [](uint32_t, rte_mbuf*, StageTrace& trace) {
            return trace.finish(Stage::Parse, Verdict::drop(DropReason::UnknownPort));
        });
        break;
    }
    // The burst's conntrack answers hold for this burst only: once it is
    // done the worker may report a quiescent state, and expired entries be
    // reused.
    w.ct_burst.looked_up = 0;
}

/// run_stages() for a worker with a flow-event tap: out of line, so that
/// a worker without one runs exactly the code it runs without observe.
[[gnu::noinline]] void stages_observed(const Snapshot& snap, uint16_t in_port, std::span<rte_mbuf*> pkts,
                                       uint16_t* out_ports, WorkerCounters& c, HoldQueue* hold,
                                       LbWorker& w) noexcept {
    stages_with<true>(snap, in_port, pkts, out_ports, c, hold, w);
}

} // namespace

void run_stages(const Snapshot& snap, uint16_t in_port, std::span<rte_mbuf*> pkts, uint16_t* out_ports,
                WorkerCounters& c, HoldQueue* hold, LbWorker* lbw) noexcept {
    if (lbw != nullptr && lbw->flows != nullptr) {
        stages_observed(snap, in_port, pkts, out_ports, c, hold, *lbw);
        return;
    }
    LbWorker local;
    stages_with<false>(snap, in_port, pkts, out_ports, c, hold, lbw != nullptr ? *lbw : local);
}

void transmit_burst(std::span<rte_mbuf*> pkts, const uint16_t* out_ports, uint16_t tx_queue,
                    WorkerCounters& c) noexcept {
    const size_t n = pkts.size();
    rte_mbuf* batch[kMaxBurst];
    uint64_t done = 0; // bit i: pkts[i] handled (n <= 64)
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
        tx_or_drop(port, tx_queue, batch, k, c);
    }
}

uint16_t tx_or_drop(uint16_t port, uint16_t tx_queue, rte_mbuf** pkts, uint16_t n, WorkerCounters& c) noexcept {
    const uint16_t sent = rte_eth_tx_burst(port, tx_queue, pkts, n);
    c.tx_packets.add(sent);
    for (uint16_t i = sent; i < n; ++i)
        drop_packet(pkts[i], DropReason::TxFull, c);
    return sent;
}

} // namespace podlane
