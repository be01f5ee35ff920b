// Connection tracking for load-balanced and NATed flows, shared by all
// workers.
//
// Each flow has one 36-byte entry and two keys in a lock-free rte_hash
// (RW_CONCURRENCY_LF): its original tuple and its reply tuple. A key's
// 64-bit data says which entry and direction it stands for, plus what does
// not change while the flow keeps its binding (see ct_key_data): the backend
// and the rewritten source with the original key, the frontend (revNAT id)
// with the reply key. Lookups never lock. Inserts from several workers go
// through rte_hash's multi-writer add, which serialises writers on the
// hash's internal lock only while a key is placed; readers never wait for it.
//
// Memory per flow at capacity (bytes_per_flow()): two 32-byte key slots,
// 16 of buckets, 8 of free-slot ring, the entry: 124 bytes.
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

/// Most distinct SNAT source addresses one table tracks (node IP, hairpin
/// address, ...): flows keep an index into them, not the address.
inline constexpr uint32_t kCtSnatSources = 15;
/// CtHit::snat when the original direction keeps its source address.
inline constexpr uint8_t kCtNoSnat = 0xff;
/// Backend ids a flow can be bound to: 0 .. 2^kCtBackendIdBits - 1.
inline constexpr uint32_t kCtBackendIdBits = 24;

/// One tracked flow: its original tuple's addresses and ports (replies are
/// rewritten back to them), what the original direction's destination and
/// ports are rewritten to, and its counters, state and expiry. The original
/// direction's new source, when it changes, is in the original key's data
/// (CtHit::snat); Conntrack::xlate() puts the rewrites together.
struct CtEntry {
    rte_be32_t orig_src = 0;
    rte_be32_t orig_dst = 0;
    rte_be16_t orig_sport = 0;
    rte_be16_t orig_dport = 0;
    rte_be32_t to_dst = 0;            ///< the original direction's new destination (the backend when kCtDnat)
    rte_be16_t to_sport = 0;          ///< its new source port (SNAT) or orig_sport
    rte_be16_t to_dport = 0;          ///< its new destination port
    std::atomic<uint32_t> expires{0}; ///< ct_now_s() after which the flow is dead; when free: next free index
    std::atomic<uint32_t> packets{0};
    std::atomic<uint32_t> bytes_lo{0}; ///< bytes, low 32 bits (see bytes())
    std::atomic<uint16_t> bytes_hi{0}; ///< bytes, bits 32..47
    std::atomic<uint8_t> tcp_state{0};
    std::atomic<uint8_t> flags{0};

    /// Bytes seen (48 bits; may tear while a worker carries the low word over).
    uint64_t bytes() const noexcept {
        return uint64_t{bytes_hi.load(std::memory_order_relaxed)} << 32 | bytes_lo.load(std::memory_order_relaxed);
    }
    /// Adds `len` bytes (one writer at a time is assumed; a racing worker may lose an update).
    void add_bytes(uint32_t len) noexcept {
        const uint32_t lo = bytes_lo.load(std::memory_order_relaxed);
        const uint32_t sum = lo + len;
        bytes_lo.store(sum, std::memory_order_relaxed);
        if (sum < lo) [[unlikely]]
            bytes_hi.store(static_cast<uint16_t>(bytes_hi.load(std::memory_order_relaxed) + 1), std::memory_order_relaxed);
    }
};
static_assert(sizeof(CtEntry) == 36, "conntrack entry budget: 128 bytes a flow with the hash's share");

/// What a lookup found: the entry, the direction, and (original direction)
/// the binding its key carries.
struct CtHit {
    CtEntry* entry = nullptr; ///< nullptr: no flow
    CtDir dir = CtDir::Original;
    uint8_t snat = kCtNoSnat; ///< Original: index of the new source address (Conntrack::snat_source), or kCtNoSnat
    uint32_t backend_id = 0;  ///< Original: the load-balancer backend (kCtDnat)
};

/// A hash key's 64-bit data: bit 0 the direction, bits 1..31 the entry
/// index; original keys: bits 32..39 the SNAT source index, 40..63 the
/// backend id; reply keys: bits 32..47 the revNAT id.
namespace ct_key_data {
inline constexpr uint64_t original(uint32_t idx, uint32_t backend_id, uint8_t snat) noexcept {
    return uint64_t{backend_id} << 40 | uint64_t{snat} << 32 | uint64_t{idx} << 1;
}
inline constexpr uint64_t reply(uint32_t idx, uint16_t rev_nat_id) noexcept {
    return uint64_t{rev_nat_id} << 32 | uint64_t{idx} << 1 | 1;
}
inline constexpr uint32_t index(uint64_t v) noexcept { return static_cast<uint32_t>(v >> 1) & 0x7fffffffu; }
inline constexpr CtDir dir(uint64_t v) noexcept { return static_cast<CtDir>(v & 1); }
inline constexpr uint8_t snat(uint64_t v) noexcept { return static_cast<uint8_t>(v >> 32); }
inline constexpr uint32_t backend_id(uint64_t v) noexcept { return static_cast<uint32_t>(v >> 40); }
inline constexpr uint16_t rev_nat_id(uint64_t v) noexcept { return static_cast<uint16_t>(v >> 32); }
} // namespace ct_key_data

