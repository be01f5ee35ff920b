// The flow tuple conntrack keys on, and the address/port rewrite (xlate) a
// tracked flow applies in each direction. Shared by conntrack, NAT and the
// CLI's flow listing.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

#include <rte_byteorder.h>

namespace podlane {

/// A directional 5-tuple, all fields in network order; the hash key.
/// ICMP echo is keyed like a port pair so that NAT can track it:
/// a request carries its identifier as `sport` and 0 as `dport`, a reply
/// 0 as `sport` and the identifier as `dport`.
struct CtTuple {
    rte_be32_t src = 0;
    rte_be32_t dst = 0;
    rte_be16_t sport = 0;
    rte_be16_t dport = 0;
    uint8_t proto = 0;
    uint8_t pad[3]{}; ///< always zero: the key is hashed and compared as 16 bytes

    friend bool operator==(const CtTuple&, const CtTuple&) = default;
};
static_assert(sizeof(CtTuple) == 16, "hash key is 16 bytes");

/// A tuple made of two 8-byte words, as the hash and the burst's key
/// compares read it. Filled field by field, a key on the stack is five
/// small stores that an 8-byte load cannot be forwarded from: the compare
/// then waits for every store ahead of it to reach the cache, behind any
/// that misses (a packet header another core wrote last). Seen as ~20% of
/// a worker's cycles over zero-copy memif.
constexpr CtTuple make_ct_tuple(rte_be32_t src, rte_be32_t dst, rte_be16_t sport, rte_be16_t dport,
                                uint8_t proto) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
        const std::array<uint64_t, 2> w{uint64_t{src} | uint64_t{dst} << 32,
                                        uint64_t{sport} | uint64_t{dport} << 16 | uint64_t{proto} << 32};
        return std::bit_cast<CtTuple>(w);
    } else {
        return CtTuple{src, dst, sport, dport, proto, {}};
    }
}

/// What a packet's addresses and ports are rewritten to (all four, network
/// order); a field equal to the packet's own leaves it unchanged.
struct CtXlate {
    rte_be32_t src = 0;
    rte_be32_t dst = 0;
    rte_be16_t sport = 0;
    rte_be16_t dport = 0;

    friend bool operator==(const CtXlate&, const CtXlate&) = default;
};
static_assert(sizeof(CtXlate) == 12);

/// The tuple a packet has after `x` is applied to it.
constexpr CtTuple ct_apply(const CtTuple& t, const CtXlate& x) noexcept {
    return make_ct_tuple(x.src, x.dst, x.sport, x.dport, t.proto);
}

/// The tuple of the replies to a packet with tuple `t`.
constexpr CtTuple ct_reverse(const CtTuple& t) noexcept {
    return make_ct_tuple(t.dst, t.src, t.dport, t.sport, t.proto);
}

/// The identity rewrite for a packet with tuple `t`.
constexpr CtXlate ct_identity(const CtTuple& t) noexcept {
    return CtXlate{t.src, t.dst, t.sport, t.dport};
}

} // namespace podlane
