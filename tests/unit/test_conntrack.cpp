// Conntrack: keys in both directions, expiry and entry reuse after a grace
// period, the TCP state machine and timeouts, and the SNAT port allocator
// under exhaustion.
#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <string>

#include <rte_ip.h>
#include <rte_tcp.h>

#include "dataplane/conntrack.h"
#include "dataplane/ct_state.h"
#include "dataplane/rcu_publisher.h"
#include "dataplane/snat.h"

using namespace podlane;

namespace {

rte_be32_t be_ip(const char* s) { return Ipv4Addr::parse(s)->be; }
rte_be16_t be_port(uint16_t p) { return rte_cpu_to_be_16(p); }

std::string unique_name(const char* base) {
    static std::atomic<int> n{0};
    return std::string(base) + std::to_string(n++);
}

CtTuple tcp(const char* src, uint16_t sport, const char* dst, uint16_t dport) {
    return CtTuple{be_ip(src), be_ip(dst), be_port(sport), be_port(dport), IPPROTO_TCP, {}};
}

} // namespace

TEST_CASE("a tracked flow is found by its original and its reply tuple", "[conntrack]") {
    Qsbr qsbr(1);
    auto ct = Conntrack::create(unique_name("ct_a"), 1024, 1, qsbr.get());
    REQUIRE(ct);
    // Client 10.210.1.11:40000 -> VIP 10.96.0.10:80, DNATed to 10.210.2.11:8080.
    const CtTuple orig = tcp("10.210.1.11", 40000, "10.96.0.10", 80);
    const CtXlate fwd{be_ip("10.210.1.11"), be_ip("10.210.2.11"), be_port(40000), be_port(8080)};
    const CtHit made = (*ct)->create(0, orig, fwd, 7, 3, kCtDnat, 100);
    CtEntry* e = made.entry;
    REQUIRE(e != nullptr);
    CHECK((*ct)->xlate(made) == fwd);
    CHECK((*ct)->flows() == 1);

    const CtHit fwd_hit = (*ct)->lookup(orig);
    CHECK(fwd_hit.entry == e);
    CHECK(fwd_hit.dir == CtDir::Original);
    CHECK((*ct)->xlate(fwd_hit) == fwd);
    CHECK(fwd_hit.backend_id == 3);

    const CtHit back = (*ct)->lookup(tcp("10.210.2.11", 8080, "10.210.1.11", 40000));
    CHECK(back.entry == e);
    CHECK(back.dir == CtDir::Reply);
    // Replies are rewritten back to come from the VIP.
    CHECK(((*ct)->xlate(back) == CtXlate{be_ip("10.96.0.10"), be_ip("10.210.1.11"), be_port(80), be_port(40000)}));
    // The CLI's view: the binding from the original key, the revNAT id from the reply key.
    size_t listed = 0;
    (*ct)->for_each([&](const CtFlowView& f) {
        ++listed;
        CHECK(f.orig == orig);
        CHECK(f.fwd == fwd);
        CHECK(f.entry == e);
        CHECK(f.rev_nat_id == 7);
        CHECK(f.backend_id == 3);
    });
    CHECK(listed == 1);

    CHECK((*ct)->lookup(tcp("10.210.1.11", 40001, "10.96.0.10", 80)).entry == nullptr);
    CHECK((*ct)->in_use(tcp("10.210.2.11", 8080, "10.210.1.11", 40000)));
}

TEST_CASE("expired flows are removed and their entries reused after the grace period", "[conntrack]") {
    Qsbr qsbr(1);
    auto made = Conntrack::create(unique_name("ct_b"), 64, 1, qsbr.get());
    REQUIRE(made);
    Conntrack& ct = **made;
    std::set<CtEntry*> first_round;
    for (uint16_t i = 0; i < 64; ++i) {
        const CtTuple t = tcp("10.0.0.1", static_cast<uint16_t>(1000 + i), "10.0.0.2", 80);
        CtEntry* e = ct.create(0, t, ct_identity(t), 0, 0, 0, 50).entry;
        REQUIRE(e != nullptr);
        first_round.insert(e);
    }
    CHECK(ct.flows() == 64);
    // The worker's share is used up: the next flow is refused and counted.
    const CtTuple extra = tcp("10.0.0.1", 2000, "10.0.0.2", 80);
    CHECK(ct.create(0, extra, ct_identity(extra), 0, 0, 0, 50).entry == nullptr);
    CHECK(ct.insert_failures() == 1);

    // Nothing has expired at t=50; everything has at t=51.
    CHECK(ct.expire(50) == 0);
    CHECK(ct.expire(51) == 64);
    CHECK(ct.lookup(tcp("10.0.0.1", 1000, "10.0.0.2", 80)).entry == nullptr);
    CHECK(ct.flows() == 0);
    ct.reclaim(); // no reader registered: the grace period is over at once

    CtEntry* again = ct.create(0, extra, ct_identity(extra), 0, 0, 0, 100).entry;
    REQUIRE(again != nullptr);
    CHECK(first_round.count(again) == 1);
    CHECK(ct.flows() == 1);
}

