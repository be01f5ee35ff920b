// Connection tracking for load-balanced and NATed flows, shared by all
// workers.
//
// Each flow has one 48-byte entry and two keys in a lock-free rte_hash
// (RW_CONCURRENCY_LF): its original tuple and its reply tuple, each mapping
// to the entry index plus a direction bit. Lookups never lock. Inserts from
// several workers go through rte_hash's multi-writer add, which serialises
// writers on the hash's internal lock only while a key is placed; readers
// never wait for it.
//
// Entries are allocated per worker from an intrusive free stack, so a new
// flow costs no atomic operation. The control thread expires flows (gc):
// it deletes both keys, waits out an rte_rcu_qsbr grace period, and then
// hands the entry back to its owning worker through that worker's ring.
// Key slots freed by deletes are released (rte_hash_free_key_with_position)
// after the same grace period, so no reader ever sees a reused slot.
//
// Counters and the expiry time in an entry are written by whichever worker
// sees a packet, with relaxed atomic loads and stores: a lost increment when
// two workers race is accepted (as in Cilium's BPF conntrack).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "dataplane/ct_tuple.h"

struct rte_hash;
struct rte_ring;
struct rte_rcu_qsbr;

namespace podlane {

enum class CtDir : uint8_t { Original = 0, Reply = 1 };

/// TCP connection state as far as timeouts need it.
enum class CtTcpState : uint8_t { SynSent, Established, Closing };

/// What a flow is, for the CLI.
enum CtFlags : uint8_t {
    kCtDnat = 1 << 0,       ///< load-balanced: the original direction is DNATed to a backend
    kCtSnat = 1 << 1,       ///< the original direction's source is rewritten (masquerade, NodePort SNAT, hairpin)
    kCtDsr = 1 << 2,        ///< DSR: created on the backend's node; replies leave from here
    kCtSeenReply = 1 << 3,  ///< a packet went the reply way
    kCtHairpin = 1 << 4,    ///< a pod reached itself through a service
    kCtNodePort = 1 << 5,   ///< from outside, through a NodePort/LB/ExternalIP/HostPort frontend
    kCtInbound = 1 << 6,    ///< from outside straight to a pod (native routing): its replies are not masqueraded
    kCtHost = 1 << 7,       ///< the node's own kernel (host path) to outside: its ports are not handed to masquerade
};

/// One tracked flow. xlate[d] is the rewrite applied to packets going in direction d.
struct CtEntry {
    CtXlate xlate[2];
    std::atomic<uint64_t> bytes{0};
    std::atomic<uint32_t> packets{0};
    std::atomic<uint32_t> expires{0}; ///< ct_now_s() after which the flow is dead; when free: next free index
    uint32_t backend_id = 0;          ///< the load-balancer backend (kCtDnat), for the CLI
    uint16_t rev_nat_id = 0;          ///< the frontend (kCtDnat); 0: none
    std::atomic<uint8_t> tcp_state{0};
    std::atomic<uint8_t> flags{0};
};
static_assert(sizeof(CtEntry) <= 48, "conntrack entry budget");

/// What a lookup found.
struct CtHit {
    CtEntry* entry = nullptr; ///< nullptr: no flow
    CtDir dir = CtDir::Original;
};

/// Seconds of the dataplane's monotonic clock (TSC based), as entries use it.
uint32_t ct_now_s() noexcept;

class Conntrack {
public:
    /// A table for `max_flows` flows shared by `workers` workers (each may
    /// allocate up to max_flows / workers). Key slots are recycled through
    /// `qsbr`, which every worker reports to.
    static Result<std::unique_ptr<Conntrack>> create(const std::string& name, uint32_t max_flows, uint32_t workers,
                                                     rte_rcu_qsbr* qsbr);
    ~Conntrack();
    Conntrack(const Conntrack&) = delete;
    Conntrack& operator=(const Conntrack&) = delete;

    // ---- hot path (workers) ----

    /// Finds the flow a packet with tuple `t` belongs to.
    CtHit lookup(const CtTuple& t) const noexcept;
    /// lookup() for n <= 64 tuples at once (rte_hash's bulk lookup, which
    /// fetches all their buckets and keys in parallel); the entries found
    /// are prefetched. hits[at[k]] is what lookup(*keys[k]) returns.
    void lookup_burst(const CtTuple* const* keys, uint32_t n, CtHit* hits, const uint8_t* at) const noexcept;
    /// True if some flow already uses `t` in either direction.
    bool in_use(const CtTuple& t) const noexcept;
    /// Tracks a new flow whose original packets have tuple `orig` and are
    /// rewritten by `fwd`; replies are keyed by ct_reverse(ct_apply(orig, fwd))
    /// and rewritten back to orig. Returns nullptr when the worker's share of
    /// entries or the hash is full (counted in insert_failures()).
    CtEntry* create(uint32_t worker, const CtTuple& orig, const CtXlate& fwd, uint16_t rev_nat_id,
                    uint32_t backend_id, uint8_t flags, uint32_t expires) noexcept;
    /// Points an existing flow, found by its original tuple `orig`, at a new
    /// forward rewrite (its backend went away): the old reply key is removed
    /// and the new one added. False if the new reply key cannot be added.
    bool rebind(CtEntry* e, const CtTuple& orig, const CtXlate& fwd, uint32_t backend_id) noexcept;

    // ---- control thread ----

    /// Deletes flows that expired before `now_s`; their entries return to
    /// their workers after a grace period (see reclaim()). Returns how many.
    uint32_t expire(uint32_t now_s);
    /// Hands back entries whose grace period is over. Call every tick.
    void reclaim();
    /// Calls `f` for every flow, by its original tuple. Not a snapshot: flows
    /// created or deleted meanwhile may or may not be seen.
    void for_each(const std::function<void(const CtTuple& orig, const CtEntry& e)>& f) const;

    uint32_t capacity() const noexcept { return max_flows_; }
    /// Flows currently tracked (approximate while workers insert).
    uint32_t flows() const noexcept;
    uint64_t insert_failures() const noexcept;
    /// Bytes of memory per flow at capacity: everything create() allocated
    /// (hash key slots, free-slot ring, buckets and lcore caches; entries;
    /// the workers' return rings) over max_flows.
    double bytes_per_flow() const noexcept;

private:
    Conntrack() = default;
    struct alignas(64) WorkerPool {
        uint32_t head = UINT32_MAX;   ///< first free entry (intrusive stack through CtEntry::expires)
        uint32_t free = 0;
        rte_ring* returned = nullptr; ///< entries the control thread gives back
        std::atomic<uint64_t> insert_failures{0};
        std::atomic<uint32_t> live{0};
    };
    uint32_t alloc(uint32_t worker) noexcept;
    void free_now(uint32_t worker, uint32_t idx) noexcept;

    rte_hash* hash_ = nullptr;
    rte_rcu_qsbr* qsbr_ = nullptr;
    CtEntry* entries_ = nullptr;
    uint32_t max_flows_ = 0;
    uint32_t per_worker_ = 0;
    uint32_t workers_ = 0;
    std::unique_ptr<WorkerPool[]> pools_;
    /// Key slots and entries deleted from the hash, waiting for a grace period.
    struct Pending {
        uint64_t token = 0;
        std::vector<uint32_t> keys;    ///< rte_hash key positions
        std::vector<uint32_t> entries; ///< entry indices
    };
    std::vector<Pending> pending_;
    std::vector<uint32_t> unreturned_; ///< reclaimed but the owner's ring was full
    size_t bytes_ = 0; ///< what create() allocated (see bytes_per_flow())
};

} // namespace podlane
