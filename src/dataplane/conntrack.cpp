#include "dataplane/conntrack.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

namespace podlane {

namespace {

constexpr uint32_t kNone = UINT32_MAX;
/// Entries the control thread can hand back to one worker before it refills.
constexpr uint32_t kReturnRing = 65536;
/// rte_hash's per-lcore free-slot cache with MULTI_WRITER_ADD.
constexpr uint32_t kHashLcoreCache = 64;

void* as_data(uint64_t v) noexcept { return reinterpret_cast<void*>(static_cast<uintptr_t>(v)); }
uint64_t of_data(const void* d) noexcept { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(d)); }

/// Key slots rte_hash adds for what its per-lcore caches may hold
/// (MULTI_WRITER_ADD): (RTE_MAX_LCORE - 1) * (cache size - 1) + 1.
constexpr uint32_t kHashCacheSlack = (RTE_MAX_LCORE - 1) * (kHashLcoreCache - 1) + 1;

/// The `entries` to ask of rte_hash for `keys` keys. It allocates key
/// slots for entries plus kHashCacheSlack, and a free-slot ring of the next
/// power of two: for a power-of-two key count the slack alone would double
/// the ring. A large table asks for the slack less, so that slots and ring
/// are exactly `keys`; only the slots parked in the caches of lcores that
/// insert or delete (a worker's, the control thread's: 64 each at most) are
/// then out of reach, far fewer than the cuckoo buckets leave unfilled.
uint32_t hash_entries_for(uint32_t keys) noexcept {
    return keys >= 16 * kHashCacheSlack ? keys - kHashCacheSlack : keys;
}

/// A key's hash: exactly what rte_hash computes with the table's hash
/// function (rte_hash_crc, init 0), but inlined as two CRC32C instructions
/// instead of an indirect call into rte_hash_crc's generic byte loop. The
/// hot-path calls pass it to the *_with_hash variants.
inline hash_sig_t key_hash(const CtTuple& t) noexcept {
    return rte_hash_crc(&t, sizeof t, 0);
}

} // namespace

uint32_t ct_now_s() noexcept {
    static const uint64_t hz = rte_get_tsc_hz();
    return static_cast<uint32_t>(rte_rdtsc() / hz);
}

