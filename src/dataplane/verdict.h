// A packet's fate after the pipeline: transmit on a port (and what was done
// to it), consumed by podlane, or dropped for a reason.
#pragma once

#include <cstdint>

#include "common/net_types.h"
#include "dataplane/drop_reason.h"

namespace podlane {

inline constexpr uint16_t kDropPort = UINT16_MAX;

/// What the pipeline did with a packet it transmits, for the counters.
enum class Outcome : uint8_t {
    Forwarded,    ///< routed to a local endpoint or natively to a remote node
    Encapsulated, ///< sent into a tunnel to a remote node
    Decapsulated, ///< received from a tunnel and delivered to a local endpoint
    ArpReply,     ///< ARP reply for an address podlane owns
    EchoReply,    ///< ICMP echo reply from an address podlane owns
    IcmpError,    ///< turned into an ICMP error to its sender
    Consumed,     ///< not transmitted: its facts went to the control thread
    Unresolved,   ///< waits for the MAC of next hop `hop` (HoldQueue), or is dropped as no_neighbour
    UnresolvedRouted, ///< the same, routed (TTL, tunnel) already: only its Ethernet addresses are left
    Rejected,     ///< answered with a TCP RST or ICMP port unreachable: a service had no backend
    Dropped,
    Count
};

struct Verdict {
    uint16_t port = kDropPort;                 ///< output port, or kDropPort
    DropReason reason = DropReason::Malformed; ///< meaningful when dropped
    Outcome outcome = Outcome::Dropped;
    Ipv4Addr hop;                              ///< Unresolved*: the next hop to wait for

    static constexpr Verdict tx(uint16_t port, Outcome what = Outcome::Forwarded) noexcept {
        return {port, DropReason::Count, what, {}};
    }
    static constexpr Verdict drop(DropReason r) noexcept { return {kDropPort, r, Outcome::Dropped, {}}; }
    /// Waits for `hop`'s MAC; `routed`: the frame is routed (TTL, tunnel)
    /// already, else it is routed when the MAC comes.
    static constexpr Verdict unresolved(Ipv4Addr hop, bool routed = false) noexcept {
        return {kDropPort, DropReason::NoNeighbour, routed ? Outcome::UnresolvedRouted : Outcome::Unresolved, hop};
    }
    /// Handled and finished here (an ARP reply learnt by the control plane): freed, not a drop.
    static constexpr Verdict consumed() noexcept { return {kDropPort, DropReason::Count, Outcome::Consumed, {}}; }
};

} // namespace podlane