TEST_CASE("an entry is not reused while a reader may still hold it", "[conntrack]") {
    Qsbr qsbr(1);
    rte_rcu_qsbr_thread_register(qsbr.get(), 0);
    rte_rcu_qsbr_thread_online(qsbr.get(), 0);
    auto made = Conntrack::create(unique_name("ct_c"), 64, 1, qsbr.get());
    REQUIRE(made);
    Conntrack& ct = **made;
    for (uint16_t i = 0; i < 64; ++i) {
        const CtTuple t = tcp("10.0.0.1", static_cast<uint16_t>(1000 + i), "10.0.0.2", 80);
        REQUIRE(ct.create(0, t, ct_identity(t), 0, 0, 0, 10).entry != nullptr);
    }
    CHECK(ct.expire(11) == 64);
    ct.reclaim(); // reader 0 has not reported quiescence since the delete
    const CtTuple t = tcp("10.0.0.9", 1, "10.0.0.2", 80);
    CHECK(ct.create(0, t, ct_identity(t), 0, 0, 0, 100).entry == nullptr);
    rte_rcu_qsbr_quiescent(qsbr.get(), 0);
    ct.reclaim();
    CHECK(ct.create(0, t, ct_identity(t), 0, 0, 0, 100).entry != nullptr);
    rte_rcu_qsbr_thread_offline(qsbr.get(), 0);
    rte_rcu_qsbr_thread_unregister(qsbr.get(), 0);
}

TEST_CASE("TCP state follows the handshake and the close, with Cilium's timeouts", "[conntrack]") {
    const CtTimeouts to{}; // 60 s SYN, 6 h established, 10 s closing, 60 s UDP and ICMP
    CHECK(ct_next_tcp_state(CtTcpState::SynSent, CtDir::Original, RTE_TCP_SYN_FLAG) == CtTcpState::SynSent);
    CHECK(ct_next_tcp_state(CtTcpState::SynSent, CtDir::Reply, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG) ==
          CtTcpState::Established);
    CHECK(ct_next_tcp_state(CtTcpState::Established, CtDir::Original, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG) ==
          CtTcpState::Closing);
    CHECK(ct_next_tcp_state(CtTcpState::Established, CtDir::Reply, RTE_TCP_RST_FLAG) == CtTcpState::Closing);
    // A new SYN reopens a closing tuple.
    CHECK(ct_next_tcp_state(CtTcpState::Closing, CtDir::Original, RTE_TCP_SYN_FLAG) == CtTcpState::SynSent);
    CHECK(ct_next_tcp_state(CtTcpState::Closing, CtDir::Original, RTE_TCP_ACK_FLAG) == CtTcpState::Closing);

    CHECK(ct_lifetime(IPPROTO_TCP, CtTcpState::SynSent, to) == 60);
    CHECK(ct_lifetime(IPPROTO_TCP, CtTcpState::Established, to) == 21600);
    CHECK(ct_lifetime(IPPROTO_TCP, CtTcpState::Closing, to) == 10);
    CHECK(ct_lifetime(IPPROTO_UDP, CtTcpState::SynSent, to) == 60);
    CHECK(ct_lifetime(IPPROTO_ICMP, CtTcpState::SynSent, to) == 60);

    Qsbr qsbr(1);
    auto ct = Conntrack::create(unique_name("ct_d"), 64, 1, qsbr.get());
    REQUIRE(ct);
    const CtTuple t = tcp("10.0.0.1", 1000, "10.0.0.2", 80);
    CtEntry* e = (*ct)->create(0, t, ct_identity(t), 0, 0, 0, 0).entry;
    REQUIRE(e != nullptr);
    ct_on_packet(*e, CtDir::Original, IPPROTO_TCP, RTE_TCP_SYN_FLAG, 60, 1000, to);
    CHECK(e->expires.load() == 1060);
    ct_on_packet(*e, CtDir::Reply, IPPROTO_TCP, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 60, 1001, to);
    CHECK(e->expires.load() == 1001 + 21600);
    CHECK((e->flags.load() & kCtSeenReply) != 0);
    ct_on_packet(*e, CtDir::Original, IPPROTO_TCP, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, 52, 2000, to);
    CHECK(e->expires.load() == 2010);
    CHECK(e->packets.load() == 3);
    CHECK(e->bytes() == 172);
    // The flow dies 10 s after the FIN, not 6 h later.
    CHECK((*ct)->expire(2010) == 0);
    CHECK((*ct)->expire(2011) == 1);
}

