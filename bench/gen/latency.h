// A log-linear latency histogram (16 sub-buckets per power of two, like
// HdrHistogram at ~6% precision) over TSC cycles: fixed size, no allocation
// when recording.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace podlane::gen {

class LatencyHistogram {
 public:
  static constexpr unsigned kSub = 16;
  static constexpr unsigned kBuckets = 64 * kSub;

  void record(uint64_t cycles) noexcept {
    ++counts_[index(cycles)];
    ++total_;
    sum_ += cycles;
    if (cycles > max_) max_ = cycles;
    if (cycles < min_) min_ = cycles;
  }
  void reset() noexcept { *this = LatencyHistogram{}; }
  uint64_t total() const { return total_; }
  uint64_t max() const { return max_; }
  uint64_t min() const { return total_ ? min_ : 0; }
  double mean() const { return total_ ? static_cast<double>(sum_) / static_cast<double>(total_) : 0; }

  /// The upper edge of the bucket holding quantile q (0..1), in cycles.
  uint64_t quantile(double q) const {
    if (total_ == 0) return 0;
    uint64_t want = static_cast<uint64_t>(q * static_cast<double>(total_));
    if (want >= total_) want = total_ - 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen > want) return upper(i) < max_ ? upper(i) : max_;
    }
    return max_;
  }

 private:
  static unsigned index(uint64_t v) noexcept {
    if (v < kSub) return static_cast<unsigned>(v);
    const unsigned msb = 63u - static_cast<unsigned>(std::countl_zero(v));  // >= 4
    const unsigned sub = static_cast<unsigned>(v >> (msb - 4)) & (kSub - 1);
    return (msb - 3) * kSub + sub;
  }
  static uint64_t upper(unsigned i) {
    if (i < kSub) return i;
    const unsigned msb = i / kSub + 3, sub = i % kSub;
    return ((uint64_t{kSub} + sub + 1) << (msb - 4)) - 1;
  }

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0, sum_ = 0, max_ = 0, min_ = UINT64_MAX;
};

}  // namespace podlane::gen
