// The conntrack tuple of an IPv4 fragment, through the fragment table
// (frag_table.h), and the rewrite of a fragment of a tracked flow. The load
// balancer and masquerade come here only for packets ct_tuple_of() refused
// because they are fragments, so whole packets pay nothing for it.
#pragma once

#include "dataplane/ct_pass.h"
#include "dataplane/ct_state.h"
#include "dataplane/frag_table.h"
#include "dataplane/nat.h"
#include "dataplane/parse.h"
#include "dataplane/service_table.h"

namespace podlane {

/// Which fragment a packet is, once its tuple is known.
enum class FragKind : uint8_t {
    None,  ///< a whole packet, or a fragment without a tuple (untracked protocol, no table, first fragment not seen)
    First, ///< offset 0, MF set: carries the L4 header
    Later, ///< offset != 0: its ports are the first fragment's
};

/// The conntrack tuple of fragment `p` (TCP, UDP, ICMP echo): a first
/// fragment's from its own L4 header, remembered for the rest of its
/// datagram; a later fragment's from what its first fragment remembered.
/// None if there is no table, the protocol is not one NAT tracks, or the
/// first fragment has not been seen (a miss, counted by the table).
[[gnu::noinline]] inline FragKind frag_tuple_of(const LbTables& lb, const ParsedPacket& p, uint32_t now_s,
                                                uint32_t worker, CtTuple& t) noexcept {
    FragTable* frags = lb.frags;
    const rte_ipv4_hdr* ip = p.ip;
    if (frags == nullptr || p.kind != L3Kind::Ipv4 || !ipv4_is_fragment(ip))
        return FragKind::None;
    if (!ipv4_is_later_fragment(ip)) {
        if (!ct_tuple_of_l4(p, t))
            return FragKind::None;
        frags->remember(ip->src_addr, ip->dst_addr, t.proto, ip->packet_id, t.sport, t.dport, now_s, worker);
        return FragKind::First;
    }
    const uint8_t proto = ip->next_proto_id;
    if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_ICMP)
        return FragKind::None;
    rte_be16_t sport, dport;
    if (!frags->recall(ip->src_addr, ip->dst_addr, proto, ip->packet_id, now_s, worker, sport, dport))
        return FragKind::None;
    t = make_ct_tuple(ip->src_addr, ip->dst_addr, sport, dport, proto);
    return FragKind::Later;
}

/// ct_pass() for a later fragment: it has no L4 header, so only its
/// addresses are rewritten (the first fragment's L4 checksum, patched for
/// the whole datagram, already accounts for them) and it carries no TCP flags.
inline void ct_pass_later_fragment(const LbTables& lb, const CtHit& hit, const ParsedPacket& p, const CtTuple& t,
                                   uint32_t now_s) noexcept {
    ct_on_packet(*hit.entry, hit.dir, t.proto, 0, rte_be_to_cpu_16(p.ip->total_length), now_s, lb.timeouts);
    nat_apply_addrs(p, t, lb.ct->xlate(hit));
}

} // namespace podlane
