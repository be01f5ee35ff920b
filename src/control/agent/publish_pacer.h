// Paces snapshot publishes for a stream of cluster-state updates: a lone
// update is published at once, a stream at most `max_per_s` times a second;
// what arrives in between is merged into the next publish.
#pragma once

#include <chrono>
#include <cstdint>

namespace podlane {

/// When the next publish of merged updates may happen. Pure (the caller
/// passes the time), so tests drive it with a fake clock.
class PublishPacer {
public:
    using Clock = std::chrono::steady_clock;
    /// At most `max_per_s` publishes a second (0 is taken as 1).
    explicit PublishPacer(uint32_t max_per_s)
        : interval_(std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(1)) /
                    (max_per_s == 0 ? 1 : max_per_s)) {}

    /// True if a publish at `now` keeps within the rate.
    bool may_publish(Clock::time_point now) const noexcept { return !any_ || now - last_ >= interval_; }
    /// The earliest time the next publish may happen.
    Clock::time_point next_allowed() const noexcept { return any_ ? last_ + interval_ : Clock::time_point{}; }
    /// Records a publish (of merged updates or any other).
    void published(Clock::time_point now) noexcept {
        last_ = now;
        any_ = true;
    }
    Clock::duration interval() const noexcept { return interval_; }

private:
    Clock::duration interval_;
    Clock::time_point last_{};
    bool any_ = false;
};

} // namespace podlane
