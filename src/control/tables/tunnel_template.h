// The outer headers of a tunnel to one remote node, built by the control side
// when it publishes a snapshot; the workers copy them in front of each packet
// and fill in the per-packet fields (dataplane/tunnel.h, tunnel_encap).
#pragma once

#include "common/net_types.h"
#include "dataplane/snapshot.h"

namespace podlane {

/// The outer headers to `remote` (Ethernet to `remote_mac`, IPv4 from the
/// node IP, UDP to the tunnel port, the VXLAN or Geneve header) with
/// everything that does not vary per packet filled in: total length 0 and
/// the IPv4 checksum over that, which tunnel_encap patches for the length.
OuterHdrs tunnel_template(const UplinkView& up, Ipv4Addr remote, const MacAddr& remote_mac) noexcept;

} // namespace podlane
