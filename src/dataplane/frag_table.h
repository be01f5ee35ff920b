// IPv4 fragment tracking for services and NAT, as Cilium's
// enable-ipv4-fragment-tracking: only a datagram's first fragment carries
// its L4 ports, so the first fragment's ports are remembered under
// (source, destination, protocol, IP id), and the later fragments of the
// datagram take them from here. They then find the same conntrack flow, get
// the same backend and the same address rewrite, in both directions and
// through masquerade. Nothing is reassembled: fragments pass one by one.
//
// A fixed, bounded table shared by every worker (fragments of one datagram
// may arrive on different queues): kWays slots a bucket, each slot guarded by
// a sequence number (a seqlock). Readers never wait: a slot being written is
// skipped, as a miss. A writer claims a slot with one compare-and-swap and
// gives up if another writer holds it. No heap, no locks on the hot path.
//
// A full bucket evicts its oldest datagram, as Cilium's LRU map does: a
// datagram's fragments normally arrive within a millisecond, so the oldest
// entry is the one least likely to still be waited for. Entries live
// kFragLifetimeS seconds (Linux's ipfrag_time) from their first fragment.
//
// A later fragment that arrives before its first one finds nothing (a miss)
// and is dropped as fragment_to_service, as Cilium drops it
// (DROP_FRAG_NOT_FOUND); the sender's retransmission, or the application's,
// recovers. Counters per worker: datagrams tracked, later fragments found
// (hits) and not found (misses), and evictions from a full bucket.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include <rte_byteorder.h>

#include "common/result.h"
#include "dataplane/counters.h"

namespace podlane {

/// Seconds a remembered datagram stays (Linux's net.ipv4.ipfrag_time).
inline constexpr uint32_t kFragLifetimeS = 30;

/// One worker's fragment counters.
struct alignas(64) FragWorkerStats {
    Counter tracked; ///< first fragments whose ports were remembered (new datagrams)
    Counter hits;    ///< later fragments that found their datagram's ports
    Counter misses;  ///< later fragments that did not (before their first fragment, evicted, expired)
    Counter full;    ///< first fragments that evicted another live datagram from a full bucket
};

/// The counters summed over workers, and the table's size.
struct FragTotals {
    uint64_t tracked = 0, hits = 0, misses = 0, full = 0;
    uint32_t entries = 0;  ///< live datagrams now
    uint32_t capacity = 0; ///< slots
};

class FragTable {
public:
    static constexpr uint32_t kWays = 4;

    /// A table of at least `max_datagrams` slots (rounded up to a power of
    /// two, at least kWays), counting for `workers` workers.
    static Result<std::unique_ptr<FragTable>> create(uint32_t max_datagrams, uint32_t workers);

    /// First fragment: remembers ports (sport, dport) for the datagram
    /// (src, dst, proto, id) as of `now_s` (ct_now_s()).
    void remember(rte_be32_t src, rte_be32_t dst, uint8_t proto, rte_be16_t id, rte_be16_t sport, rte_be16_t dport,
                  uint32_t now_s, uint32_t worker) noexcept {
        const uint64_t addrs = addrs_of(src, dst);
        const uint64_t key = key_of(proto, id);
        Slot* bucket = bucket_of(addrs, key);
        Slot* same = nullptr;   // this datagram, remembered before (or a reused id)
        Slot* unused = nullptr; // empty or expired
        Slot* oldest = nullptr; // the live entry that expires first
        for (uint32_t i = 0; i < kWays; ++i) {
            Slot& s = bucket[i];
            const uint32_t exp = s.expires.load(std::memory_order_relaxed);
            const bool live = exp != 0 && static_cast<int32_t>(exp - now_s) > 0;
            if (!live) {
                if (unused == nullptr)
                    unused = &s;
            } else if (s.addrs.load(std::memory_order_relaxed) == addrs &&
                       (s.rest.load(std::memory_order_relaxed) & kKeyMask) == key) {
                same = &s;
                break;
            } else if (oldest == nullptr ||
                       static_cast<int32_t>(exp - oldest->expires.load(std::memory_order_relaxed)) < 0) {
                oldest = &s;
            }
        }
        Slot* victim = same != nullptr ? same : unused != nullptr ? unused : oldest;
        const bool evicts = same == nullptr && unused == nullptr;
        const bool fresh = same == nullptr;
        uint32_t seq = victim->seq.load(std::memory_order_relaxed);
        if ((seq & 1) != 0 || !victim->seq.compare_exchange_strong(seq, seq + 1, std::memory_order_acquire))
            return; // another worker is writing this slot: its later fragments will miss
        std::atomic_thread_fence(std::memory_order_release);
        victim->addrs.store(addrs, std::memory_order_relaxed);
        victim->rest.store(key | uint64_t{sport} << 32 | uint64_t{dport} << 48, std::memory_order_relaxed);
        victim->expires.store(now_s + kFragLifetimeS, std::memory_order_relaxed);
        victim->seq.store(seq + 2, std::memory_order_release);
        FragWorkerStats& st = stats_[worker < stats_.size() ? worker : 0];
        if (fresh)
            st.tracked.add(1);
        if (evicts)
            st.full.add(1);
    }

