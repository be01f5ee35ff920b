// Linux's jhash_3words (include/linux/jhash.h, the same as Cilium's
// bpf/lib/jhash.h): the workers hash flows with it for Maglev
// (dataplane/flow_hash.h) and control builds Maglev tables with it
// (control/tables/maglev.cpp), so both sides share this one copy.
#pragma once

#include <cstdint>

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

} // namespace podlane
