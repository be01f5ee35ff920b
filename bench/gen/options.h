// podlane-gen's command line: what traffic to build, where to send it, how
// long and how fast. Parsed once at start; the hot path only reads it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <rte_ether.h>

namespace podlane::gen {

/// An inclusive range of host-order values (addresses or ports).
struct Range {
  uint32_t lo = 0;
  uint32_t hi = 0;
  uint64_t size() const { return uint64_t{hi} - lo + 1; }
};

/// What each generated packet is.
enum class Proto { udp, tcp_ack, tcp_syn };
/// Optional encapsulation around every generated packet.
enum class Encap { none, vxlan, geneve };

struct Options {
  std::vector<std::string> ports;      ///< devargs hot-plugged at start
  unsigned tx_port = 0;                ///< index into ports; rx polls them all
  unsigned queues = 1;                 ///< rx/tx queue pairs per port
  unsigned rx_queues = 0;              ///< rx queues per port when more than `queues` (0: `queues`)
  unsigned rx_queue_count() const { return rx_queues > queues ? rx_queues : queues; }
  unsigned link_timeout_s = 10;        ///< how long the ports' links may take to come up
  bool tx_enabled = true;
  bool expect_rx = true;               ///< exit non-zero when nothing comes back

  Proto proto = Proto::udp;
  uint32_t flows = 1;
  Range src_ip{0x0ac80002, 0x0ac80002};  ///< 10.200.0.2
  Range dst_ip{0x0ac80003, 0x0ac80003};  ///< 10.200.0.3
  Range src_port{1024, 65535};
  Range dst_port{5001, 5001};
  uint16_t frame_size = 60;            ///< L2 bytes without FCS (60 = a 64-byte frame on the wire)
  std::optional<rte_ether_addr> src_mac; ///< default: the tx port's MAC
  rte_ether_addr dst_mac{{0x02, 0, 0, 0, 0, 0x02}};

  Encap encap = Encap::none;
  uint32_t vni = 1;
  uint16_t tunnel_port = 0;            ///< 0: 8472 for VXLAN, 6081 for Geneve
  uint32_t outer_src = 0xc0a83202;     ///< 192.168.50.2
  uint32_t outer_dst = 0xc0a83201;     ///< 192.168.50.1
  rte_ether_addr inner_src_mac{{0x0a, 0x58, 0, 0, 0, 0x01}};
  rte_ether_addr inner_dst_mac{{0x0a, 0x58, 0, 0, 0, 0x02}};

  std::vector<uint32_t> arp_ips;       ///< answer ARP requests for these (host order)
  uint32_t resolve_ip = 0;             ///< ARP for it on the tx port; the answer becomes dst_mac

  uint64_t rate_pps = 0;               ///< 0: as fast as possible
  uint64_t count = 0;                  ///< stop after this many packets (0: by time)
  double warmup_s = 1.0;
  double duration_s = 5.0;             ///< measurement window after the warm-up
  unsigned burst = 32;
  uint32_t mbufs = 32767;
  std::string json_path;
  bool quiet = false;
};

/// Parses gen's own options (after EAL's). Returns an error text, or empty on
/// success; `help` is set when --help was asked.
std::string parse_options(int argc, char** argv, Options& out, bool& help);

/// The --help text.
const char* usage();

std::string ip_to_string(uint32_t host_order);

}  // namespace podlane::gen
