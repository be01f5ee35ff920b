// Internet checksum helpers (RFC 1071, RFC 1624) for the hot path.
#pragma once

#include <cstdint>

#include <rte_byteorder.h>
#include <rte_ip.h>

namespace podlane {

/// The checksum `csum` becomes after one 16-bit word changed from `old_word`
/// to `new_word` (all values as stored, network byte order): RFC 1624 eqn. 3,
/// HC' = ~(~HC + ~m + m'), which never produces the -0 that RFC 1141's
/// shortcut can.
[[nodiscard]] inline rte_be16_t csum_replace16(rte_be16_t csum, rte_be16_t old_word, rte_be16_t new_word) noexcept {
    uint32_t sum = static_cast<uint16_t>(~csum) + static_cast<uint16_t>(~old_word) + uint32_t{new_word};
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<rte_be16_t>(~sum);
}

/// The change to a one's complement sum when a 16-bit field goes from
/// `old_word` to `new_word` (as stored): ~m + m', unfolded. Deltas of several
/// fields add up; csum_apply_delta() applies their sum to a checksum.
inline uint32_t csum_delta16(rte_be16_t old_word, rte_be16_t new_word) noexcept {
    return uint32_t{static_cast<uint16_t>(~old_word)} + new_word;
}

/// csum_delta16() for a 32-bit field (an IPv4 address): both its 16-bit words.
inline uint32_t csum_delta32(rte_be32_t old_v, rte_be32_t new_v) noexcept {
    const uint32_t o = ~old_v;
    return (o & 0xffff) + (o >> 16) + (new_v & 0xffff) + (new_v >> 16);
}

/// The checksum `csum` becomes after the changes summed in `delta` (at most a
/// few thousand csum_delta16/32 terms): RFC 1624 eqn. 3, HC' = ~(~HC + delta).
[[nodiscard]] inline rte_be16_t csum_apply_delta(rte_be16_t csum, uint32_t delta) noexcept {
    uint32_t sum = static_cast<uint16_t>(~csum) + delta;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<rte_be16_t>(~sum);
}

/// The 16-bit word holding TTL and protocol, as stored in the header.
inline rte_be16_t ttl_proto_word(const rte_ipv4_hdr* ip) noexcept {
    rte_be16_t w;
    __builtin_memcpy(&w, &ip->time_to_live, 2);
    return w;
}

/// Decrements TTL and patches the header checksum incrementally.
inline void ipv4_decrement_ttl(rte_ipv4_hdr* ip) noexcept {
    rte_be16_t before = ttl_proto_word(ip);
    --ip->time_to_live;
    ip->hdr_checksum = csum_replace16(ip->hdr_checksum, before, ttl_proto_word(ip));
}

/// The one's complement sum of a 20-byte IPv4 header, folded to 16 bits.
__attribute__((always_inline)) inline uint16_t ipv4_sum20(const rte_ipv4_hdr* ip) noexcept {
    uint32_t w[5];
    __builtin_memcpy(w, ip, sizeof w);
    uint64_t sum = uint64_t{w[0]} + w[1] + w[2] + w[3] + w[4];
    sum = (sum & 0xffffffff) + (sum >> 32);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

/// The checksum for a 20-byte IPv4 header whose checksum field is zero.
inline rte_be16_t ipv4_header_checksum(const rte_ipv4_hdr* ip) noexcept {
    return static_cast<rte_be16_t>(~ipv4_sum20(ip));
}

/// True if the IPv4 header (of `hdr_len` bytes) carries a valid checksum.
/// The common 20-byte header is summed as five 32-bit words.
[[gnu::always_inline]] inline bool ipv4_checksum_ok(const rte_ipv4_hdr* ip, uint32_t hdr_len) noexcept {
    if (hdr_len != sizeof(rte_ipv4_hdr))
        return rte_raw_cksum(ip, hdr_len) == 0xffff;
    return ipv4_sum20(ip) == 0xffff;
}

} // namespace podlane
