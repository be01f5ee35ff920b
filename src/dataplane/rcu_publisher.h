// Publishing immutable tables to the workers, RCU-style (rte_rcu_qsbr).
//
// The control thread builds a whole new T, then publish() swaps it in with one
// release store; workers load the pointer once per burst (acquire) and report
// a quiescent state after every poll loop iteration, empty ones included. The
// old T is only freed once every worker registered with the QSBR variable has
// passed a quiescent state after the swap, so a worker always sees a whole old
// or a whole new table, and never a freed one.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <memory>

#include <rte_rcu_qsbr.h>

namespace podlane {

/// Owns an rte_rcu_qsbr variable for `max_threads` reader threads (ids 0..n-1).
class Qsbr {
public:
    explicit Qsbr(uint32_t max_threads) {
        size_t size = rte_rcu_qsbr_get_memsize(max_threads);
        size = (size + 63) / 64 * 64;
        v_ = static_cast<rte_rcu_qsbr*>(std::aligned_alloc(64, size));
        if (v_ == nullptr || rte_rcu_qsbr_init(v_, max_threads) != 0)
            std::abort(); // only on out-of-memory at start-up
    }
    ~Qsbr() { std::free(v_); }
    Qsbr(const Qsbr&) = delete;
    Qsbr& operator=(const Qsbr&) = delete;

    rte_rcu_qsbr* get() const noexcept { return v_; }

private:
    rte_rcu_qsbr* v_ = nullptr;
};

template <typename T>
class RcuPublisher {
public:
    RcuPublisher(rte_rcu_qsbr* qsbr, std::unique_ptr<T> initial)
        : qsbr_(qsbr), current_(initial.release()) {}
    ~RcuPublisher() {
        // Only destroyed once the readers have stopped.
        delete current_.load(std::memory_order_relaxed);
    }
    RcuPublisher(const RcuPublisher&) = delete;
    RcuPublisher& operator=(const RcuPublisher&) = delete;

    /// Readers: the current table. Valid until the reader's next quiescent state.
    const T* load() const noexcept { return current_.load(std::memory_order_acquire); }

    /// Control thread: makes `next` current and retires the old table.
    void publish(std::unique_ptr<T> next) {
        const T* old = current_.exchange(next.release(), std::memory_order_acq_rel);
        // The token is taken after the swap: a reader that reports quiescence
        // after this point can no longer hold `old`.
        last_token_ = rte_rcu_qsbr_start(qsbr_);
        retired_.push_back(Retired{last_token_, std::unique_ptr<const T>(old)});
    }

    /// Control thread: frees retired tables whose grace period is over,
    /// without waiting. Returns how many were freed.
    size_t reclaim() {
        size_t freed = 0;
        while (!retired_.empty() && rte_rcu_qsbr_check(qsbr_, retired_.front().token, false) == 1) {
            retired_.pop_front();
            ++freed;
        }
        return freed;
    }

    /// Control thread: waits until every retired table's grace period is over
    /// (e.g. before unplugging a port the old table still names), then frees them.
    void synchronize() {
        if (!retired_.empty())
            rte_rcu_qsbr_check(qsbr_, retired_.back().token, true);
        retired_.clear();
    }

    /// The QSBR token of the latest publish (0 before the first).
    uint64_t last_token() const noexcept { return retired_.empty() ? last_token_ : retired_.back().token; }
    /// True once every reader has passed a quiescent state after the publish
    /// that returned `token` from last_token(): they all use that table or a newer one.
    bool passed(uint64_t token) const noexcept { return rte_rcu_qsbr_check(qsbr_, token, false) == 1; }
    /// Tables published but not yet freed.
    size_t pending() const noexcept { return retired_.size(); }

private:
    struct Retired {
        uint64_t token;
        std::unique_ptr<const T> table;
    };
    rte_rcu_qsbr* qsbr_;
    std::atomic<const T*> current_;
    std::deque<Retired> retired_;
    uint64_t last_token_ = 0;
};

} // namespace podlane
