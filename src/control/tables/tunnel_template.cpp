#include "control/tables/tunnel_template.h"

#include <rte_ip.h>

namespace podlane {

OuterHdrs tunnel_template(const UplinkView& up, Ipv4Addr remote, const MacAddr& remote_mac) noexcept {
    OuterHdrs o{};
    __builtin_memcpy(o.eth.dst_addr.addr_bytes, remote_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    __builtin_memcpy(o.eth.src_addr.addr_bytes, up.node_mac.bytes.data(), RTE_ETHER_ADDR_LEN);
    o.eth.ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    o.ip.version_ihl = RTE_IPV4_VHL_DEF;
    o.ip.packet_id = 0; // atomic datagram (RFC 6864): DF set, never fragmented
    o.ip.fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
    o.ip.time_to_live = 64;
    o.ip.next_proto_id = IPPROTO_UDP;
    o.ip.src_addr = up.node_ip.be;
    o.ip.dst_addr = remote.be;
    // The ones' complement of the header's folded sum (RFC 791).
    o.ip.hdr_checksum = static_cast<rte_be16_t>(~rte_raw_cksum(&o.ip, sizeof o.ip));
    o.udp.dst_port = up.tunnel_port_be;
    o.udp.dgram_cksum = 0; // allowed for both over IPv4 (RFC 7348 5, RFC 8926 3.3)
    const bool geneve = up.routing == Routing::Geneve;
    o.tun.b0 = geneve ? 0 : kVxlanFlagVni;
    o.tun.proto = geneve ? RTE_BE16(kGenevePtypeEthernet) : 0;
    return o;
}

} // namespace podlane
