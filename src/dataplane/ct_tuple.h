// The flow tuple conntrack keys on, and the address/port rewrite (xlate) a
// tracked flow applies in each direction. Shared by conntrack, NAT and the
// CLI's flow listing.
#pragma once

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
    return CtTuple{x.src, x.dst, x.sport, x.dport, t.proto, {}};
}

/// The tuple of the replies to a packet with tuple `t`.
constexpr CtTuple ct_reverse(const CtTuple& t) noexcept {
    return CtTuple{t.dst, t.src, t.dport, t.sport, t.proto, {}};
}

/// The identity rewrite for a packet with tuple `t`.
constexpr CtXlate ct_identity(const CtTuple& t) noexcept {
    return CtXlate{t.src, t.dst, t.sport, t.dport};
}

} // namespace podlane
