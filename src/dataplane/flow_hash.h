// The flow hash Cilium's datapath feeds Maglev (bpf/lib/hash.h
// __hash_from_tuple_v4 over bpf/lib/jhash.h jhash_3words), computed from the
// packet's wire fields so that podlane and Cilium pick the same Maglev slot
// for a flow. control/tables/maglev.h documents the algorithm and its sources.
#pragma once

#include <cstdint>

#include <rte_byteorder.h>

#include "common/jhash.h"

namespace podlane {

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
