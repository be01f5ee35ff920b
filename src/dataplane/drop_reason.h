// Why the dataplane dropped a packet. One source of truth: the X-macro list
// gives both the enum and the stable names shown by `podlane stats` and the
// metrics. Values are stable; a retired reason keeps its slot.
#pragma once

#include <cstdint>
#include <string_view>

namespace podlane {

#define PODLANE_FOREACH_DROP_REASON(X)                                                        \
    X(Malformed, "malformed", "truncated or invalid Ethernet/IPv4/ARP header")               \
    X(BadIpChecksum, "bad_ip_checksum", "IPv4 header checksum does not verify")              \
    X(UnsupportedEthertype, "unsupported_ethertype", "not IPv4 or ARP (e.g. IPv6, VLAN)")    \
    X(UnknownDestination, "unknown_destination", "no endpoint or route for the destination") \
    X(TtlExceeded, "ttl_exceeded", "TTL reached zero")                                       \
    X(NoNeighbour, "no_neighbour", "next hop MAC unknown")                                   \
    X(TxFull, "tx_full", "tx queue full: the port did not take the packet")                  \
    X(InvalidSource, "invalid_source", "source IP is not the IP of the sending endpoint")    \
    X(ArpNotForUs, "arp_not_for_us", "ARP request for an address podlane does not own")      \
    X(ArpUnsupported, "arp_unsupported", "ARP other than an Ethernet/IPv4 request")          \
    X(HostUnsupported, "host_unsupported", "to the gateway IP, but not an ICMP echo request") \
    X(UnknownPort, "unknown_port", "received on a port the current table does not know")    \
    X(FragmentToHost, "fragment_to_host", "fragmented packet addressed to the gateway")        \
    X(BadTunnel, "bad_tunnel", "malformed or unsupported VXLAN/Geneve encapsulation")         \
    X(TooBig, "too_big", "larger than the path MTU and DF not set (podlane does not fragment)") \
    X(NoHeadroom, "no_headroom", "no mbuf headroom for the tunnel headers")                   \
    X(Multicast, "multicast", "IPv4 multicast or limited broadcast, which podlane does not route") \
    X(NoBackend, "no_backend", "new flow to a service with no usable backend (no_backends: drop)")  \
    X(NatPortExhausted, "nat_port_exhausted", "no free SNAT port for a new flow")                \
    X(CtFull, "ct_full", "conntrack table full: the new flow could not be tracked")              \
    X(FragmentToService, "fragment_to_service", "IP fragment of a load-balanced or NATed flow (not reassembled)") \
    X(ServiceUnreachable, "service_unreachable", "a frontend with no entry for this scope (e.g. a ClusterIP from the uplink)") \
    X(PolicyDenied, "policy_denied", "a new flow that network policy does not allow (ingress or egress)")

/// A drop reason. Count is the number of reasons, not a reason.
enum class DropReason : uint8_t {
#define PODLANE_DROP_ENUM(name, str, help) name,
    PODLANE_FOREACH_DROP_REASON(PODLANE_DROP_ENUM)
#undef PODLANE_DROP_ENUM
        Count
};

inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::Count);

/// Stable snake_case name, e.g. "unknown_destination".
std::string_view drop_reason_name(DropReason r) noexcept;
/// One-line description for help texts and docs.
std::string_view drop_reason_help(DropReason r) noexcept;

} // namespace podlane
