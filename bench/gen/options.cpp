#include "options.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace podlane::gen {
namespace {

bool parse_u64(const char* s, uint64_t& v) {
  char* end = nullptr;
  errno = 0;
  unsigned long long x = strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || s[0] == '-') return false;
  v = x;
  return true;
}

bool parse_ip(const std::string& s, uint32_t& v) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
  v = ntohl(a.s_addr);
  return true;
}

// "A" or "A-B" of addresses or ports.
bool parse_range(const std::string& s, Range& r, bool ip) {
  auto dash = s.find('-');
  std::string a = s.substr(0, dash), b = dash == std::string::npos ? a : s.substr(dash + 1);
  if (ip) {
    if (!parse_ip(a, r.lo) || !parse_ip(b, r.hi)) return false;
  } else {
    uint64_t lo = 0, hi = 0;
    if (!parse_u64(a.c_str(), lo) || !parse_u64(b.c_str(), hi) || lo == 0 || hi > 65535) return false;
    r.lo = static_cast<uint32_t>(lo);
    r.hi = static_cast<uint32_t>(hi);
  }
  return r.lo <= r.hi;
}

bool parse_mac(const char* s, rte_ether_addr& m) { return rte_ether_unformat_addr(s, &m) == 0; }

bool parse_double(const char* s, double& v) {
  char* end = nullptr;
  v = strtod(s, &end);
  return end != s && *end == '\0' && v >= 0;
}

}  // namespace

