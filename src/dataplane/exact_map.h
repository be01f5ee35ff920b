// Read-only exact-match and prefix tables for the hot path, built once by
// the control thread and never modified after publication:
//  - ExactMap<Key>: key -> index, open addressing with linear probing and
//    Fibonacci hashing over a power-of-two array of slots (0 marks an empty
//    slot, so keys are non-zero). Two instantiations: Ipv4Map (addresses,
//    8-byte slots) and KeyMap64 (64-bit keys such as frontend_key(), 16-byte
//    slots);
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

/// How ExactMap stores and hashes a key type: `Stored` is the slot's key
/// field (0 = empty), `hash(key, shift)` the home slot for a table of
/// 2^(kHashBits - shift) slots.
template <typename Key>
struct ExactMapKey;

/// IPv4 addresses are stored as on the wire; the hash multiplies the
/// host-order address by 2^32/phi and keeps the top bits, so consecutive pod
/// IPs land in different slots.
template <>
struct ExactMapKey<Ipv4Addr> {
    using Stored = uint32_t;
    static constexpr uint32_t kHashBits = 32;
    static constexpr Stored stored(Ipv4Addr ip) noexcept { return ip.be; }
    static constexpr uint32_t hash(Ipv4Addr ip, uint32_t shift) noexcept { return (ip.host() * 0x9E3779B1u) >> shift; }
};

/// 64-bit keys: multiplied by 2^64/phi, top bits kept.
template <>
struct ExactMapKey<uint64_t> {
    using Stored = uint64_t;
    static constexpr uint32_t kHashBits = 64;
    static constexpr Stored stored(uint64_t key) noexcept { return key; }
    static constexpr uint32_t hash(uint64_t key, uint32_t shift) noexcept {
        return static_cast<uint32_t>((key * 0x9E3779B97F4A7C15ull) >> shift);
    }
};

/// Read-only exact-match map from a non-zero key to an index.
template <typename Key>
class ExactMap {
    using Traits = ExactMapKey<Key>;
    using Stored = typename Traits::Stored;

public:
    ExactMap() = default;

    /// Builds the table; `keys[i]` maps to index i, with at least twice as
    /// many slots as keys. Keys must be non-zero; a repeated key keeps the
    /// index of its first occurrence.
    explicit ExactMap(std::span<const Key> keys) {
        uint32_t cap = 16, bits = 4;
        while (cap < keys.size() * 2) {
            cap <<= 1;
            ++bits;
        }
        slots_.assign(cap, Slot{0, kNotFound});
        mask_ = cap - 1;
        shift_ = Traits::kHashBits - bits;
        for (uint32_t i = 0; i < keys.size(); ++i) {
            const Stored k = Traits::stored(keys[i]);
            uint32_t s = home(keys[i]);
            while (slots_[s].key != 0 && slots_[s].key != k)
                s = (s + 1) & mask_;
            if (slots_[s].key == 0) // a repeated key keeps its first index
                slots_[s] = Slot{k, i};
        }
    }

    /// The index for `key`, or kNotFound.
    uint32_t lookup(Key key) const noexcept {
        if (slots_.empty())
            return kNotFound;
        const Stored k = Traits::stored(key);
        for (uint32_t s = home(key);; s = (s + 1) & mask_) {
            const Slot& slot = slots_[s];
            if (slot.key == k)
                return slot.index;
            if (slot.key == 0)
                return kNotFound;
        }
    }

    /// True for a default-constructed map (one built from no keys still has slots).
    bool empty() const noexcept { return slots_.empty(); }

    /// Calls f(stored key) for every key in the table, in slot order (control side).
    template <typename F>
    void for_each_stored_key(F&& f) const {
        for (const Slot& slot : slots_)
            if (slot.key != 0)
                f(slot.key);
    }

private:
    struct Slot {
        Stored key; ///< 0 = empty
        uint32_t index;
    };
    uint32_t home(Key key) const noexcept { return Traits::hash(key, shift_); }

    std::vector<Slot> slots_;
    uint32_t mask_ = 0;
    uint32_t shift_ = Traits::kHashBits;
};

/// IPv4 address -> index (endpoints, nodes, neighbours, frontend and backend addresses).
using Ipv4Map = ExactMap<Ipv4Addr>;
/// 64-bit key -> index (frontend_key() -> frontend).
using KeyMap64 = ExactMap<uint64_t>;

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
