// The 16 bytes every generated packet carries in its payload: a magic word,
// the flow id and the TSC at transmit. The receiver scans the frame for the
// magic, so it finds the marker whatever headers were added, removed or
// rewritten on the way (NAT, VXLAN/Geneve encapsulation or decapsulation).
#pragma once

#include <cstdint>
#include <cstring>

namespace podlane::gen {

inline constexpr uint32_t kMagic = 0x474e4c50;  ///< "PLNG" in memory order

struct Marker {
  uint32_t magic;
  uint32_t flow;
  uint64_t tsc;
};
static_assert(sizeof(Marker) == 16);

/// Finds a marker in `data[0..len)`: the last place it can be is tried first
/// (the payload is at the end of a generated frame), then every byte
/// position. Returns false when there is none, or when it is implausible
/// (flow id beyond `flows`, a TSC in the future).
inline bool find_marker(const uint8_t* data, uint32_t len, uint32_t tail, uint32_t flows, uint64_t now,
                        Marker& m) noexcept {
  if (len < sizeof(Marker)) return false;
  auto check = [&](uint32_t off) {
    uint32_t w;
    memcpy(&w, data + off, 4);
    if (w != kMagic) return false;
    memcpy(&m, data + off, sizeof m);
    return m.flow < flows && m.tsc <= now;
  };
  // Generated frames put the marker `tail` bytes before the end.
  if (len >= tail && check(len - tail)) return true;
  for (uint32_t off = 0; off + sizeof(Marker) <= len; ++off)
    if (check(off)) return true;
  return false;
}

}  // namespace podlane::gen
