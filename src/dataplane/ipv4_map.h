// A read-only IPv4 -> endpoint index map for the hot path: open addressing
// with linear probing over a power-of-two array of 8-byte slots, built once by
// the control thread and never modified after publication.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/net_types.h"

namespace podlane {

inline constexpr uint32_t kNoEndpoint = UINT32_MAX;

class EndpointTable {
public:
    EndpointTable() = default;

    /// Builds the table; `ips[i]` maps to index i. IPs must be non-zero and unique.
    explicit EndpointTable(std::span<const Ipv4Addr> ips) {
        uint32_t cap = 16, bits = 4;
        while (cap < ips.size() * 2) {
            cap <<= 1;
            ++bits;
        }
        slots_.assign(cap, Slot{0, kNoEndpoint});
        mask_ = cap - 1;
        shift_ = 32 - bits;
        for (uint32_t i = 0; i < ips.size(); ++i) {
            uint32_t s = home(ips[i]);
            while (slots_[s].ip_be != 0)
                s = (s + 1) & mask_;
            slots_[s] = Slot{ips[i].be, i};
        }
    }

    /// The index for `ip`, or kNoEndpoint.
    uint32_t lookup(Ipv4Addr ip) const noexcept {
        if (slots_.empty())
            return kNoEndpoint;
        for (uint32_t s = home(ip);; s = (s + 1) & mask_) {
            const Slot& slot = slots_[s];
            if (slot.ip_be == ip.be)
                return slot.index;
            if (slot.ip_be == 0)
                return kNoEndpoint;
        }
    }

private:
    struct Slot {
        uint32_t ip_be;  ///< 0 = empty
        uint32_t index;
    };
    /// Fibonacci hashing: multiply the host-order address by 2^32/phi and
    /// keep the top bits, so consecutive pod IPs land in different slots.
    uint32_t home(Ipv4Addr ip) const noexcept { return (ip.host() * 0x9E3779B1u) >> shift_; }

    std::vector<Slot> slots_;
    uint32_t mask_ = 0;
    uint32_t shift_ = 32;
};

} // namespace podlane
