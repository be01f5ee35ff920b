// A packet of a tracked flow: its accounting in the flow's entry (state,
// counters, expiry) and the rewrite its direction calls for.
#pragma once

#include "dataplane/conntrack.h"
#include "dataplane/ct_state.h"
#include "dataplane/ct_tuple.h"
#include "dataplane/nat.h"
#include "dataplane/parse.h"
#include "dataplane/service_table.h"

namespace podlane {

/// Accounts packet `p` (tuple `t`) to its flow's entry going in direction
/// `dir`, at `now_s` (ct_now_s()).
inline void ct_account(const LbTables& lb, CtEntry& e, CtDir dir, const ParsedPacket& p, const CtTuple& t,
                       uint32_t now_s) noexcept {
    const uint8_t flags = t.proto == IPPROTO_TCP ? tcp_flags_of(p) : 0;
    ct_on_packet(e, dir, t.proto, flags, rte_be_to_cpu_16(p.ip->total_length), now_s, lb.timeouts);
}

/// Applies the rewrite of a tracked flow's direction `hit.dir` and accounts the packet.
inline void ct_pass(const LbTables& lb, const CtHit& hit, const ParsedPacket& p, const CtTuple& t,
                    uint32_t now_s) noexcept {
    ct_account(lb, *hit.entry, hit.dir, p, t, now_s);
    nat_apply(p, t, lb.ct->xlate(hit));
}

} // namespace podlane
