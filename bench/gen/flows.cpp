#include "flows.h"

#include <cstring>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "frame_builder.h"
#include "marker.h"

namespace podlane::gen {
namespace {

using test::kEncapLen;
static_assert(kEncapLen == 50);

MacAddr mac(const rte_ether_addr& e) {
  MacAddr m;
  memcpy(m.bytes.data(), e.addr_bytes, 6);
  return m;
}

}  // namespace

Tuple flow_tuple(const Options& o, uint32_t i) {
  uint64_t r = i;
  Tuple t{};
  t.src_port = static_cast<uint16_t>(o.src_port.lo + r % o.src_port.size());
  r /= o.src_port.size();
  t.src_ip = static_cast<uint32_t>(o.src_ip.lo + r % o.src_ip.size());
  r /= o.src_ip.size();
  t.dst_ip = static_cast<uint32_t>(o.dst_ip.lo + r % o.dst_ip.size());
  r /= o.dst_ip.size();
  t.dst_port = static_cast<uint16_t>(o.dst_port.lo + r % o.dst_port.size());
  return t;
}

std::string build_templates(const Options& o, const rte_ether_addr& port_mac, FlowTemplates& out) {
  const bool encap = o.encap != Encap::none;
  const bool tcp = o.proto != Proto::udp;
  const uint16_t outer = encap ? kEncapLen : 0;
  const uint16_t l4_len = tcp ? sizeof(rte_tcp_hdr) : sizeof(rte_udp_hdr);
  const uint16_t headers = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + l4_len;
  // The frame size is the inner frame's (the generated pod's frame); the
  // encapsulation adds its 50 bytes on top.
  uint16_t inner_len = o.frame_size;
  if (inner_len < headers + sizeof(Marker)) inner_len = headers + sizeof(Marker);
  const uint16_t len = static_cast<uint16_t>(outer + inner_len);
  if (len > 1514 + kEncapLen) return "frame too large";

  out.count = o.flows;
  out.frame_len = len;
  out.stride = (len + 63u) & ~63u;
  out.l3_off = static_cast<uint16_t>(outer + sizeof(rte_ether_hdr));
  out.l4_off = static_cast<uint16_t>(out.l3_off + sizeof(rte_ipv4_hdr));
  out.marker_off = static_cast<uint16_t>(len - sizeof(Marker));
  out.tcp = tcp;
  out.bytes.assign(size_t{out.stride} * out.count, 0);

  const rte_ether_addr smac = o.src_mac.value_or(port_mac);
  const uint16_t tport = o.tunnel_port ? o.tunnel_port : (o.encap == Encap::geneve ? 6081 : 8472);
  for (uint32_t f = 0; f < out.count; ++f) {
    const Tuple t = flow_tuple(o, f);
    // UDP checksums stay 0; the TCP one is completed per packet (engine.cpp).
    std::vector<uint8_t> frame = test::ipv4_frame({
        .src_mac = mac(encap ? o.inner_src_mac : smac),
        .dst_mac = mac(encap ? o.inner_dst_mac : o.dst_mac),
        .src = Ipv4Addr::from_host(t.src_ip),
        .dst = Ipv4Addr::from_host(t.dst_ip),
        .proto = static_cast<uint8_t>(tcp ? IPPROTO_TCP : IPPROTO_UDP),
        .payload = static_cast<uint16_t>(inner_len - headers),
        .frag_off = RTE_IPV4_HDR_DF_FLAG,
        .packet_id = 0,
        .sport = t.src_port,
        .dport = t.dst_port,
        .tcp_flags = static_cast<uint8_t>(o.proto == Proto::tcp_syn ? RTE_TCP_SYN_FLAG : RTE_TCP_ACK_FLAG),
        .tcp_seq = 0x10000000u + f,
        .tcp_ack = 1,
        .l4_checksum = false,
    });
    if (encap)
      frame = test::encapsulate({
          .kind = o.encap == Encap::vxlan ? test::TunnelKind::Vxlan : test::TunnelKind::Geneve,
          .src_mac = mac(smac),
          .dst_mac = mac(o.dst_mac),
          .src = Ipv4Addr::from_host(o.outer_src),
          .dst = Ipv4Addr::from_host(o.outer_dst),
          // Outer source port from the inner flow, as RFC 7348 suggests, for ECMP/RSS.
          .sport = static_cast<uint16_t>(49152 + (t.src_port ^ t.src_ip ^ (f * 2654435761u >> 16)) % 16384),
          .dport = tport,
          .vni = o.vni,
          .frag_off = RTE_IPV4_HDR_DF_FLAG,
      }, frame);
    uint8_t* p = out.bytes.data() + size_t{f} * out.stride;
    memcpy(p, frame.data(), frame.size());
    Marker m{kMagic, f, 0};
    memcpy(p + out.marker_off, &m, sizeof m);
  }
  return {};
}

}  // namespace podlane::gen
