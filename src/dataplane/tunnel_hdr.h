// On-the-wire layout of the tunnel headers podlane writes: outer Ethernet,
// IPv4, UDP, and the 8-byte VXLAN (RFC 7348) or option-less Geneve (RFC 8926)
// header.
#pragma once

#include <cstdint>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

namespace podlane {

/// The 8-byte header both protocols share in podlane's use: VXLAN flags
/// (I bit) or Geneve version/option length, protocol, and the VNI.
struct TunnelHdr {
    uint8_t b0;        ///< VXLAN: flags (0x08 = VNI valid); Geneve: version (2 bits) | option length in 4-byte words (6)
    uint8_t b1;        ///< Geneve: O and C bits; VXLAN: reserved
    rte_be16_t proto;  ///< Geneve: inner protocol (0x6558, Ethernet); VXLAN: reserved
    uint8_t vni[3];
    uint8_t reserved;
};
static_assert(sizeof(TunnelHdr) == 8);

inline constexpr uint8_t kVxlanFlagVni = 0x08;
inline constexpr uint16_t kGenevePtypeEthernet = 0x6558;
inline constexpr uint8_t kGeneveCriticalBit = 0x40;

/// The headers an encapsulated packet starts with.
struct OuterHdrs {
    rte_ether_hdr eth;
    rte_ipv4_hdr ip;
    rte_udp_hdr udp;
    TunnelHdr tun;
} __attribute__((packed, aligned(2)));
static_assert(sizeof(OuterHdrs) == 50);

/// Cilium's Geneve option for DSR over IPv4 (bpf/lib/geneve.h): option
/// class 0x014B, type 0x01, two 4-byte words of data carrying the service
/// address and port, so the backend's node can reply as the service.
inline constexpr uint16_t kGeneveOptClassCilium = 0x014B;
inline constexpr uint8_t kGeneveOptTypeDsr4 = 0x01;
struct GeneveDsrOpt {
    rte_be16_t opt_class;
    uint8_t type;
    uint8_t length;     ///< 3 reserved bits | data length in 4-byte words (2)
    rte_be32_t addr;    ///< service address
    rte_be16_t port;    ///< service port
    uint16_t pad;
};
static_assert(sizeof(GeneveDsrOpt) == 12);

/// Bytes a tunnel adds.
inline constexpr uint16_t kTunnelOverhead = sizeof(OuterHdrs);

} // namespace podlane
