// Prebuilt frames: one template per flow, so sending is a copy plus a few
// stores. Templates carry correct IPv4 header checksums (inner and outer);
// UDP checksums are 0, TCP checksums are completed per packet (the payload
// carries a fresh TSC).
#pragma once

#include <cstdint>
#include <vector>

#include "options.h"

namespace podlane::gen {

/// All flows' frames laid out back to back, `stride` bytes apart.
struct FlowTemplates {
  std::vector<uint8_t> bytes;
  uint32_t stride = 0;
  uint32_t count = 0;
  uint16_t frame_len = 0;    ///< every template has this length
  uint16_t marker_off = 0;   ///< where the marker goes in each frame
  uint16_t l3_off = 0;       ///< offset of the (inner) IPv4 header
  uint16_t l4_off = 0;       ///< offset of the (inner) TCP/UDP header
  bool tcp = false;

  const uint8_t* frame(uint32_t flow) const { return bytes.data() + size_t{flow} * stride; }
};

/// Builds the templates of `o.flows` flows. Returns an error text or empty.
std::string build_templates(const Options& o, const rte_ether_addr& port_mac, FlowTemplates& out);

/// The 5-tuple of flow `i` (host order), as build_templates enumerates them.
struct Tuple {
  uint32_t src_ip, dst_ip;
  uint16_t src_port, dst_port;
};
Tuple flow_tuple(const Options& o, uint32_t i);

}  // namespace podlane::gen
