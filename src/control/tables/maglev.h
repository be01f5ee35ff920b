// Maglev consistent hashing, bit-compatible with Cilium's.
//
// A service's backends are spread over a lookup table of M slots (M prime);
// the datapath hashes a flow to a slot and takes the backend id stored there.
// Given the same backends, M and seed, build_maglev_table() produces the same
// table Cilium's agent writes to its cilium_lb4_maglev map, and
// maglev_slot_for_flow() the same slot Cilium's BPF datapath reads, so a
// mixed podlane/Cilium fleet behind ECMP picks the same backend for a flow.
//
// Behaviour follows (facts and algorithm only, no code taken from Cilium):
//   - pkg/maglev/maglev.go, Cilium main of 2025 (the BackendInfo/setHashString
//     version, v1.18 line): seed split, backend hash string, sort order,
//     permutation, weighted fill; golden vectors from pkg/maglev/maglev_test.go
//     at commit 0096d63ae45ee77a08ef3aae5c5fb70f50683ac8.
//   - pkg/murmur3/murmur3.go: MurmurHash3_x64_128 (reference smhasher variant).
//   - bpf/lib/lb.h lb4_select_backend_id_maglev() after cilium/cilium#37353
//     (Jan 2025, "Fix hashing wrt port swap on maglev"), bpf/lib/hash.h
//     __hash_from_tuple_v4(), bpf/lib/jhash.h jhash_3words() (= Linux jhash.h).
// See docs/maglev.md.
#pragma once

#include "common/net_types.h"
#include "common/result.h"
#include "common/jhash.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace podlane {

/// One backend of a service as Maglev sees it.
struct MaglevBackend {
    /// Cilium's "hash string" of the backend: both the sort key and the bytes
    /// fed to murmur3. For an IPv4 backend it is
    /// "[<ip>:<port>/<PROTO>,State:active]" (see maglev_backend_hash_string).
    std::string hash_string;
    /// The id written into the table (Cilium's node-local backend id).
    uint32_t id = 0;
    /// Cilium's backend weight (uint16). See build_maglev_table for how weights
    /// and zero weights behave.
    uint16_t weight = 1;
};

/// The 12-byte cluster-wide seed, split as Cilium splits it: bytes 0..3, 4..7
/// and 8..11 each read big-endian.
struct MaglevSeed {
    uint32_t murmur = 0;   ///< seeds murmur3 for the backend permutations
    uint32_t jhash_v4 = 0; ///< HASH_INIT4_SEED / hash_init4_seed of the datapath
    uint32_t jhash_v6 = 0; ///< HASH_INIT6_SEED (IPv6 flows; unused here)
    friend constexpr bool operator==(const MaglevSeed&, const MaglevSeed&) = default;
};

/// Cilium's default --bpf-lb-maglev-hash-seed (maglev.DefaultHashSeed).
inline constexpr std::string_view kMaglevDefaultSeed = "JLfvgnHc2kaSUFaI";
/// Cilium's default --bpf-lb-maglev-table-size (maglev.DefaultTableSize).
inline constexpr uint32_t kMaglevDefaultTableSize = 16381;

/// Decodes a standard (RFC 4648, padded) base64 seed that must hold exactly
/// 12 bytes, as Cilium's agent requires. CR and LF are ignored, as Go's
/// base64.StdEncoding does.
Result<MaglevSeed> parse_maglev_seed(std::string_view base64);

/// True for Cilium's supported table sizes:
/// 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071.
bool valid_maglev_size(uint32_t m) noexcept;

/// L4 protocol names as Cilium writes them into the hash string.
enum class MaglevL4 : uint8_t { tcp, udp, sctp, any };

/// Cilium's hash string for an IPv4 backend, e.g. "[10.0.0.1:8080/TCP,State:active]".
/// `internal_scope` appends "/i" (ScopeInternal L3n4Addr); `cluster_id` != 0
/// writes the address as Cilium's AddrCluster does ("10.0.0.1@7").
std::string maglev_backend_hash_string(Ipv4Addr ip, uint16_t port, MaglevL4 proto,
                                       bool internal_scope = false, uint32_t cluster_id = 0);

/// MurmurHash3_x64_128 as Cilium's pkg/murmur3 computes it (little-endian
/// block reads); returns {h1, h2}.
struct Murmur3Hash128 { uint64_t h1; uint64_t h2; };
Murmur3Hash128 murmur3_x64_128(std::string_view data, uint32_t seed) noexcept;

/// Builds the table: m backend ids, one per slot, exactly as Cilium's
/// Maglev.GetLookupTable fills it for the same backends (order of the input
/// does not matter: backends are sorted by hash string first).
///  - No backends: returns an empty table. Cilium never builds one then; it
///    deletes the service's Maglev map and the datapath drops new flows
///    (DROP_NO_SERVICE).
///  - Weights are honoured only when sum(weights) / N > 1 (integer division),
///    as in Cilium; otherwise every backend gets an equal share.
///  - A zero-weight backend is not skipped here (Cilium's table function does
///    not skip it either): with weights in use it gets exactly one slot, without
///    them an equal share. Pass only the backends Cilium would pass (the
///    active ones, or the terminating ones when none is active).
/// Errors: m not a supported size; two backends with the same hash string.
Result<std::vector<uint32_t>> build_maglev_table(std::span<const MaglevBackend> backends,
                                                 uint32_t m, const MaglevSeed& seed);

/// The datapath's IPv4 flow hash for Maglev (Cilium __hash_from_tuple_v4 as
/// called by lb4_select_backend_id_maglev):
///   jhash_3words(A, (D << 16) | S, proto, seed.jhash_v4)
/// where A is the source address's four wire bytes read as a little-endian
/// u32 (i.e. the __be32 as an x86/arm64 BPF program sees it), S and D are the
/// source and destination ports' two wire bytes read as little-endian u16
/// (i.e. byte-swapped host-order ports). `saddr` is in network order (as
/// Ipv4Addr always is); `sport`/`dport` are host order; `sport` is the client's
/// port and `dport` the service port. For a service with session affinity
/// Cilium hashes with sport = 0: pass 0. The destination address is not hashed.
uint32_t maglev_flow_hash_v4(Ipv4Addr saddr, uint16_t sport, uint16_t dport, uint8_t proto,
                             const MaglevSeed& seed) noexcept;

/// The slot index the datapath reads: maglev_flow_hash_v4(...) % m.
/// `daddr` is accepted for the call site's convenience but, as in Cilium
/// ("daddr is explicitly excluded ... to choose the same backend even on
/// different service VIPs"), does not enter the hash. m must be non-zero.
uint32_t maglev_slot_for_flow(Ipv4Addr saddr, Ipv4Addr daddr, uint16_t sport, uint16_t dport,
                              uint8_t proto, uint32_t m, const MaglevSeed& seed) noexcept;

} // namespace podlane
