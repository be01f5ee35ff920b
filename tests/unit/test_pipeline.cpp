// The worker pipeline on packet fixtures: input frame -> verdict, output
// frame and counters; then real transmission through DPDK ring ports.
#include <catch2/catch.hpp>

#include <random>

#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "control/tables/snapshot_builder.h"
#include "dataplane/checksum.h"
#include "dataplane/pipeline.h"
#include "frame_builder.h"
#include "pipeline_fixture.h"

using namespace podlane;
using namespace podlane::test;

namespace {

const Ipv4Addr kGw = *Ipv4Addr::parse("10.200.0.1");
const Ipv4Addr kA = *Ipv4Addr::parse("10.200.0.11");
const Ipv4Addr kB = *Ipv4Addr::parse("10.200.0.12");
const MacAddr kGwMac = MacAddr::from_ipv4(kGw);
const MacAddr kAMac = MacAddr::from_ipv4(kA);
const MacAddr kBMac = MacAddr::from_ipv4(kB);

rte_mempool* pipeline_pool() {
    static rte_mempool* pool = rte_pktmbuf_pool_create("test_pipe_pool", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    return pool;
}

std::unique_ptr<Snapshot> two_pod_snapshot(uint16_t port_a, uint16_t port_b) {
    SnapshotInputs in;
    in.generation = 1;
    in.pod_cidr = *Ipv4Prefix::parse("10.200.0.0/24");
    in.gateway_ip = kGw;
    in.gateway_mac = kGwMac;
    in.endpoints = {{kA, kAMac, {port_a, 1}}, {kB, kBMac, {port_b, 1}}};
    return build_snapshot(in);
}

Ipv4Spec a_to_b() {
    Ipv4Spec s;
    s.src_mac = kAMac;
    s.dst_mac = kGwMac;
    s.src = kA;
    s.dst = kB;
    return s;
}

Fate run_one(const Snapshot& snap, uint16_t in_port, const std::vector<uint8_t>& frame,
             WorkerCounters& c) {
    return podlane::test::run_frame(snap, in_port, frame, c, pipeline_pool());
}

uint64_t total_drops(const WorkerCounters& c) {
    uint64_t n = 0;
    for (const auto& d : c.drops)
        n += d.get();
    return n;
}

const rte_ipv4_hdr* ip_of(const std::vector<uint8_t>& f) {
    return reinterpret_cast<const rte_ipv4_hdr*>(f.data() + sizeof(rte_ether_hdr));
}
MacAddr eth_dst(const std::vector<uint8_t>& f) {
    MacAddr m;
    std::memcpy(m.bytes.data(), f.data(), 6);
    return m;
}
MacAddr eth_src(const std::vector<uint8_t>& f) {
    MacAddr m;
    std::memcpy(m.bytes.data(), f.data() + 6, 6);
    return m;
}

} // namespace

TEST_CASE("pod to pod: routed to the destination's port with MACs, TTL and checksum rewritten", "[pipeline]") {
    auto snap = two_pod_snapshot(5, 6);
    WorkerCounters c;
    const auto in = ipv4_frame(a_to_b());
    auto r = run_one(*snap, 5, in, c);
    REQUIRE(r.port == 6);
    CHECK(eth_dst(r.bytes) == kBMac);
    CHECK(eth_src(r.bytes) == kGwMac);
    CHECK(ip_of(r.bytes)->time_to_live == 63);
    CHECK(ipv4_checksum_ok(ip_of(r.bytes), 20));
    // Everything after the IPv4 header is untouched.
    CHECK(std::equal(in.begin() + 34, in.end(), r.bytes.begin() + 34));
    CHECK(c.forwarded.get() == 1);
    CHECK(total_drops(c) == 0);

    // And back.
    Ipv4Spec back = a_to_b();
    std::swap(back.src, back.dst);
    back.src_mac = kBMac;
    auto r2 = run_one(*snap, 6, ipv4_frame(back), c);
    CHECK(r2.port == 5);
    CHECK(eth_dst(r2.bytes) == kAMac);
}

TEST_CASE("the gateway answers ARP and ping", "[pipeline]") {
    auto snap = two_pod_snapshot(5, 6);
    WorkerCounters c;

    SECTION("ARP request for the gateway gets a reply out of the same port") {
        auto r = run_one(*snap, 5, arp_request(kAMac, kA, kGw), c);
        REQUIRE(r.port == 5);
        const auto* arp = reinterpret_cast<const rte_arp_hdr*>(r.bytes.data() + 14);
        CHECK(arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY));
        CHECK(arp->arp_data.arp_sip == kGw.be);
        CHECK(arp->arp_data.arp_tip == kA.be);
        CHECK(std::memcmp(arp->arp_data.arp_sha.addr_bytes, kGwMac.bytes.data(), 6) == 0);
        CHECK(std::memcmp(arp->arp_data.arp_tha.addr_bytes, kAMac.bytes.data(), 6) == 0);
        CHECK(eth_dst(r.bytes) == kAMac);
        CHECK(eth_src(r.bytes) == kGwMac);
        CHECK(c.arp_replies.get() == 1);
    }
    SECTION("ping to the gateway gets an echo reply with valid checksums") {
        Ipv4Spec s = a_to_b();
        s.dst = kGw;
        s.proto = IPPROTO_ICMP;
        s.payload = 56;
        auto r = run_one(*snap, 5, ipv4_frame(s), c);
        REQUIRE(r.port == 5);
        const auto* ip = ip_of(r.bytes);
        CHECK(ip->src_addr == kGw.be);
        CHECK(ip->dst_addr == kA.be);
        CHECK(ipv4_checksum_ok(ip, 20));
        const auto* icmp = reinterpret_cast<const rte_icmp_hdr*>(ip + 1);
        CHECK(icmp->icmp_type == RTE_IP_ICMP_ECHO_REPLY);
        CHECK(rte_raw_cksum(icmp, sizeof(rte_icmp_hdr) + 56) == 0xffff);
        CHECK(eth_dst(r.bytes) == kAMac);
        CHECK(c.icmp_replies.get() == 1);
    }
}

