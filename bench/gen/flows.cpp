#include "flows.h"

#include <cstring>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_geneve.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#include "marker.h"

namespace podlane::gen {
namespace {

constexpr uint16_t kEncapLen = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr) + 8;
static_assert(kEncapLen == 50);

void write_ipv4(uint8_t* p, uint32_t src, uint32_t dst, uint8_t proto, uint16_t total_len) {
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p);
  memset(ip, 0, sizeof *ip);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = rte_cpu_to_be_16(total_len);
  ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
  ip->time_to_live = 64;
  ip->next_proto_id = proto;
  ip->src_addr = rte_cpu_to_be_32(src);
  ip->dst_addr = rte_cpu_to_be_32(dst);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
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
    uint8_t* p = out.bytes.data() + size_t{f} * out.stride;
    const Tuple t = flow_tuple(o, f);
    uint8_t* inner = p + outer;

    auto* eth = reinterpret_cast<rte_ether_hdr*>(inner);
    eth->src_addr = encap ? o.inner_src_mac : smac;
    eth->dst_addr = encap ? o.inner_dst_mac : o.dst_mac;
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    const uint16_t ip_len = static_cast<uint16_t>(inner_len - sizeof(rte_ether_hdr));
    write_ipv4(inner + sizeof(rte_ether_hdr), t.src_ip, t.dst_ip, tcp ? IPPROTO_TCP : IPPROTO_UDP, ip_len);
    uint8_t* l4 = inner + sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr);
    if (tcp) {
      auto* th = reinterpret_cast<rte_tcp_hdr*>(l4);
      th->src_port = rte_cpu_to_be_16(t.src_port);
      th->dst_port = rte_cpu_to_be_16(t.dst_port);
      th->sent_seq = rte_cpu_to_be_32(0x10000000u + f);
      th->recv_ack = o.proto == Proto::tcp_syn ? 0 : rte_cpu_to_be_32(1);
      th->data_off = (sizeof(rte_tcp_hdr) / 4) << 4;
      th->tcp_flags = o.proto == Proto::tcp_syn ? RTE_TCP_SYN_FLAG : RTE_TCP_ACK_FLAG;
      th->rx_win = rte_cpu_to_be_16(65535);
    } else {
      auto* uh = reinterpret_cast<rte_udp_hdr*>(l4);
      uh->src_port = rte_cpu_to_be_16(t.src_port);
      uh->dst_port = rte_cpu_to_be_16(t.dst_port);
      uh->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(ip_len - sizeof(rte_ipv4_hdr)));
      uh->dgram_cksum = 0;
    }
    Marker m{kMagic, f, 0};
    memcpy(p + out.marker_off, &m, sizeof m);

    if (encap) {
      auto* oeth = reinterpret_cast<rte_ether_hdr*>(p);
      oeth->src_addr = smac;
      oeth->dst_addr = o.dst_mac;
      oeth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
      const uint16_t outer_ip_len = static_cast<uint16_t>(len - sizeof(rte_ether_hdr));
      write_ipv4(p + sizeof(rte_ether_hdr), o.outer_src, o.outer_dst, IPPROTO_UDP, outer_ip_len);
      auto* ou = reinterpret_cast<rte_udp_hdr*>(p + sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr));
      // Outer source port from the inner flow, as RFC 7348 suggests, for ECMP/RSS.
      ou->src_port = rte_cpu_to_be_16(static_cast<uint16_t>(49152 + (t.src_port ^ t.src_ip ^ (f * 2654435761u >> 16)) % 16384));
      ou->dst_port = rte_cpu_to_be_16(tport);
      ou->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(outer_ip_len - sizeof(rte_ipv4_hdr)));
      ou->dgram_cksum = 0;
      uint8_t* th = reinterpret_cast<uint8_t*>(ou + 1);
      if (o.encap == Encap::vxlan) {
        auto* vx = reinterpret_cast<rte_vxlan_hdr*>(th);
        vx->vx_flags = rte_cpu_to_be_32(0x08000000);
        vx->vx_vni = rte_cpu_to_be_32(o.vni << 8);
      } else {
        auto* gn = reinterpret_cast<rte_geneve_hdr*>(th);
        gn->ver = 0;
        gn->opt_len = 0;
        gn->proto = rte_cpu_to_be_16(RTE_ETHER_TYPE_TEB);
        gn->vni[0] = static_cast<uint8_t>(o.vni >> 16);
        gn->vni[1] = static_cast<uint8_t>(o.vni >> 8);
        gn->vni[2] = static_cast<uint8_t>(o.vni);
      }
    }
  }
  return {};
}

}  // namespace podlane::gen