TEST_CASE("SNAT ports never collide with tracked flows and exhaustion is reported", "[conntrack]") {
    Qsbr qsbr(1);
    auto made = Conntrack::create(unique_name("ct_e"), 4096, 2, qsbr.get());
    REQUIRE(made);
    Conntrack& ct = **made;
    const rte_be32_t node = be_ip("192.168.50.11");
    // A 16-port range split between two workers: 8 ports each, disjoint.
    const SnatSlice w0{40000, 40015, 0, 2};
    const SnatSlice w1{40000, 40015, 1, 2};
    CHECK(w0.size() == 8);
    CHECK(w1.size() == 8);
    std::set<uint16_t> ports0, ports1;
    for (uint32_t i = 0; i < 8; ++i) {
        ports0.insert(w0.port(i));
        ports1.insert(w1.port(i));
    }
    for (uint16_t p : ports0)
        CHECK(ports1.count(p) == 0);

    // Worker 0 masquerades 8 flows from different pods to the same server.
    std::set<uint16_t> used;
    for (uint32_t i = 0; i < 8; ++i) {
        const CtTuple t{Ipv4Addr::from_host(0x0AD2010B + i).be, be_ip("192.168.50.1"), be_port(5000), be_port(80),
                        IPPROTO_TCP, {}};
        const rte_be16_t p = snat_pick_port(ct, t, node, w0, i * 7);
        REQUIRE(p != 0);
        const uint16_t host = rte_be_to_cpu_16(p);
        CHECK(ports0.count(host) == 1);
        CHECK(used.insert(host).second); // never handed out twice
        REQUIRE(ct.create(0, t, CtXlate{node, t.dst, p, t.dport}, 0, 0, kCtSnat, 100).entry != nullptr);
    }
    // The ninth finds every port of its slice taken.
    const CtTuple ninth{be_ip("10.210.1.99"), be_ip("192.168.50.1"), be_port(5000), be_port(80), IPPROTO_TCP, {}};
    CHECK(snat_pick_port(ct, ninth, node, w0, 3) == 0);
    // A different server has its own reply tuples: ports are free again.
    const CtTuple other{be_ip("10.210.1.99"), be_ip("192.168.50.2"), be_port(5000), be_port(80), IPPROTO_TCP, {}};
    CHECK(snat_pick_port(ct, other, node, w0, 3) != 0);
    // Worker 1's slice is untouched.
    CHECK(snat_pick_port(ct, ninth, node, w1, 0) != 0);
}

