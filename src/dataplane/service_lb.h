// Backend selection for a new flow to a service: session affinity first,
// then Maglev (Cilium's flow hash into the service's table) or random.
#pragma once

#include <cstdint>

#include "dataplane/affinity.h"
#include "dataplane/conntrack.h"
#include "dataplane/ct_tuple.h"
#include "dataplane/flow_event.h"
#include "dataplane/flow_hash.h"
#include "dataplane/service_table.h"

namespace podlane {

/// Most packets a burst's conntrack lookups are done for at once.
inline constexpr uint32_t kCtBurstMax = 64;

/// The conntrack lookups of one burst, done for all its packets before the
/// per-packet work (lb_lookup_burst), so that the hash buckets, keys and
/// entries of every packet are fetched from memory in parallel rather than
/// one packet after the other. keys[i] is what packet i is expected to look
/// up; hits[i] what the table held for it.
struct CtBurstLookup {
    /// kCtBurstMax T's left uninitialised: only the slots looked_up marks are
    /// read, and an LbWorker made per burst (classify_burst without one)
    /// would otherwise clear 2 KiB each time.
    template <typename T>
    union Slots {
        T at[kCtBurstMax];
        Slots() noexcept {}
        T& operator[](size_t i) noexcept { return at[i]; }
        const T& operator[](size_t i) const noexcept { return at[i]; }
    };
    uint64_t looked_up = 0;   ///< bit i: keys[i] and hits[i] are set
    uint32_t rebinds = 0;     ///< LbWorker::ct_rebinds when they were looked up
    uint32_t current = 0;     ///< the index of the packet being processed
    uint64_t repeated = 0;    ///< bit i: packet i's key was not found and an earlier packet's may be the same
    uint32_t created = 0;     ///< flows this worker created during the burst: created_keys/hits[0..created)
    Slots<CtTuple> keys;
    Slots<CtHit> hits;
    /// The original tuples and hits of the flows created during the burst:
    /// a packet whose flow did not exist at the start may belong to one.
    Slots<CtTuple> created_keys;
    Slots<CtHit> created_hits;
};

/// What a worker keeps between bursts for load balancing.
struct LbWorker {
    uint32_t worker_id = 0;
    uint32_t now_s = 0;                      ///< ct_now_s(), refreshed every burst
    uint64_t rng = 0x9E3779B97F4A7C15ull;    ///< xorshift state for random selection
    uint32_t ct_rebinds = 0;                 ///< flows this worker rebound to a new backend (see ct_find)
    CtBurstLookup ct_burst;
    FlowTap* flows = nullptr;                ///< flow events (observe); nullptr: off
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
