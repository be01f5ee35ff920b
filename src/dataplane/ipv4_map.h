// Read-only IPv4 lookup tables for the hot path, built once by the control
// thread and never modified after publication:
//  - Ipv4Map: exact address -> index, open addressing with linear probing
//    over a power-of-two array of 8-byte slots;
//  - PrefixTable: longest-prefix match as one Ipv4Map per prefix length,
//    probed from the longest length down (a handful of lengths in practice).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/net_types.h"

namespace podlane {

/// The value lookups return when nothing matches.
inline constexpr uint32_t kNotFound = UINT32_MAX;
inline constexpr uint32_t kNoEndpoint = kNotFound;

class Ipv4Map {
public:
    Ipv4Map() = default;

    /// Builds the table; `ips[i]` maps to index i. IPs must be non-zero; a
    /// repeated IP keeps the index of its first occurrence.
    explicit Ipv4Map(std::span<const Ipv4Addr> ips) {
        uint32_t cap = 16, bits = 4;
        while (cap < ips.size() * 2) {
            cap <<= 1;
            ++bits;
        }
        slots_.assign(cap, Slot{0, kNotFound});
        mask_ = cap - 1;
        shift_ = 32 - bits;
        for (uint32_t i = 0; i < ips.size(); ++i) {
            uint32_t s = home(ips[i]);
            while (slots_[s].ip_be != 0 && slots_[s].ip_be != ips[i].be)
                s = (s + 1) & mask_;
            if (slots_[s].ip_be == 0) // a repeated address keeps its first index
                slots_[s] = Slot{ips[i].be, i};
        }
    }

    /// The index for `ip`, or kNotFound.
    uint32_t lookup(Ipv4Addr ip) const noexcept {
        if (slots_.empty())
            return kNotFound;
        for (uint32_t s = home(ip);; s = (s + 1) & mask_) {
            const Slot& slot = slots_[s];
            if (slot.ip_be == ip.be)
                return slot.index;
            if (slot.ip_be == 0)
                return kNotFound;
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

/// Longest-prefix match over IPv4 prefixes; prefix i maps to value i.
class PrefixTable {
public:
    PrefixTable() = default;

    explicit PrefixTable(std::span<const Ipv4Prefix> prefixes) {
        for (int len = 32; len >= 0; --len) {
            Level level{static_cast<uint8_t>(len), Ipv4Prefix{{}, static_cast<uint8_t>(len)}.mask_host(), {}, {}, kNotFound};
            std::vector<Ipv4Addr> keys;
            for (uint32_t i = 0; i < prefixes.size(); ++i) {
                if (prefixes[i].len != len)
                    continue;
                if (prefixes[i].addr.is_zero()) { // Ipv4Map keeps 0 for empty slots
                    level.zero_value = i;
                    continue;
                }
                keys.push_back(prefixes[i].addr);
                level.values.push_back(i);
            }
            if (keys.empty() && level.zero_value == kNotFound)
                continue;
            level.map = Ipv4Map(keys);
            levels_.push_back(std::move(level));
        }
    }

    /// The value of the longest prefix containing `ip`, or kNotFound.
    uint32_t lookup(Ipv4Addr ip) const noexcept {
        for (const Level& l : levels_) {
            const uint32_t masked = ip.host() & l.mask;
            if (masked == 0) {
                if (l.zero_value != kNotFound)
                    return l.zero_value;
                continue;
            }
            const uint32_t k = l.map.lookup(Ipv4Addr::from_host(masked));
            if (k != kNotFound)
                return l.values[k];
        }
        return kNotFound;
    }

    bool empty() const noexcept { return levels_.empty(); }

private:
    struct Level {
        uint8_t len;
        uint32_t mask; ///< host order
        Ipv4Map map;
        std::vector<uint32_t> values;
        uint32_t zero_value; ///< value of 0.0.0.0/len, if present
    };
    std::vector<Level> levels_; ///< longest first
};

} // namespace podlane
