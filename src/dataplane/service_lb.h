// Backend selection for a new flow to a service: session affinity first,
// then Maglev (Cilium's flow hash into the service's table) or random.
#pragma once

#include <cstdint>

#include "dataplane/affinity.h"
#include "dataplane/conntrack.h"
#include "dataplane/ct_burst.h"
#include "dataplane/ct_tuple.h"
#include "dataplane/flow_event.h"
#include "dataplane/flow_hash.h"
#include "dataplane/service_table.h"

namespace podlane {

struct WorkerCounters;

/// What a worker keeps between bursts for load balancing.
struct LbWorker {
    uint32_t worker_id = 0;
    uint32_t now_s = 0;                      ///< ct_now_s(), refreshed every burst
    uint64_t rng = 0x9E3779B97F4A7C15ull;    ///< xorshift state for random selection
    CtBurstLookup ct_burst;
    FlowTap* flows = nullptr;                ///< flow events (observe); nullptr: off
    uint32_t src_identity = 0;               ///< the packet's sender identity when known (its pod, the host, the VNI); 0: from its address
    WorkerCounters* counters = nullptr;      ///< for policy verdicts (set per burst)
};

/// xorshift64: cheap, per worker, good enough to spread flows.
inline uint64_t lb_random(LbWorker& w) noexcept {
    uint64_t x = w.rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    w.rng = x;
    return x;
}

/// True if `s` may give a new flow to backend `id`.
inline bool lb_selectable(const LbTables& lb, const LbService& s, uint32_t id) noexcept {
    if (id >= lb.backends.size())
        return false;
    const LbBackend& b = lb.backends[id];
    return b.present && b.state == BackendState::Active && (!s.local_only || b.local);
}

/// Picks a backend id for a new flow with tuple `t` to service `s`, or
/// kNotFound if it has none.
inline uint32_t lb_select(const LbTables& lb, const LbService& s, const CtTuple& t, LbWorker& w) noexcept {
    if (s.backends_n == 0)
        return kNotFound;
    if (s.affinity && lb.affinity != nullptr) {
        const uint32_t pinned =
            lb.affinity->lookup(s.rev_nat_id, Ipv4Addr{t.src}, w.now_s, s.affinity_timeout_s);
        if (pinned != UINT32_MAX && lb_selectable(lb, s, pinned)) {
            lb.affinity->pin(s.rev_nat_id, Ipv4Addr{t.src}, pinned, w.now_s);
            return pinned;
        }
    }
    uint32_t id;
    if (s.maglev_m != 0) {
        // Cilium hashes an affinity service's flows without the source port.
        const rte_be16_t sport = s.affinity ? 0 : t.sport;
        id = s.maglev[maglev_hash_wire(t.src, sport, t.dport, t.proto, lb.maglev_jhash_seed) % s.maglev_m];
    } else {
        id = s.backends[lb_random(w) % s.backends_n];
    }
    if (s.affinity && lb.affinity != nullptr)
        lb.affinity->pin(s.rev_nat_id, Ipv4Addr{t.src}, id, w.now_s);
    return id;
}

} // namespace podlane
