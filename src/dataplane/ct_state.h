// How a packet moves its flow's conntrack entry on: counters, TCP state and
// the expiry time, after Cilium's timeouts (SYN, established, closing; UDP
// and ICMP each their own). Pure functions of the entry, the packet and the
// clock, so they are tested with an injected time.
#pragma once

#include <cstdint>

#include <rte_tcp.h>

#include "dataplane/conntrack.h"
#include "dataplane/service_table.h"

namespace podlane {

/// The TCP state after a packet with `tcp_flags` went in `dir`.
constexpr CtTcpState ct_next_tcp_state(CtTcpState s, CtDir dir, uint8_t tcp_flags) noexcept {
    if (tcp_flags & (RTE_TCP_RST_FLAG | RTE_TCP_FIN_FLAG))
        return CtTcpState::Closing;
    // A fresh SYN on a closing flow reopens the tuple for a new connection.
    if (s == CtTcpState::Closing && dir == CtDir::Original &&
        (tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG)
        return CtTcpState::SynSent;
    if (s == CtTcpState::SynSent && dir == CtDir::Reply)
        return CtTcpState::Established;
    return s;
}

/// How long a flow lives after its latest packet.
constexpr uint32_t ct_lifetime(uint8_t proto, CtTcpState s, const CtTimeouts& t) noexcept {
    if (proto == IPPROTO_TCP) {
        switch (s) {
        case CtTcpState::SynSent:
            return t.tcp_syn;
        case CtTcpState::Established:
            return t.tcp_established;
        case CtTcpState::Closing:
            return t.tcp_close;
        }
    }
    return proto == IPPROTO_UDP ? t.udp : t.icmp;
}

/// Accounts one packet of `len` bytes going in `dir`.
inline void ct_on_packet(CtEntry& e, CtDir dir, uint8_t proto, uint8_t tcp_flags, uint32_t len, uint32_t now_s,
                         const CtTimeouts& t) noexcept {
    e.packets.store(e.packets.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    e.add_bytes(len);
    auto state = static_cast<CtTcpState>(e.tcp_state.load(std::memory_order_relaxed));
    if (proto == IPPROTO_TCP) {
        const CtTcpState next = ct_next_tcp_state(state, dir, tcp_flags);
        if (next != state)
            e.tcp_state.store(static_cast<uint8_t>(next), std::memory_order_relaxed);
        state = next;
    }
    if (dir == CtDir::Reply && !(e.flags.load(std::memory_order_relaxed) & kCtSeenReply))
        e.flags.store(e.flags.load(std::memory_order_relaxed) | kCtSeenReply, std::memory_order_relaxed);
    const uint32_t expires = now_s + ct_lifetime(proto, state, t);
    if (e.expires.load(std::memory_order_relaxed) != expires)
        e.expires.store(expires, std::memory_order_relaxed);
}

} // namespace podlane