Result<std::unique_ptr<Conntrack>> Conntrack::create(const std::string& name, uint32_t max_flows, uint32_t workers,
                                                     rte_rcu_qsbr* qsbr) {
    if (max_flows < 64 || workers == 0)
        return Error{"conntrack: need at least 64 flows and one worker"};
    std::unique_ptr<Conntrack> ct(new Conntrack());
    ct->qsbr_ = qsbr;
    ct->max_flows_ = max_flows;
    ct->workers_ = workers;
    ct->per_worker_ = max_flows / workers;

    rte_hash_parameters p{};
    p.name = name.c_str();
    p.entries = hash_entries_for(2 * max_flows);
    p.key_len = sizeof(CtTuple);
    p.hash_func = rte_hash_crc;
    p.hash_func_init_val = 0;
    p.socket_id = SOCKET_ID_ANY;
    p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD;
    ct->hash_ = rte_hash_create(&p);
    if (ct->hash_ == nullptr)
        return Error{"conntrack: cannot create hash table for " + std::to_string(max_flows) +
                     " flows: " + rte_strerror(rte_errno)};
    // What rte_hash_create allocates (DPDK 22.11, lib/hash/rte_cuckoo_hash.c):
    // key slots of 32 bytes (8 of data pointer, 16 of key, aligned to 16) for
    // the entries plus what the per-lcore caches may hold, the ring of free
    // slot indices (rounded up to a power of two: 16 MiB at 1M flows), the
    // 64-byte buckets of 8 keys, and the per-lcore caches.
    const size_t key_slots = size_t{p.entries} + kHashCacheSlack;
    ct->bytes_ = key_slots * 32 +
                 rte_ring_get_memsize_elem(sizeof(uint32_t), rte_align32pow2(static_cast<uint32_t>(key_slots))) +
                 size_t{rte_align32pow2(p.entries)} / 8 * 64 +
                 size_t{RTE_MAX_LCORE} * RTE_ALIGN_CEIL((1 + kHashLcoreCache) * sizeof(uint32_t), RTE_CACHE_LINE_SIZE);
    // The entries and each worker's ring of returned entries.
    ct->bytes_ += sizeof(CtEntry) * size_t{max_flows} +
                  workers * static_cast<size_t>(rte_ring_get_memsize_elem(sizeof(uint32_t), kReturnRing));

    ct->entries_ = static_cast<CtEntry*>(
        rte_zmalloc(("ct_entries_" + name).c_str(), sizeof(CtEntry) * size_t{max_flows}, RTE_CACHE_LINE_SIZE));
    if (ct->entries_ == nullptr)
        return Error{"conntrack: cannot allocate " + std::to_string(max_flows) + " entries"};
    ct->pools_ = std::make_unique<WorkerPool[]>(workers);
    for (uint32_t w = 0; w < workers; ++w) {
        WorkerPool& pool = ct->pools_[w];
        const uint32_t first = w * ct->per_worker_;
        for (uint32_t i = 0; i < ct->per_worker_; ++i) {
            const uint32_t idx = first + ct->per_worker_ - 1 - i;
            ct->entries_[idx].expires.store(pool.head, std::memory_order_relaxed);
            pool.head = idx;
        }
        pool.free = ct->per_worker_;
        const std::string ring = name + "_ret" + std::to_string(w);
        pool.returned = rte_ring_create_elem(ring.c_str(), sizeof(uint32_t), kReturnRing, SOCKET_ID_ANY,
                                             RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (pool.returned == nullptr)
            return Error{"conntrack: cannot create ring " + ring + ": " + rte_strerror(rte_errno)};
    }
    return ct;
}

Conntrack::~Conntrack() {
    if (pools_)
        for (uint32_t w = 0; w < workers_; ++w)
            rte_ring_free(pools_[w].returned);
    rte_free(entries_);
    rte_hash_free(hash_);
}

CtHit Conntrack::lookup(const CtTuple& t) const noexcept {
    void* data = nullptr;
    if (rte_hash_lookup_with_hash_data(hash_, &t, key_hash(t), &data) < 0)
        return {};
    return hit_of(of_data(data));
}

uint64_t Conntrack::lookup_burst(const CtTuple* const* keys, uint32_t n, CtHit* hits, const uint8_t* at) const noexcept {
    hash_sig_t sigs[RTE_HASH_LOOKUP_BULK_MAX];
    void* data[RTE_HASH_LOOKUP_BULK_MAX];
    uint64_t found = 0;
    for (uint32_t k = 0; k < n; ++k)
        sigs[k] = key_hash(*keys[k]);
    rte_hash_lookup_with_hash_bulk_data(hash_, reinterpret_cast<const void**>(const_cast<const CtTuple**>(keys)), sigs,
                                        n, &found, data);
    for (uint32_t k = 0; k < n; ++k) {
        CtHit& h = hits[at[k]];
        if (found >> k & 1) {
            h = hit_of(of_data(data[k]));
            rte_prefetch0(h.entry); // 36 bytes: may straddle two lines
            rte_prefetch0(reinterpret_cast<const uint8_t*>(h.entry) + sizeof(CtEntry) - 1);
        } else {
            h = CtHit{};
        }
    }
    return found;
}

bool Conntrack::in_use(const CtTuple& t) const noexcept {
    return rte_hash_lookup_with_hash(hash_, &t, key_hash(t)) >= 0;
}

uint32_t Conntrack::alloc(uint32_t worker) noexcept {
    WorkerPool& pool = pools_[worker];
    if (pool.head == kNone) {
        uint32_t back[64];
        const unsigned n = rte_ring_sc_dequeue_burst_elem(pool.returned, back, sizeof(uint32_t), 64, nullptr);
        for (unsigned i = 0; i < n; ++i)
            free_now(worker, back[i]);
        if (pool.head == kNone)
            return kNone;
    }
    const uint32_t idx = pool.head;
    pool.head = entries_[idx].expires.load(std::memory_order_relaxed);
    --pool.free;
    pool.live.store(pool.live.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return idx;
}

void Conntrack::free_now(uint32_t worker, uint32_t idx) noexcept {
    WorkerPool& pool = pools_[worker];
    entries_[idx].expires.store(pool.head, std::memory_order_relaxed);
    pool.head = idx;
    ++pool.free;
    pool.live.store(pool.live.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

void Conntrack::count_insert_failure(uint32_t worker) noexcept {
    WorkerPool& pool = pools_[worker];
    pool.insert_failures.store(pool.insert_failures.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

uint8_t Conntrack::snat_index(rte_be32_t src, rte_be32_t orig_src) noexcept {
    if (src == orig_src)
        return kCtNoSnat;
    for (uint32_t i = 0; i < kCtSnatSources; ++i) {
        rte_be32_t seen = snat_sources_[i].load(std::memory_order_acquire);
        if (seen == 0 && snat_sources_[i].compare_exchange_strong(seen, src, std::memory_order_acq_rel))
            return static_cast<uint8_t>(i);
        if (seen == src) // ours, or another worker claimed the slot for the same address
            return static_cast<uint8_t>(i);
    }
    return kCtSnatSources;
}

CtHit Conntrack::create(uint32_t worker, const CtTuple& orig, const CtXlate& fwd, uint16_t rev_nat_id,
                        uint32_t backend_id, uint8_t flags, uint32_t expires) noexcept {
    const uint8_t snat = snat_index(fwd.src, orig.src);
    if (snat == kCtSnatSources || backend_id >> kCtBackendIdBits != 0) {
        count_insert_failure(worker);
        return {};
    }
    const uint32_t idx = alloc(worker);
    if (idx == kNone) {
        count_insert_failure(worker);
        return {};
    }
    CtEntry& e = entries_[idx];
    e.orig_src = orig.src;
    e.orig_dst = orig.dst;
    e.orig_sport = orig.sport;
    e.orig_dport = orig.dport;
    e.to_dst = fwd.dst;
    e.to_sport = fwd.sport;
    e.to_dport = fwd.dport;
    e.packets.store(0, std::memory_order_relaxed);
    e.bytes_lo.store(0, std::memory_order_relaxed);
    e.bytes_hi.store(0, std::memory_order_relaxed);
    e.expires.store(expires, std::memory_order_relaxed);
    e.tcp_state.store(static_cast<uint8_t>(CtTcpState::SynSent), std::memory_order_relaxed);
    e.flags.store(flags, std::memory_order_relaxed);
    // The reply key first: if the original key cannot be added, nothing can
    // find the entry by the flow's own packets, and gc removes the reply key
    // with the entry (its expiry is zeroed).
    const CtTuple reply = ct_reverse(ct_apply(orig, fwd));
    if (rte_hash_add_key_with_hash_data(hash_, &reply, key_hash(reply), as_data(ct_key_data::reply(idx, rev_nat_id))) <
        0) {
        free_now(worker, idx); // nothing points at it yet
        count_insert_failure(worker);
        return {};
    }
    if (rte_hash_add_key_with_hash_data(hash_, &orig, key_hash(orig),
                                        as_data(ct_key_data::original(idx, backend_id, snat))) < 0) {
        e.expires.store(0, std::memory_order_relaxed);
        count_insert_failure(worker);
        return {};
    }
    return CtHit{&e, CtDir::Original, snat, backend_id};
}

bool Conntrack::rebind(CtHit& hit, const CtTuple& orig, const CtXlate& fwd, uint32_t backend_id,
                       uint16_t rev_nat_id) noexcept {
    CtEntry& e = *hit.entry;
    const uint32_t idx = static_cast<uint32_t>(&e - entries_);
    const uint8_t snat = snat_index(fwd.src, orig.src);
    if (snat == kCtSnatSources || backend_id >> kCtBackendIdBits != 0)
        return false;
    // The old reply key stays until the flow expires: it still maps late
    // replies from the old backend back to the client, and gc removes every
    // key that points at an expired entry.
    const CtTuple reply = ct_reverse(ct_apply(orig, fwd));
    if (rte_hash_add_key_with_hash_data(hash_, &reply, key_hash(reply), as_data(ct_key_data::reply(idx, rev_nat_id))) <
        0)
        return false;
    e.to_dst = fwd.dst;
    e.to_sport = fwd.sport;
    e.to_dport = fwd.dport;
    // Adding an existing key replaces its data (one atomic store in rte_hash).
    if (rte_hash_add_key_with_hash_data(hash_, &orig, key_hash(orig),
                                        as_data(ct_key_data::original(idx, backend_id, snat))) < 0)
        return false;
    hit.snat = snat;
    hit.backend_id = backend_id;
    return true;
}

uint32_t Conntrack::expire(uint32_t now_s) {
    struct Dead {
        // rte_hash_crc reads the key as 8-byte words: keep it 8-byte aligned
        // (in a 20-byte struct it was not: UBSan, found by tests/fuzz).
        alignas(8) CtTuple key;
        uint32_t idx;
    };
    std::vector<Dead> dead;
    const void* key = nullptr;
    void* data = nullptr;
    uint32_t next = 0;
    while (rte_hash_iterate(hash_, &key, &data, &next) >= 0) {
        const uint32_t idx = ct_key_data::index(of_data(data));
        if (entries_[idx].expires.load(std::memory_order_relaxed) < now_s)
            dead.push_back(Dead{*static_cast<const CtTuple*>(key), idx});
    }
    if (dead.empty())
        return 0;
    Pending p;
    std::unordered_set<uint32_t> freed;
    for (const Dead& d : dead) {
        // A packet may have refreshed the flow since the scan.
        if (entries_[d.idx].expires.load(std::memory_order_relaxed) >= now_s)
            continue;
        const int32_t pos = rte_hash_del_key(hash_, &d.key);
        if (pos >= 0)
            p.keys.push_back(static_cast<uint32_t>(pos));
        if (freed.insert(d.idx).second)
            p.entries.push_back(d.idx);
    }
    p.token = rte_rcu_qsbr_start(qsbr_);
    const auto flows = static_cast<uint32_t>(p.entries.size());
    pending_.push_back(std::move(p));
    return flows;
}

void Conntrack::reclaim() {
    while (!pending_.empty() && rte_rcu_qsbr_check(qsbr_, pending_.front().token, false) == 1) {
        Pending& p = pending_.front();
        for (uint32_t pos : p.keys)
            rte_hash_free_key_with_position(hash_, static_cast<int32_t>(pos));
        unreturned_.insert(unreturned_.end(), p.entries.begin(), p.entries.end());
        pending_.erase(pending_.begin());
    }
    // Back to the owning workers' rings; what does not fit waits for the next tick.
    std::vector<uint32_t> still;
    for (uint32_t idx : unreturned_) {
        const uint32_t w = std::min(idx / per_worker_, workers_ - 1);
        if (rte_ring_sp_enqueue_elem(pools_[w].returned, &idx, sizeof idx) != 0)
            still.push_back(idx);
    }
    unreturned_.swap(still);
}

void Conntrack::for_each(const std::function<void(const CtFlowView&)>& f) const {
    const void* key = nullptr;
    void* data = nullptr;
    uint32_t next = 0;
    // The revNAT ids live with the reply keys: collect them first.
    std::unordered_map<uint32_t, uint16_t> rev_nat;
    while (rte_hash_iterate(hash_, &key, &data, &next) >= 0) {
        const uint64_t v = of_data(data);
        if (ct_key_data::dir(v) == CtDir::Reply && ct_key_data::rev_nat_id(v) != 0)
            rev_nat[ct_key_data::index(v)] = ct_key_data::rev_nat_id(v);
    }
    next = 0;
    while (rte_hash_iterate(hash_, &key, &data, &next) >= 0) {
        const uint64_t v = of_data(data);
        if (ct_key_data::dir(v) != CtDir::Original)
            continue;
        const CtHit hit = hit_of(v);
        CtFlowView flow;
        flow.orig = *static_cast<const CtTuple*>(key);
        flow.fwd = xlate(hit);
        flow.entry = hit.entry;
        flow.backend_id = hit.backend_id;
        const auto rn = rev_nat.find(ct_key_data::index(v));
        flow.rev_nat_id = rn == rev_nat.end() ? 0 : rn->second;
        f(flow);
    }
}

uint32_t Conntrack::flows() const noexcept {
    uint64_t live = 0;
    for (uint32_t w = 0; w < workers_; ++w)
        live += pools_[w].live.load(std::memory_order_relaxed);
    // Entries waiting to be handed back are not flows any more.
    size_t waiting = unreturned_.size();
    for (const Pending& p : pending_)
        waiting += p.entries.size();
    for (uint32_t w = 0; w < workers_; ++w)
        waiting += rte_ring_count(pools_[w].returned);
    return live > waiting ? static_cast<uint32_t>(live - waiting) : 0;
}

uint64_t Conntrack::insert_failures() const noexcept {
    uint64_t n = 0;
    for (uint32_t w = 0; w < workers_; ++w)
        n += pools_[w].insert_failures.load(std::memory_order_relaxed);
    return n;
}

double Conntrack::bytes_per_flow() const noexcept {
    return static_cast<double>(bytes_) / max_flows_;
}

} // namespace podlane
