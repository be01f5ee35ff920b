// The flow hash Cilium's datapath feeds Maglev (bpf/lib/hash.h
// __hash_from_tuple_v4 over bpf/lib/jhash.h jhash_3words), computed from the
// packet's wire fields so that podlane and Cilium pick the same Maglev slot
// for a flow. control/tables/maglev.h documents the algorithm and its sources.
#pragma once

#include <cstdint>

#include <rte_byteorder.h>

namespace podlane {

constexpr uint32_t jhash_rol32(uint32_t w, unsigned s) noexcept { return (w << s) | (w >> (32 - s)); }

/// Linux/Cilium jhash_3words(a, b, c, initval).
constexpr uint32_t jhash_3words(uint32_t a, uint32_t b, uint32_t c, uint32_t initval) noexcept {
    const uint32_t init = initval + 0xdeadbeefu + (3u << 2);
    a += init;
    b += init;
    c += init;
    // __jhash_final
    c ^= b; c -= jhash_rol32(b, 14);
    a ^= c; a -= jhash_rol32(c, 11);
    b ^= a; b -= jhash_rol32(a, 25);
    c ^= b; c -= jhash_rol32(b, 16);
    a ^= c; a -= jhash_rol32(c, 4);
    b ^= a; b -= jhash_rol32(a, 14);
    c ^= b; c -= jhash_rol32(b, 24);
    return c;
}

static_assert(RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN,
              "the BPF datapath reads wire bytes little-endian; so does this on a little-endian host");

/// Cilium's Maglev flow hash from wire fields: the source address and the
/// ports exactly as they sit in the packet (network order), the protocol,
/// and the seed's jhash_v4 word. The destination address is not hashed.
inline uint32_t maglev_hash_wire(rte_be32_t saddr, rte_be16_t sport, rte_be16_t dport, uint8_t proto,
                                 uint32_t seed) noexcept {
    return jhash_3words(saddr, uint32_t{dport} << 16 | sport, proto, seed);
}

} // namespace podlane