TEST_CASE("a routed packet with TTL 1 gets ICMP time exceeded from the gateway, as traceroute expects",
          "[pipeline]") {
    auto snap = two_pod_snapshot(5, 6);
    WorkerCounters c;
    Ipv4Spec s = a_to_b();
    s.ttl = 1;
    auto r = run_one(*snap, 5, ipv4_frame(s), c);
    REQUIRE(r.port == 5);
    const auto* ip = ip_of(r.bytes);
    CHECK(ip->src_addr == kGw.be);
    CHECK(ip->dst_addr == kA.be);
    CHECK(ipv4_checksum_ok(ip, 20));
    const auto* icmp = reinterpret_cast<const rte_icmp_hdr*>(ip + 1);
    CHECK(icmp->icmp_type == 11);
    CHECK(icmp->icmp_code == 0);
    const uint16_t icmp_len = static_cast<uint16_t>(rte_be_to_cpu_16(ip->total_length) - 20);
    CHECK(icmp_len == 8 + 20 + 8); // the quoted header and 8 bytes of its payload
    CHECK(rte_raw_cksum(icmp, icmp_len) == 0xffff);
    const auto* quoted = reinterpret_cast<const rte_ipv4_hdr*>(reinterpret_cast<const uint8_t*>(icmp) + 8);
    CHECK(quoted->dst_addr == kB.be);
    CHECK(eth_dst(r.bytes) == kAMac);
    CHECK(c.icmp_errors.get() == 1);
    CHECK(total_drops(c) == 0);
}

TEST_CASE("every drop is counted under its reason", "[pipeline]") {
    auto snap = two_pod_snapshot(5, 6);
    const Ipv4Addr other = *Ipv4Addr::parse("10.200.0.99");
    struct Case {
        const char* name;
        uint16_t in_port;
        std::vector<uint8_t> frame;
        DropReason reason;
    };
    auto spec = [](auto edit) {
        Ipv4Spec s = a_to_b();
        edit(s);
        return ipv4_frame(s);
    };
    const std::vector<Case> cases = {
        {"unknown destination", 5, spec([&](Ipv4Spec& s) { s.dst = other; }), DropReason::UnknownDestination},
        {"TTL 1 on an ICMP error (no error about an error)", 5,
         spec([](Ipv4Spec& s) { s.ttl = 1; s.proto = IPPROTO_ICMP; s.icmp_type = 3; }), DropReason::TtlExceeded},
        {"TTL 0 on a later fragment", 5, spec([](Ipv4Spec& s) { s.ttl = 0; s.frag_off = 3; }), DropReason::TtlExceeded},
        {"spoofed source", 5, spec([&](Ipv4Spec& s) { s.src = other; }), DropReason::InvalidSource},
        {"B's IP from A's port", 5, spec([&](Ipv4Spec& s) { s.src = kB; s.dst = kA; }), DropReason::InvalidSource},
        {"multicast", 5, spec([](Ipv4Spec& s) { s.dst = *Ipv4Addr::parse("224.0.0.22"); }), DropReason::Multicast},
        {"limited broadcast", 5, spec([](Ipv4Spec& s) { s.dst = *Ipv4Addr::parse("255.255.255.255"); }), DropReason::Multicast},
        {"UDP to the gateway", 5, spec([&](Ipv4Spec& s) { s.dst = kGw; }), DropReason::HostUnsupported},
        {"ICMP reply to the gateway", 5, spec([&](Ipv4Spec& s) { s.dst = kGw; s.proto = IPPROTO_ICMP; s.icmp_type = 0; }), DropReason::HostUnsupported},
        {"fragment to the gateway", 5, spec([&](Ipv4Spec& s) { s.dst = kGw; s.proto = IPPROTO_ICMP; s.frag_off = 0x2000; }), DropReason::FragmentToHost},
        {"ARP for another pod", 5, arp_request(kAMac, kA, kB), DropReason::ArpNotForUs},
        {"received on a port the table does not know", 9, ipv4_frame(a_to_b()), DropReason::UnknownPort},
    };
    for (const Case& cs : cases) {
        INFO(cs.name);
        WorkerCounters c;
        auto r = run_one(*snap, cs.in_port, cs.frame, c);
        CHECK(r.port == kDropPort);
        CHECK(c.drop(cs.reason).get() == 1);
        CHECK(total_drops(c) == 1);
        CHECK(c.forwarded.get() == 0);
    }
}