    /// Later fragment: the ports remembered for (src, dst, proto, id), if any.
    bool recall(rte_be32_t src, rte_be32_t dst, uint8_t proto, rte_be16_t id, uint32_t now_s, uint32_t worker,
                rte_be16_t& sport, rte_be16_t& dport) const noexcept {
        const uint64_t addrs = addrs_of(src, dst);
        const uint64_t key = key_of(proto, id);
        const Slot* bucket = bucket_of(addrs, key);
        FragWorkerStats& st = stats_[worker < stats_.size() ? worker : 0];
        for (uint32_t i = 0; i < kWays; ++i) {
            const Slot& s = bucket[i];
            const uint32_t seq = s.seq.load(std::memory_order_acquire);
            if ((seq & 1) != 0)
                continue;
            const uint64_t a = s.addrs.load(std::memory_order_relaxed);
            const uint64_t rest = s.rest.load(std::memory_order_relaxed);
            const uint32_t exp = s.expires.load(std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_acquire);
            if (s.seq.load(std::memory_order_relaxed) != seq)
                continue;
            if (a == addrs && (rest & kKeyMask) == key && exp != 0 && static_cast<int32_t>(exp - now_s) > 0) {
                sport = static_cast<rte_be16_t>(rest >> 32);
                dport = static_cast<rte_be16_t>(rest >> 48);
                st.hits.add(1);
                return true;
            }
        }
        st.misses.add(1);
        return false;
    }

    /// Control thread: the counters summed and the live entries at `now_s`.
    FragTotals totals(uint32_t now_s) const noexcept;

private:
    /// One remembered datagram: addresses, then id | proto << 16 | a
    /// "used" bit << 24 | sport << 32 | dport << 48, and its expiry.
    struct Slot {
        std::atomic<uint32_t> seq{0}; ///< odd while a writer fills the slot
        std::atomic<uint32_t> expires{0};
        std::atomic<uint64_t> addrs{0};
        std::atomic<uint64_t> rest{0};
        uint64_t pad = 0;
    };
    static_assert(sizeof(Slot) == 32, "two slots a cache line");

    static constexpr uint64_t kKeyMask = 0x1ffffffull;

    static uint64_t addrs_of(rte_be32_t src, rte_be32_t dst) noexcept { return uint64_t{src} | uint64_t{dst} << 32; }
    static uint64_t key_of(uint8_t proto, rte_be16_t id) noexcept {
        return uint64_t{id} | uint64_t{proto} << 16 | uint64_t{1} << 24;
    }
    Slot* bucket_of(uint64_t addrs, uint64_t key) const noexcept {
        const uint64_t h = (addrs ^ (key * 0x9E3779B97F4A7C15ull)) * 0xff51afd7ed558ccdull;
        return &slots_[((h >> 32) & bucket_mask_) * kWays];
    }

    FragTable() = default;
    std::unique_ptr<Slot[]> slots_;
    uint64_t bucket_mask_ = 0;
    uint32_t capacity_ = 0;
    mutable std::vector<FragWorkerStats> stats_;
};

} // namespace podlane
