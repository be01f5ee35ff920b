// Per-stage counting on the hot path, for a few instructions a packet. A
// packet's StageTrace collects a one-lane constant (byte lanes of a 16-byte
// vector) for each stage it enters and for the one that finishes it. The
// journeys (pipeline.cpp) are inlined into the burst loop, so along each
// path the compiler folds the trace into one constant, which finish() adds
// to the burst's StageTally in memory: one vector add a packet, whatever
// calls the path makes. Once per burst the nonzero lanes are added to the
// worker's StageCounters (a burst has at most 255 packets: no lane wraps).
//
// Lanes 0..9 count the packets finished at stage 0..9; lanes 10..15 the
// packets that entered the stages that pass packets on: source, decap,
// load_balancer, route, masquerade, encap. The others need no lane of their
// own: every packet enters parse (in = the burst's size), and arp, to_us
// and deliver finish every packet they take (in = finished). Translations
// have a second vector, touched only where a stage rewrites a packet.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "dataplane/counters.h"
#include "dataplane/stage.h"
#include "dataplane/verdict.h"

namespace podlane {

namespace stage_tally_detail {

/// 16 byte lanes (GCC/Clang vector extension: one SSE register on x86).
using Lanes = uint8_t __attribute__((vector_size(16)));
inline constexpr size_t kLanes = 16;
inline constexpr uint8_t kNoLane = 0xff;

/// The lane counting packets that entered `s`, or kNoLane where that count
/// is derived (parse: every packet; arp, to_us, deliver: = finished).
constexpr uint8_t in_lane(Stage s) noexcept {
    switch (s) {
    case Stage::Source: return kStageCount + 0;
    case Stage::Decap: return kStageCount + 1;
    case Stage::LoadBalancer: return kStageCount + 2;
    case Stage::Route: return kStageCount + 3;
    case Stage::Masquerade: return kStageCount + 4;
    case Stage::Encap: return kStageCount + 5;
    default: return kNoLane;
    }
}
static_assert(kStageCount + 6 == kLanes, "every stage's lanes fit one vector");

/// The stage of in-lane kStageCount + k: in_lane() read the other way.
inline constexpr std::array<Stage, kLanes - kStageCount> kInStage = {
    Stage::Source, Stage::Decap, Stage::LoadBalancer, Stage::Route, Stage::Masquerade, Stage::Encap};

constexpr bool in_lanes_agree() noexcept {
    for (size_t k = 0; k < kInStage.size(); ++k)
        if (in_lane(kInStage[k]) != kStageCount + k)
            return false;
    return true;
}
static_assert(in_lanes_agree(), "kInStage is in_lane() read the other way");

/// True where a stage finishes every packet it takes (its in = finished).
constexpr bool finishes_all(Stage s) noexcept {
    return s == Stage::Arp || s == Stage::ToUs || s == Stage::Deliver;
}

template <size_t... I>
constexpr Lanes one_hot(size_t lane, std::index_sequence<I...>) noexcept {
    return Lanes{static_cast<uint8_t>(I == lane)...};
}

/// One vector per lane with a 1 in that lane.
struct OneHot {
    Lanes lane[kLanes];
};
template <size_t... I>
constexpr OneHot one_hots(std::index_sequence<I...> seq) noexcept {
    return OneHot{{one_hot(I, seq)...}};
}
inline constexpr OneHot kOneHot = one_hots(std::make_index_sequence<kLanes>{});

/// Bit k set where lane k of `v` is not zero.
inline uint32_t nonzero_lanes(const Lanes& v) noexcept {
#if defined(__SSE2__)
    using Signed = char __attribute__((vector_size(16)));
    return ~static_cast<uint32_t>(__builtin_ia32_pmovmskb128(reinterpret_cast<Signed>(v == Lanes{}))) & 0xffff;
#else
    uint32_t mask = 0;
    for (size_t k = 0; k < kLanes; ++k)
        mask |= uint32_t{v[k] != 0} << k;
    return mask;
#endif
}

/// Calls add(lane, count) for each nonzero lane of `v`.
template <typename Add>
inline void for_each_lane(const Lanes& v, Add add) noexcept {
    for (uint32_t mask = nonzero_lanes(v); mask != 0; mask &= mask - 1) {
        const unsigned lane = static_cast<unsigned>(__builtin_ctz(mask));
        add(lane, uint32_t{v[lane]});
    }
}

} // namespace stage_tally_detail

/// A burst's per-stage counts; see the top of the file. It stays in memory
/// (add_to() is out of line, GCC would otherwise keep it in a register and
/// save it around every call a path makes): each packet adds its trace once,
/// a translation is added where it happens.
class StageTally {
public:
    /// Adds the burst's counts, for `packets` received, to `c`'s stage counters.
    [[gnu::noinline]] void add_to(WorkerCounters& c, uint32_t packets) const noexcept {
        using namespace stage_tally_detail;
        c.stage(Stage::Parse).in.add(packets);
        for_each_lane(lanes_, [&](size_t lane, uint32_t n) {
            if (lane < kStageCount) {
                StageCounters& s = c.stages[lane];
                s.finished.add(n);
                if (finishes_all(static_cast<Stage>(lane)))
                    s.in.add(n);
            } else {
                c.stage(kInStage[lane - kStageCount]).in.add(n);
            }
        });
        for_each_lane(translated_, [&](size_t lane, uint32_t n) { c.stages[lane].translated.add(n); });
    }

private:
    friend class StageTrace;
    stage_tally_detail::Lanes lanes_{};
    stage_tally_detail::Lanes translated_{};
};

/// One packet's way through the stages: the stages it entered and the one
/// that finished it, as StageTally's lanes. Each call adds a constant, so
/// along any path through a journey the trace is a constant too, added to
/// the burst's tally once, by finish(). Every path through a journey ends in
/// exactly one finish().
class StageTrace {
public:
    explicit StageTrace(StageTally& burst) noexcept : burst_(burst) {}

    /// The packet enters stage `s` (a constant, for the fold).
    [[gnu::always_inline]] void enter(Stage s) noexcept {
        const uint8_t lane = stage_tally_detail::in_lane(s);
        if (lane != stage_tally_detail::kNoLane)
            lanes_ += stage_tally_detail::kOneHot.lane[lane];
    }
    /// Stage `s` rewrote the packet and passes it on (counted in the burst's
    /// tally at once: only translating paths pay for it).
    [[gnu::always_inline]] void translated(Stage s) noexcept {
        burst_.translated_ += stage_tally_detail::kOneHot.lane[static_cast<size_t>(s)];
    }
    /// Stage `s` gives the packet its verdict `v`: the trace goes to the
    /// burst's tally. Returns `v`.
    [[gnu::always_inline]] Verdict finish(Stage s, Verdict v) noexcept {
        burst_.lanes_ += lanes_ + stage_tally_detail::kOneHot.lane[static_cast<size_t>(s)];
        return v;
    }

private:
    StageTally& burst_;
    stage_tally_detail::Lanes lanes_{};
};

} // namespace podlane