std::string ip_to_string(uint32_t host_order) {
  in_addr a{htonl(host_order)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

const char* usage() {
  return R"(podlane-gen: a DPDK traffic generator for podlane's benchmarks and CI.

usage: podlane-gen [EAL args --] OPTIONS
  Without EAL args it runs with --no-pci --no-huge -m 512 -l 0 and its own
  file prefix. One lcore sends and receives on every port.

ports
  --port DEVARGS        a DPDK port to hot-plug (repeatable): net_virtio_user0,path=S
                        net_memif0,socket=S  net_af_packet0,iface=IF  net_tap0
                        net_ring0,nodeaction=r0:0:CREATE (a loopback)
  --tx-port N           send on the N-th --port (default 0); every port is received
  --queues Q            queue pairs per port (default 1); tx spreads flows over them
  --rx-queues R         rx queues per port, at least Q (default Q): a memif client
                        that transmits on more queues than it receives (OVS: one
                        tx queue per PMD thread and one more) needs R of them
  --link-timeout S      wait up to S seconds for every port's link (default 10): the
                        time a peer has to connect to the generator's server sockets
  --no-tx               only receive (a sink)
  --no-rx-check         do not fail when nothing is received
  --arp-reply IP[,IP..] answer ARP requests for these addresses with the port's MAC
  --resolve IP          before sending, ARP for IP on the tx port (asking as the first
                        --arp-reply address) and send to the MAC that answers

traffic
  --proto udp|tcp|syn   UDP datagrams, TCP ACK segments of established flows, or TCP
                        SYNs over the flows' destinations, the source port (then
                        address) advancing after each round of them: every packet
                        is a new connection until flows x ports x addresses wrap
  --flows N             distinct 5-tuples (default 1), enumerated source port first,
                        then source IP, destination IP, destination port
  --src-ip A[-B]        source address range (default 10.200.0.2)
  --dst-ip A[-B]        destination range; a service VIP is one address (default 10.200.0.3)
  --src-port P[-Q]      (default 1024-65535)
  --dst-port P[-Q]      (default 5001)
  --size BYTES          frame length without FCS (default 60: 64 bytes on the wire)
  --src-mac MAC         (default: the tx port's MAC)  --dst-mac MAC (default 02:00:00:00:00:02)
  --encap vxlan|geneve  wrap every packet; the options below set the outer headers
  --vni N  --tunnel-port P  --outer-src IP  --outer-dst IP  --inner-src-mac MAC  --inner-dst-mac MAC

timing
  --rate PPS            cap the send rate (default 0: unlimited)
  --count N             send N packets, then stop (overrides --duration)
  --warmup S            seconds before the measurement window (default 1)
  --duration S          measurement window in seconds (default 5)
  --burst N             packets per burst (default 32)
  --mbufs N             mbufs in the pool (default 32767)

output
  --json FILE           write the results as JSON
  --quiet               no progress lines

Every packet carries a 16-byte marker (magic, flow id, TSC) in its payload; the
receiver finds it anywhere in the frame, so packets that come back NATed or
encapsulated are matched too. Loss = sent - marked packets received.
Exit status: 0 ok, 1 usage, 2 setup failure, 3 nothing received.
)";
}

std::string parse_options(int argc, char** argv, Options& o, bool& help) {
  help = false;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    auto need = [&](const char*& v) -> bool {
      if (i + 1 >= argc) return false;
      v = argv[++i];
      return true;
    };
    const char* v = nullptr;
    uint64_t n = 0;
    auto bad = [&](const char* what) { return a + ": " + (v ? std::string("\"") + v + "\" " : "") + what; };
    if (a == "--help" || a == "-h") { help = true; return {}; }
    if (a == "--no-tx") { o.tx_enabled = false; continue; }
    if (a == "--no-rx-check") { o.expect_rx = false; continue; }
    if (a == "--quiet") { o.quiet = true; continue; }
    if (!need(v)) return a == "" ? "empty option" : (a.rfind("--", 0) == 0 ? a + ": missing value" : "unknown argument " + a);
    if (a == "--port") o.ports.emplace_back(v);
    else if (a == "--tx-port") { if (!parse_u64(v, n)) return bad("expected an index"); o.tx_port = static_cast<unsigned>(n); }
    else if (a == "--queues") { if (!parse_u64(v, n) || n < 1 || n > 16) return bad("expected 1..16"); o.queues = static_cast<unsigned>(n); }
    else if (a == "--link-timeout") { if (!parse_u64(v, n) || n < 1 || n > 600) return bad("expected 1..600 seconds"); o.link_timeout_s = static_cast<unsigned>(n); }
    else if (a == "--rx-queues") { if (!parse_u64(v, n) || n < 1 || n > 16) return bad("expected 1..16"); o.rx_queues = static_cast<unsigned>(n); }
    else if (a == "--proto") {
      std::string p = v;
      if (p == "udp") o.proto = Proto::udp;
      else if (p == "tcp") o.proto = Proto::tcp_ack;
      else if (p == "syn") o.proto = Proto::tcp_syn;
      else return bad("expected udp, tcp or syn");
    }
    else if (a == "--flows") { if (!parse_u64(v, n) || n < 1 || n > 16777216) return bad("expected 1..16777216"); o.flows = static_cast<uint32_t>(n); }
    else if (a == "--src-ip") { if (!parse_range(v, o.src_ip, true)) return bad("expected A.B.C.D or A.B.C.D-E.F.G.H"); }
    else if (a == "--dst-ip") { if (!parse_range(v, o.dst_ip, true)) return bad("expected A.B.C.D or A.B.C.D-E.F.G.H"); }
    else if (a == "--src-port") { if (!parse_range(v, o.src_port, false)) return bad("expected P or P-Q in 1..65535"); }
    else if (a == "--dst-port") { if (!parse_range(v, o.dst_port, false)) return bad("expected P or P-Q in 1..65535"); }
    else if (a == "--size") { if (!parse_u64(v, n) || n < 60 || n > 1514) return bad("expected 60..1514"); o.frame_size = static_cast<uint16_t>(n); }
    else if (a == "--src-mac") { rte_ether_addr m; if (!parse_mac(v, m)) return bad("expected a MAC"); o.src_mac = m; }
    else if (a == "--dst-mac") { if (!parse_mac(v, o.dst_mac)) return bad("expected a MAC"); }
    else if (a == "--inner-src-mac") { if (!parse_mac(v, o.inner_src_mac)) return bad("expected a MAC"); }
    else if (a == "--inner-dst-mac") { if (!parse_mac(v, o.inner_dst_mac)) return bad("expected a MAC"); }
    else if (a == "--encap") {
      std::string e = v;
      if (e == "vxlan") o.encap = Encap::vxlan;
      else if (e == "geneve") o.encap = Encap::geneve;
      else if (e == "none") o.encap = Encap::none;
      else return bad("expected vxlan, geneve or none");
    }
    else if (a == "--vni") { if (!parse_u64(v, n) || n > 0xffffff) return bad("expected 0..16777215"); o.vni = static_cast<uint32_t>(n); }
    else if (a == "--tunnel-port") { if (!parse_u64(v, n) || n < 1 || n > 65535) return bad("expected 1..65535"); o.tunnel_port = static_cast<uint16_t>(n); }
    else if (a == "--outer-src") { if (!parse_ip(v, o.outer_src)) return bad("expected an IPv4 address"); }
    else if (a == "--outer-dst") { if (!parse_ip(v, o.outer_dst)) return bad("expected an IPv4 address"); }
    else if (a == "--arp-reply") {
      std::string s = v;
      size_t pos = 0;
      while (pos <= s.size()) {
        size_t c = s.find(',', pos);
        uint32_t ip = 0;
        if (!parse_ip(s.substr(pos, c - pos), ip)) return bad("expected IP[,IP...]");
        o.arp_ips.push_back(ip);
        if (c == std::string::npos) break;
        pos = c + 1;
      }
    }
    else if (a == "--resolve") { if (!parse_ip(v, o.resolve_ip)) return bad("expected an IPv4 address"); }
    else if (a == "--rate") { if (!parse_u64(v, o.rate_pps)) return bad("expected packets per second"); }
    else if (a == "--count") { if (!parse_u64(v, o.count)) return bad("expected a packet count"); }
    else if (a == "--warmup") { if (!parse_double(v, o.warmup_s)) return bad("expected seconds"); }
    else if (a == "--duration") { if (!parse_double(v, o.duration_s) || o.duration_s <= 0) return bad("expected seconds > 0"); }
    else if (a == "--burst") { if (!parse_u64(v, n) || n < 1 || n > 64) return bad("expected 1..64"); o.burst = static_cast<unsigned>(n); }
    else if (a == "--mbufs") { if (!parse_u64(v, n) || n < 1023) return bad("expected at least 1023"); o.mbufs = static_cast<uint32_t>(n); }
    else if (a == "--json") o.json_path = v;
    else return "unknown option " + a + " (see --help)";
  }
  if (o.ports.empty()) return "no --port given (see --help)";
  if (o.tx_port >= o.ports.size()) return "--tx-port " + std::to_string(o.tx_port) + ": only " + std::to_string(o.ports.size()) + " ports";
  if (o.rx_queues != 0 && o.rx_queues < o.queues) return "--rx-queues " + std::to_string(o.rx_queues) + ": fewer than --queues " + std::to_string(o.queues);
  return {};
}

}  // namespace podlane::gen