TEST_CASE("random bytes never crash the pipeline and are all accounted for", "[pipeline]") {
    auto snap = two_pod_snapshot(5, 6);
    WorkerCounters c;
    std::mt19937 rng(7);
    const auto base = ipv4_frame(a_to_b());
    uint64_t sent_ok = 0;
    const int rounds = 200;
    for (int round = 0; round < rounds; ++round) {
        rte_mbuf* burst[32];
        for (auto& m : burst) {
            std::vector<uint8_t> f = base;
            f.resize(rng() % 80);
            for (size_t k = 0; k < f.size(); ++k)
                if (rng() % 4 == 0)
                    f[k] = static_cast<uint8_t>(rng());
            m = to_mbuf(pipeline_pool(), f);
            REQUIRE(m != nullptr);
        }
        uint16_t out[32];
        run_stages(*snap, 5, std::span(burst, 32), out, c);
        for (int i = 0; i < 32; ++i) {
            if (out[i] != kDropPort) {
                ++sent_ok;
                rte_pktmbuf_free(burst[i]);
            }
        }
    }
    CHECK(sent_ok + total_drops(c) == uint64_t{rounds} * 32);
    CHECK(rte_mempool_avail_count(pipeline_pool()) == 4095); // nothing leaked
}

TEST_CASE("process_burst transmits on real DPDK ring ports and counts tx_full", "[pipeline]") {
    // Two ring-backed ethdev ports; the test reads what the pipeline sent from
    // the tx rings directly.
    rte_ring* rx_a = rte_ring_create("tp_rx_a", 64, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_ring* tx_a = rte_ring_create("tp_tx_a", 64, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_ring* rx_b = rte_ring_create("tp_rx_b", 64, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_ring* tx_b = rte_ring_create("tp_tx_b", 8, 0, RING_F_SP_ENQ | RING_F_SC_DEQ); // holds 7
    REQUIRE((rx_a && tx_a && rx_b && tx_b));
    int pa = rte_eth_from_rings("tp_port_a", &rx_a, 1, &tx_a, 1, 0);
    int pb = rte_eth_from_rings("tp_port_b", &rx_b, 1, &tx_b, 1, 0);
    REQUIRE(pa >= 0);
    REQUIRE(pb >= 0);
    for (int p : {pa, pb}) {
        auto port = static_cast<uint16_t>(p);
        rte_eth_conf conf{};
        REQUIRE(rte_eth_dev_configure(port, 1, 1, &conf) == 0);
        REQUIRE(rte_eth_rx_queue_setup(port, 0, 64, 0, nullptr, pipeline_pool()) == 0);
        REQUIRE(rte_eth_tx_queue_setup(port, 0, 64, 0, nullptr) == 0);
        REQUIRE(rte_eth_dev_start(port) == 0);
    }
    auto snap = two_pod_snapshot(static_cast<uint16_t>(pa), static_cast<uint16_t>(pb));
    WorkerCounters c;

    // 10 packets A->B plus one ARP for the gateway, in one burst.
    rte_mbuf* burst[11];
    for (int i = 0; i < 10; ++i)
        burst[i] = to_mbuf(pipeline_pool(), ipv4_frame(a_to_b()));
    burst[10] = to_mbuf(pipeline_pool(), arp_request(kAMac, kA, kGw));
    process_burst(*snap, static_cast<uint16_t>(pa), 0, std::span(burst, 11), c);

    CHECK(rte_ring_count(tx_b) == 7);
    CHECK(rte_ring_count(tx_a) == 1);
    CHECK(c.drop(DropReason::TxFull).get() == 3);
    CHECK(c.tx_packets.get() == 8);
    CHECK(c.forwarded.get() == 10);

    void* objs[8];
    unsigned n = rte_ring_dequeue_burst(tx_b, objs, 8, nullptr);
    for (unsigned i = 0; i < n; ++i) {
        auto* m = static_cast<rte_mbuf*>(objs[i]);
        CHECK(eth_dst(bytes_of(m)) == kBMac);
        rte_pktmbuf_free(m);
    }
    n = rte_ring_dequeue_burst(tx_a, objs, 8, nullptr);
    for (unsigned i = 0; i < n; ++i)
        rte_pktmbuf_free(static_cast<rte_mbuf*>(objs[i]));

    for (int p : {pa, pb}) {
        rte_eth_dev_stop(static_cast<uint16_t>(p));
        rte_eth_dev_close(static_cast<uint16_t>(p));
    }
    for (rte_ring* r : {rx_a, tx_a, rx_b, tx_b})
        rte_ring_free(r);
    CHECK(rte_mempool_avail_count(pipeline_pool()) == 4095);
}