TEST_CASE("a NATed flow keeps its new source and backend with its key, and a rebind moves both", "[conntrack]") {
    Qsbr qsbr(1);
    auto made = Conntrack::create(unique_name("ct_f"), 1024, 1, qsbr.get());
    REQUIRE(made);
    Conntrack& ct = **made;
    // NodePort: client 172.16.0.9:5000 -> node 192.168.50.11:30080, DNAT to a
    // remote backend and SNAT to the node IP.
    const CtTuple orig = tcp("172.16.0.9", 5000, "192.168.50.11", 30080);
    const CtXlate fwd{be_ip("192.168.50.11"), be_ip("10.210.2.11"), be_port(33000), be_port(8080)};
    const CtHit h = ct.create(0, orig, fwd, 9, 41, kCtDnat | kCtSnat | kCtNodePort, 100);
    REQUIRE(h.entry != nullptr);
    CHECK(h.snat != kCtNoSnat);
    CHECK(ct.snat_source(h.snat) == be_ip("192.168.50.11"));
    CHECK(ct.xlate(ct.lookup(orig)) == fwd);
    const CtHit back = ct.lookup(tcp("10.210.2.11", 8080, "192.168.50.11", 33000));
    REQUIRE(back.entry == h.entry);
    CHECK((ct.xlate(back) == CtXlate{be_ip("192.168.50.11"), be_ip("172.16.0.9"), be_port(30080), be_port(5000)}));

    // A second flow SNATed to the same address shares its source slot.
    const CtTuple orig2 = tcp("172.16.0.10", 5000, "192.168.50.11", 30080);
    const CtXlate fwd2{be_ip("192.168.50.11"), be_ip("10.210.2.11"), be_port(33001), be_port(8080)};
    CHECK(ct.create(0, orig2, fwd2, 9, 41, kCtDnat | kCtSnat, 100).snat == h.snat);

    // The backend went away; the flow moves to a local one, without SNAT.
    CtHit moved = ct.lookup(orig);
    const CtXlate local{orig.src, be_ip("10.210.0.7"), orig.sport, be_port(8080)};
    REQUIRE(ct.rebind(moved, orig, local, 12, 9));
    CHECK(moved.backend_id == 12);
    CHECK(moved.snat == kCtNoSnat);
    const CtHit again = ct.lookup(orig);
    CHECK(again.backend_id == 12);
    CHECK(ct.xlate(again) == local);
    // Replies from the new backend find the flow, and late ones from the old one still do.
    CHECK(ct.lookup(tcp("10.210.0.7", 8080, "172.16.0.9", 5000)).entry == h.entry);
    CHECK(ct.lookup(tcp("10.210.2.11", 8080, "192.168.50.11", 33000)).entry == h.entry);
    size_t listed = 0;
    ct.for_each([&](const CtFlowView& f) {
        if (f.orig != orig)
            return;
        ++listed;
        CHECK(f.fwd == local);
        CHECK(f.backend_id == 12);
        CHECK(f.rev_nat_id == 9);
    });
    CHECK(listed == 1);
}

TEST_CASE("a 16th SNAT source address and an out-of-range backend id are refused and counted", "[conntrack]") {
    Qsbr qsbr(1);
    auto made = Conntrack::create(unique_name("ct_g"), 1024, 1, qsbr.get());
    REQUIRE(made);
    Conntrack& ct = **made;
    for (uint32_t i = 0; i < kCtSnatSources; ++i) {
        const CtTuple t = tcp("10.210.1.11", static_cast<uint16_t>(1000 + i), "192.168.50.1", 80);
        const CtXlate x{Ipv4Addr::from_host(0xC0A83200 + i).be, t.dst, t.sport, t.dport};
        const CtHit h = ct.create(0, t, x, 0, 0, kCtSnat, 100);
        REQUIRE(h.entry != nullptr);
        CHECK(ct.xlate(h) == x);
    }
    const CtTuple t = tcp("10.210.1.11", 2000, "192.168.50.1", 80);
    CHECK(ct.create(0, t, CtXlate{be_ip("192.168.51.1"), t.dst, t.sport, t.dport}, 0, 0, kCtSnat, 100).entry ==
          nullptr);
    CHECK(ct.create(0, t, ct_identity(t), 1, 1u << kCtBackendIdBits, kCtDnat, 100).entry == nullptr);
    CHECK(ct.insert_failures() == 2);
    // Flows that keep their source are not limited.
    CHECK(ct.create(0, t, ct_identity(t), 0, 0, 0, 100).entry != nullptr);
}

TEST_CASE("byte counters carry past 32 bits", "[conntrack]") {
    CtEntry e;
    e.bytes_lo.store(0xffffff00u);
    e.add_bytes(0x200);
    CHECK(e.bytes() == 0x100000100ull);
    e.add_bytes(60);
    CHECK(e.bytes() == 0x100000100ull + 60);
}

TEST_CASE("conntrack state stays within 128 bytes a flow", "[conntrack]") {
    Qsbr qsbr(1);
    // The default capacity; a power of two, where rte_hash's rounding bites.
    auto made = Conntrack::create(unique_name("ct_h"), 262144, 2, qsbr.get());
    REQUIRE(made);
    CHECK((*made)->bytes_per_flow() <= 128.0);
    CHECK((*made)->bytes_per_flow() > 100.0); // everything counted: two 32-byte key slots alone are 64
}