/// One flow as the control thread lists it (Conntrack::for_each).
struct CtFlowView {
    CtTuple orig;             ///< the original tuple (its key)
    CtXlate fwd;              ///< what the original direction is rewritten to
    const CtEntry* entry = nullptr;
    uint32_t backend_id = 0;
    uint16_t rev_nat_id = 0;  ///< 0: none
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
    /// are prefetched. hits[at[k]] is what lookup(*keys[k]) returns. Returns
    /// the keys found: bit k for keys[k].
    uint64_t lookup_burst(const CtTuple* const* keys, uint32_t n, CtHit* hits, const uint8_t* at) const noexcept;
    /// True if some flow already uses `t` in either direction.
    bool in_use(const CtTuple& t) const noexcept;
    /// Tracks a new flow whose original packets have tuple `orig` and are
    /// rewritten by `fwd`; replies are keyed by ct_reverse(ct_apply(orig, fwd))
    /// and rewritten back to orig. Returns the flow's hit in the original
    /// direction, with a null entry when the worker's share of entries or the
    /// hash is full, or `fwd` needs a 16th SNAT source address (counted in
    /// insert_failures()).
    CtHit create(uint32_t worker, const CtTuple& orig, const CtXlate& fwd, uint16_t rev_nat_id,
                 uint32_t backend_id, uint8_t flags, uint32_t expires) noexcept;
    /// Points an existing flow (`hit`, found by its original tuple `orig`)
    /// at a new forward rewrite and backend (its backend went away): the new
    /// reply key is added and the original key's binding updated; `hit`
    /// follows. False if the new reply key cannot be added.
    bool rebind(CtHit& hit, const CtTuple& orig, const CtXlate& fwd, uint32_t backend_id,
                uint16_t rev_nat_id) noexcept;
    /// The rewrite for packets of `hit`'s flow going in `hit.dir`.
    CtXlate xlate(const CtHit& hit) const noexcept {
        const CtEntry& e = *hit.entry;
        if (hit.dir == CtDir::Reply)
            return CtXlate{e.orig_dst, e.orig_src, e.orig_dport, e.orig_sport};
        const rte_be32_t src = hit.snat == kCtNoSnat ? e.orig_src : snat_source(hit.snat);
        return CtXlate{src, e.to_dst, e.to_sport, e.to_dport};
    }
    /// SNAT source address number `i` (CtHit::snat).
    rte_be32_t snat_source(uint8_t i) const noexcept { return snat_sources_[i].load(std::memory_order_relaxed); }

    // ---- control thread ----

    /// Deletes flows that expired before `now_s`; their entries return to
    /// their workers after a grace period (see reclaim()). Returns how many.
    uint32_t expire(uint32_t now_s);
    /// Hands back entries whose grace period is over. Call every tick.
    void reclaim();
    /// Calls `f` for every flow, by its original tuple. Not a snapshot: flows
    /// created or deleted meanwhile may or may not be seen.
    void for_each(const std::function<void(const CtFlowView& flow)>& f) const;

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
    CtHit hit_of(uint64_t key_data) const noexcept {
        const CtDir dir = ct_key_data::dir(key_data);
        CtHit h{&entries_[ct_key_data::index(key_data)], dir, kCtNoSnat, 0};
        if (dir == CtDir::Original) {
            h.snat = ct_key_data::snat(key_data);
            h.backend_id = ct_key_data::backend_id(key_data);
        }
        return h;
    }
    uint32_t alloc(uint32_t worker) noexcept;
    void free_now(uint32_t worker, uint32_t idx) noexcept;
    /// The index of SNAT source `src` (registered on first use), kCtNoSnat
    /// when `src` is `orig_src` (no SNAT), or kCtSnatSources when full.
    uint8_t snat_index(rte_be32_t src, rte_be32_t orig_src) noexcept;
    void count_insert_failure(uint32_t worker) noexcept;

    rte_hash* hash_ = nullptr;
    rte_rcu_qsbr* qsbr_ = nullptr;
    CtEntry* entries_ = nullptr;
    uint32_t max_flows_ = 0;
    uint32_t per_worker_ = 0;
    uint32_t workers_ = 0;
    std::unique_ptr<WorkerPool[]> pools_;
    /// SNAT source addresses, claimed lock-free by the first flow that uses
    /// each (0: free slot); never released.
    std::atomic<rte_be32_t> snat_sources_[kCtSnatSources]{};
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
