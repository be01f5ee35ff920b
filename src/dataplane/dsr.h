// Direct server return on the backend's node: a packet that came in a Geneve
// dispatch carrying Cilium's DSR option (tunnel_decap.h reads it) is
// tracked, so that the backend's replies leave from here as the service
// the client used, rewritten by the load balancer like any reply. The
// option itself is written on the client's node (tunnel.h).
#pragma once

#include "dataplane/ct_burst.h"
#include "dataplane/ct_pass.h"
#include "dataplane/frag_tuple.h"
#include "dataplane/nat.h"
#include "dataplane/parse.h"
#include "dataplane/service_lb.h"
#include "dataplane/snapshot.h"

namespace podlane {

/// dsr_track_arrival() once the packet's tuple `t` is known; `later`: a
/// later fragment, which carries no L4 header (frag_tuple.h).
inline void dsr_track_tuple(const LbTables& lb, const ParsedPacket& p, const CtTuple& t, bool later, rte_be32_t addr,
                            rte_be16_t port, LbWorker& w) noexcept {
    CtEntry* e = lb.ct->lookup(ct_reverse(t)).entry;
    if (e == nullptr) {
        const CtTuple orig{t.src, addr, t.sport, port, t.proto, {}};
        e = ct_create(lb, w.ct_burst, w.worker_id, orig, ct_identity(t), 0, 0, kCtDsr, w.now_s + lb.timeouts.tcp_syn)
                .entry;
    }
    if (e != nullptr && later)
        ct_on_packet(*e, CtDir::Original, t.proto, 0, rte_be_to_cpu_16(p.ip->total_length), w.now_s, lb.timeouts);
    else if (e != nullptr)
        ct_account(lb, *e, CtDir::Original, p, t, w.now_s);
}

/// dsr_track_arrival() for a fragment: its tuple from the fragment table.
/// Out of line, so that the decapsulation journey stays as it was.
[[gnu::noinline]] inline void dsr_track_fragment(const LbTables& lb, const ParsedPacket& p, rte_be32_t addr,
                                                 rte_be16_t port, LbWorker& w) noexcept {
    CtTuple t;
    const FragKind frag = frag_tuple_of(lb, p, w.now_s, w.worker_id, t);
    if (frag != FragKind::None)
        dsr_track_tuple(lb, p, t, frag == FragKind::Later, addr, port, w);
}

/// On the backend's node: a packet that came in a Geneve DSR dispatch is
/// tracked so that the backend's replies leave from here as the service
/// (addr:port). `p` is the decapsulated inner packet.
inline void dsr_track_arrival(const Snapshot& snap, const ParsedPacket& p, rte_be32_t addr, rte_be16_t port,
                              LbWorker& w) noexcept {
    const LbTables& lb = *snap.lb;
    if (lb.ct == nullptr)
        return;
    CtTuple t;
    if (!ct_tuple_of(p, t)) {
        if (ipv4_is_fragment(p.ip))
            dsr_track_fragment(lb, p, addr, port, w);
        return;
    }
    dsr_track_tuple(lb, p, t, false, addr, port, w);
}

} // namespace podlane
