#include "dataplane/frag_table.h"

#include <bit>

namespace podlane {

Result<std::unique_ptr<FragTable>> FragTable::create(uint32_t max_datagrams, uint32_t workers) {
    if (max_datagrams == 0 || max_datagrams > (1u << 24) || workers == 0)
        return Error{"fragment table: need 1..16777216 datagrams and one worker"};
    std::unique_ptr<FragTable> t(new FragTable());
    const uint32_t slots = std::bit_ceil(std::max(max_datagrams, kWays));
    t->slots_ = std::make_unique<Slot[]>(slots);
    t->bucket_mask_ = slots / kWays - 1;
    t->capacity_ = slots;
    t->stats_ = std::vector<FragWorkerStats>(workers);
    return t;
}

FragTotals FragTable::totals(uint32_t now_s) const noexcept {
    FragTotals t;
    for (const FragWorkerStats& s : stats_) {
        t.tracked += s.tracked.get();
        t.hits += s.hits.get();
        t.misses += s.misses.get();
        t.full += s.full.get();
    }
    for (uint32_t i = 0; i < capacity_; ++i) {
        const uint32_t exp = slots_[i].expires.load(std::memory_order_relaxed);
        if (exp != 0 && static_cast<int32_t>(exp - now_s) > 0)
            ++t.entries;
    }
    t.capacity = capacity_;
    return t;
}

} // namespace podlane
