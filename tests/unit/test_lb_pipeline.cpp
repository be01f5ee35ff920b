// Services through the real burst pipeline on one node: DNAT to a backend
// and reverse NAT of its replies, hairpin, no-backend rejects, Maglev
// selection, terminating and removed backends, fragments.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <set>

#include <rte_tcp.h>

#include "control/config/config.h"
#include "control/tables/service_compiler.h"
#include "control/tables/snapshot_builder.h"
#include "dataplane/affinity.h"
#include "dataplane/conntrack.h"
#include "dataplane/flow_hash.h"
#include "dataplane/frag_table.h"
#include "dataplane/rcu_publisher.h"
#include "frame_builder.h"
#include "pipeline_fixture.h"

using namespace podlane;
using namespace podlane::test;

namespace {

const Ipv4Addr kGw = *Ipv4Addr::parse("10.200.0.1");
const Ipv4Addr kA = *Ipv4Addr::parse("10.200.0.11");
const Ipv4Addr kB = *Ipv4Addr::parse("10.200.0.12");
const Ipv4Addr kC = *Ipv4Addr::parse("10.200.0.13");
const Ipv4Addr kVip = *Ipv4Addr::parse("10.96.0.10");
const MacAddr kGwMac = MacAddr::from_ipv4(kGw);
constexpr uint16_t kPortA = 1, kPortB = 2, kPortC = 3;

rte_mempool* lb_pool() {
    static rte_mempool* pool = rte_pktmbuf_pool_create("test_lb_pool", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    return pool;
}

std::string unique(const char* base) {
    static std::atomic<int> n{0};
    return std::string(base) + std::to_string(n++);
}

/// Ethernet + IPv4 + TCP (20-byte header) from a pod to the gateway MAC, with
/// `payload` bytes and valid checksums.
std::vector<uint8_t> tcp_frame(Ipv4Addr src, uint16_t sport, Ipv4Addr dst, uint16_t dport, uint8_t flags,
                               uint16_t payload = 0, uint16_t frag_off = 0) {
    return ipv4_frame({.src_mac = MacAddr::from_ipv4(src),
                       .dst_mac = kGwMac,
                       .src = src,
                       .dst = dst,
                       .proto = IPPROTO_TCP,
                       .payload = payload,
                       .frag_off = frag_off,
                       .sport = sport,
                       .dport = dport,
                       .tcp_flags = flags});
}

struct Seen {
    Ipv4Addr src, dst;
    uint16_t sport = 0, dport = 0;
    uint8_t proto = 0, tcp_flags = 0, icmp_type = 0, icmp_code = 0;
    bool checksums_ok = false;
};

/// Decodes an output frame and verifies its IPv4 and L4 checksums from scratch.
Seen decode(const std::vector<uint8_t>& f) {
    Seen s;
    auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(f.data() + sizeof(rte_ether_hdr));
    s.src = Ipv4Addr{ip->src_addr};
    s.dst = Ipv4Addr{ip->dst_addr};
    s.proto = ip->next_proto_id;
    bool ok = rte_ipv4_cksum(ip) == 0 || rte_raw_cksum(ip, sizeof(rte_ipv4_hdr)) == 0xffff;
    const uint8_t* l4 = reinterpret_cast<const uint8_t*>(ip) + sizeof(rte_ipv4_hdr);
    const uint16_t l4_len = static_cast<uint16_t>(rte_be_to_cpu_16(ip->total_length) - sizeof(rte_ipv4_hdr));
    if (s.proto == IPPROTO_TCP || s.proto == IPPROTO_UDP) {
        const auto* ports = reinterpret_cast<const rte_be16_t*>(l4);
        s.sport = rte_be_to_cpu_16(ports[0]);
        s.dport = rte_be_to_cpu_16(ports[1]);
        if (s.proto == IPPROTO_TCP)
            s.tcp_flags = reinterpret_cast<const rte_tcp_hdr*>(l4)->tcp_flags;
        ok = ok && rte_ipv4_udptcp_cksum_verify(ip, l4) == 0;
    } else if (s.proto == IPPROTO_ICMP) {
        s.icmp_type = l4[0];
        s.icmp_code = l4[1];
        ok = ok && rte_raw_cksum(l4, l4_len) == 0xffff;
    }
    s.checksums_ok = ok;
    return s;
}

/// A node with pods A, B and C and the services of `services_yaml`.
struct LbNode {
    Qsbr qsbr{1};
    std::unique_ptr<Conntrack> ct;
    std::unique_ptr<AffinityTable> affinity;
    std::unique_ptr<FragTable> frags;
    Config config;
    ServiceIds ids;
    LbTables lb;
    std::unique_ptr<Snapshot> snap;
    WorkerCounters c;

    explicit LbNode(const std::string& services_yaml) {
        auto made_ct = Conntrack::create(unique("lbt_ct"), 1024, 1, qsbr.get());
        auto made_aff = AffinityTable::create(unique("lbt_aff"), 1024, qsbr.get());
        REQUIRE(made_ct);
        REQUIRE(made_aff);
        ct = std::move(*made_ct);
        affinity = std::move(*made_aff);
        auto made_frags = FragTable::create(64, 1);
        REQUIRE(made_frags);
        frags = std::move(*made_frags);
        load(services_yaml);
    }

    /// Parses `config_yaml`, compiles its services with `in` (the config and
    /// PodCIDR filled in here) and builds the snapshot `si` around them.
    void build(const std::string& config_yaml, ServiceCompileInputs in, SnapshotInputs si) {
        auto parsed = parse_config(config_yaml, "test");
        INFO((parsed ? std::string() : parsed.error().message));
        REQUIRE(parsed);
        config = *parsed;
        in.config = &config;
        in.local_pod_cidr = config.network.pod_cidr;
        auto compiled = compile_services(in, ids);
        REQUIRE(compiled);
        lb = std::move(*compiled);
        lb.frontend_ips = lb_frontend_ips(lb);
        lb.ct = ct.get();
        lb.affinity = affinity.get();
        lb.frags = frags.get();
        si.pod_cidr = config.network.pod_cidr;
        si.gateway_ip = kGw;
        si.gateway_mac = kGwMac;
        si.lb = std::make_shared<const LbTables>(lb);
        snap = build_snapshot(si);
    }

    /// Pods A, B and C and no uplink.
    void load(const std::string& services_yaml) {
        SnapshotInputs si;
        si.endpoints = {{kA, MacAddr::from_ipv4(kA), {kPortA, 1}},
                        {kB, MacAddr::from_ipv4(kB), {kPortB, 1}},
                        {kC, MacAddr::from_ipv4(kC), {kPortC, 1}}};
        build("network:\n  pod_cidr: 10.200.0.0/24\n  gateway_ip: 10.200.0.1\n" + services_yaml, {}, si);
    }

    Fate send(uint16_t in_port, const std::vector<uint8_t>& frame) {
        return run_frame(*snap, in_port, frame, c, lb_pool());
    }
};

const std::string kWeb = R"(
services:
  - name: default/web
    cluster_ip: 10.96.0.10
    ports: [{protocol: TCP, port: 80, target_port: 8080}]
    backends: [{ip: 10.200.0.12}]
)";

} // namespace

TEST_CASE("a pod reaches a ClusterIP: DNAT to the backend, replies come back from the VIP", "[lb]") {
    LbNode node(kWeb);
    const Fate syn = node.send(kPortA, tcp_frame(kA, 40000, kVip, 80, RTE_TCP_SYN_FLAG));
    REQUIRE(syn.port == kPortB);
    const Seen out = decode(syn.bytes);
    CHECK(out.src == kA); // the backend sees the client pod
    CHECK(out.sport == 40000);
    CHECK(out.dst == kB);
    CHECK(out.dport == 8080);
    CHECK(out.checksums_ok);
    CHECK(node.ct->flows() == 1);

    const Fate synack = node.send(kPortB, tcp_frame(kB, 8080, kA, 40000, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG));
    REQUIRE(synack.port == kPortA);
    const Seen back = decode(synack.bytes);
    CHECK(back.src == kVip);
    CHECK(back.sport == 80);
    CHECK(back.dst == kA);
    CHECK(back.dport == 40000);
    CHECK(back.checksums_ok);

    // The flow is tracked once, with both directions counted.
    size_t flows = 0;
    node.ct->for_each([&](const CtFlowView& f) {
        const CtEntry& e = *f.entry;
        ++flows;
        CHECK(f.orig.dst == kVip.be);
        CHECK(e.packets.load() == 2);
        CHECK((e.flags.load() & kCtDnat) != 0);
        CHECK(static_cast<CtTcpState>(e.tcp_state.load()) == CtTcpState::Established);
    });
    CHECK(flows == 1);
    // Plain pod-to-pod traffic is not tracked.
    CHECK(node.send(kPortA, tcp_frame(kA, 40001, kC, 22, RTE_TCP_SYN_FLAG)).port == kPortC);
    CHECK(node.ct->flows() == 1);
}

TEST_CASE("stage counters: a ClusterIP packet is translated by the load balancer; drops finish where they happen",
          "[lb][stages]") {
    LbNode node(kWeb);
    REQUIRE(node.send(kPortA, tcp_frame(kA, 40000, kVip, 80, RTE_TCP_SYN_FLAG)).port == kPortB);
    check_stages(node.c, {{Stage::Parse, 1, 0, 0},
                          {Stage::Source, 1, 0, 0},
                          {Stage::LoadBalancer, 1, 1, 0},
                          {Stage::Route, 1, 0, 0},
                          {Stage::Deliver, 1, 0, 1}});
    // The backend's reply is reverse-NATed: translated again.
    REQUIRE(node.send(kPortB, tcp_frame(kB, 8080, kA, 40000, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)).port == kPortA);
    // Pod to pod: through the load balancer untouched.
    REQUIRE(node.send(kPortA, tcp_frame(kA, 40001, kC, 22, RTE_TCP_SYN_FLAG)).port == kPortC);
    check_stages(node.c, {{Stage::Parse, 3, 0, 0},
                          {Stage::Source, 3, 0, 0},
                          {Stage::LoadBalancer, 3, 2, 0},
                          {Stage::Route, 3, 0, 0},
                          {Stage::Deliver, 3, 0, 3}});

    WorkerCounters c;
    auto send = [&](uint16_t port, const std::vector<uint8_t>& f) { return run_frame(*node.snap, port, f, c, lb_pool()); };
    CHECK(send(kPortA, tcp_frame(kB, 40000, kC, 80, RTE_TCP_SYN_FLAG)).port == kDropPort); // spoofed
    CHECK(send(kPortA, arp_request(MacAddr::from_ipv4(kA), kA, kGw)).port == kPortA);
    Ipv4Spec ping;
    ping.src_mac = MacAddr::from_ipv4(kA);
    ping.dst_mac = kGwMac;
    ping.src = kA;
    ping.dst = kGw;
    ping.proto = IPPROTO_ICMP;
    CHECK(send(kPortA, ipv4_frame(ping)).port == kPortA);
    std::vector<uint8_t> runt(20, 0);
    CHECK(send(kPortA, runt).port == kDropPort);
    CHECK(send(kPortA, tcp_frame(kA, 40002, *Ipv4Addr::parse("10.200.0.99"), 80, RTE_TCP_SYN_FLAG)).port ==
          kDropPort); // no such pod
    check_stages(c, {{Stage::Parse, 5, 0, 1},
                     {Stage::Arp, 1, 0, 1},
                     {Stage::Source, 3, 0, 1},
                     {Stage::ToUs, 1, 0, 1},
                     {Stage::LoadBalancer, 1, 0, 0},
                     {Stage::Route, 1, 0, 1}});

    // A service without backends answers at the load balancer.
    LbNode empty("services:\n  - name: default/empty\n    cluster_ip: 10.96.0.10\n"
                 "    ports: [{protocol: TCP, port: 80}]\n");
    REQUIRE(empty.send(kPortA, tcp_frame(kA, 40000, kVip, 80, RTE_TCP_SYN_FLAG)).port == kPortA);
    check_stages(empty.c, {{Stage::Parse, 1, 0, 0}, {Stage::Source, 1, 0, 0}, {Stage::LoadBalancer, 1, 0, 1}});
}

TEST_CASE("hairpin: a pod that is its own backend sees the hairpin address", "[lb]") {
    LbNode node(R"(
services:
  - name: default/self
    cluster_ip: 10.96.0.10
    ports: [{protocol: TCP, port: 80, target_port: 8080}]
    backends: [{ip: 10.200.0.11}]
)");
    const Fate out = node.send(kPortA, tcp_frame(kA, 40000, kVip, 80, RTE_TCP_SYN_FLAG));
    REQUIRE(out.port == kPortA);
    const Seen s = decode(out.bytes);
    CHECK(s.src == *Ipv4Addr::parse("169.254.42.1"));
    CHECK(s.dst == kA);
    CHECK(s.dport == 8080);
    CHECK(s.checksums_ok);
    const Fate reply =
        node.send(kPortA, tcp_frame(kA, 8080, *Ipv4Addr::parse("169.254.42.1"), 40000, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG));
    REQUIRE(reply.port == kPortA);
    const Seen r = decode(reply.bytes);
    CHECK(r.src == kVip);
    CHECK(r.sport == 80);
    CHECK(r.dst == kA);
    CHECK(r.dport == 40000);
    CHECK(r.checksums_ok);
}

TEST_CASE("a service with no backend rejects, or drops when told to", "[lb]") {
    const std::string empty = R"(
services:
  - name: default/empty
    cluster_ip: 10.96.0.10
    ports: [{protocol: TCP, port: 80}, {protocol: UDP, port: 53}]
)";
    LbNode node(empty);
    const Fate rst = node.send(kPortA, tcp_frame(kA, 40000, kVip, 80, RTE_TCP_SYN_FLAG));
    REQUIRE(rst.port == kPortA);
    const Seen r = decode(rst.bytes);
    CHECK(r.src == kVip);
    CHECK(r.sport == 80);
    CHECK(r.dst == kA);
    CHECK((r.tcp_flags & RTE_TCP_RST_FLAG) != 0);
    CHECK(r.checksums_ok);

    Ipv4Spec udp;
    udp.src_mac = MacAddr::from_ipv4(kA);
    udp.dst_mac = kGwMac;
    udp.src = kA;
    udp.dst = kVip;
    std::vector<uint8_t> f = ipv4_frame(udp); // 40000 -> 8080: no such port on the service
    CHECK(node.send(kPortA, f).port == kDropPort);
    CHECK(node.c.drop(DropReason::ServiceUnreachable).get() == 1);
    udp.dport = 53;
    udp.l4_checksum = false;
    const Fate unreach = node.send(kPortA, ipv4_frame(udp));
    REQUIRE(unreach.port == kPortA);
    const Seen u = decode(unreach.bytes);
    CHECK(u.proto == IPPROTO_ICMP);
    CHECK(u.icmp_type == 3);
    CHECK(u.icmp_code == 3);
    CHECK(u.src == kVip);
    CHECK(u.checksums_ok);
    CHECK(node.ct->flows() == 0);

    LbNode dropping("loadbalancer:\n  no_backends: drop\n" + empty);
    CHECK(dropping.send(kPortA, tcp_frame(kA, 40000, kVip, 80, RTE_TCP_SYN_FLAG)).port == kDropPort);
    CHECK(dropping.c.drop(DropReason::NoBackend).get() == 1);
}

TEST_CASE("Maglev picks the backend Cilium's hash selects, the same for every packet of a flow", "[lb]") {
    LbNode node(R"(
services:
  - name: default/web
    cluster_ip: 10.96.0.10
    algorithm: maglev
    ports: [{protocol: TCP, port: 80, target_port: 8080}]
    backends: [{ip: 10.200.0.12}, {ip: 10.200.0.13}]
)");
    const LbService& s = *node.lb.services.begin();
    REQUIRE(s.maglev_m == 16381);
    std::map<uint16_t, int> per_port;
    for (uint16_t sport = 40000; sport < 40040; ++sport) {
        const Fate out = node.send(kPortA, tcp_frame(kA, sport, kVip, 80, RTE_TCP_SYN_FLAG));
        REQUIRE(out.port != kDropPort);
        const uint32_t slot = maglev_hash_wire(kA.be, rte_cpu_to_be_16(sport), rte_cpu_to_be_16(80), IPPROTO_TCP,
                                               node.lb.maglev_jhash_seed) % s.maglev_m;
        const LbBackend& want = node.lb.backends[s.maglev[slot]];
        CHECK(decode(out.bytes).dst == want.ip);
        ++per_port[out.port];
        // The next packet of the flow follows the conntrack entry to the same backend.
        CHECK(node.send(kPortA, tcp_frame(kA, sport, kVip, 80, RTE_TCP_ACK_FLAG)).port == out.port);
    }
    CHECK(per_port.size() == 2); // 40 flows over two backends use both
}

TEST_CASE("terminating backends keep their flows and get no new ones; removed ones lose them", "[lb]") {
    const std::string two = R"(
services:
  - name: default/web
    cluster_ip: 10.96.0.10
    ports: [{protocol: TCP, port: 80, target_port: 8080}]
    backends: [{ip: 10.200.0.12}, {ip: 10.200.0.13, state: %s}]
)";
    auto with_c = [&](const char* state) {
        std::string y = two;
        y.replace(y.find("%s"), 2, state);
        return y;
    };
    LbNode node(with_c("active"));
    // Find a flow that went to C.
    uint16_t to_c = 0;
    for (uint16_t sport = 41000; sport < 41100 && to_c == 0; ++sport)
        if (node.send(kPortA, tcp_frame(kA, sport, kVip, 80, RTE_TCP_SYN_FLAG)).port == kPortC)
            to_c = sport;
    REQUIRE(to_c != 0);

    node.load(with_c("terminating"));
    CHECK(node.send(kPortA, tcp_frame(kA, to_c, kVip, 80, RTE_TCP_ACK_FLAG)).port == kPortC); // kept
    for (uint16_t sport = 42000; sport < 42050; ++sport)
        CHECK(node.send(kPortA, tcp_frame(kA, sport, kVip, 80, RTE_TCP_SYN_FLAG)).port == kPortB); // no new ones

    node.load(R"(
services:
  - name: default/web
    cluster_ip: 10.96.0.10
    ports: [{protocol: TCP, port: 80, target_port: 8080}]
    backends: [{ip: 10.200.0.12}]
)");
    // C is gone: its flow moves to B, and B's replies come back from the VIP.
    const Fate moved = node.send(kPortA, tcp_frame(kA, to_c, kVip, 80, RTE_TCP_ACK_FLAG));
    CHECK(moved.port == kPortB);
    const Fate reply = node.send(kPortB, tcp_frame(kB, 8080, kA, to_c, RTE_TCP_ACK_FLAG));
    REQUIRE(reply.port == kPortA);
    CHECK(decode(reply.bytes).src == kVip);
}

TEST_CASE("session affinity pins a client to one backend, also after backends are added", "[lb]") {
    const std::string svc = R"(
services:
  - name: default/web
    cluster_ip: 10.96.0.10
    session_affinity: ClientIP
    ports: [{protocol: TCP, port: 80, target_port: 8080}]
    backends: [%s]
)";
    auto with = [&](const char* b) {
        std::string y = svc;
        y.replace(y.find("%s"), 2, b);
        return y;
    };
    LbNode node(with("{ip: 10.200.0.12}, {ip: 10.200.0.13}"));
    const uint16_t first = node.send(kPortA, tcp_frame(kA, 43000, kVip, 80, RTE_TCP_SYN_FLAG)).port;
    REQUIRE(first != kDropPort);
    for (uint16_t sport = 43001; sport < 43040; ++sport)
        CHECK(node.send(kPortA, tcp_frame(kA, sport, kVip, 80, RTE_TCP_SYN_FLAG)).port == first);
    node.load(with("{ip: 10.200.0.12}, {ip: 10.200.0.13}, {ip: 10.200.0.99}"));
    for (uint16_t sport = 43100; sport < 43120; ++sport)
        CHECK(node.send(kPortA, tcp_frame(kA, sport, kVip, 80, RTE_TCP_SYN_FLAG)).port == first);
}

/// A UDP fragment from `src` to `dst`: the first (ports, MF set) when
/// `offset8` is 0, else a later one at offset8 * 8 bytes whose first bytes
/// are not ports (1111 and 2222 where ports would be).
std::vector<uint8_t> udp_fragment(Ipv4Addr src, uint16_t sport, Ipv4Addr dst, uint16_t dport, uint16_t id,
                                  uint16_t offset8, bool more) {
    const bool first = offset8 == 0;
    return ipv4_frame({.src_mac = MacAddr::from_ipv4(src),
                       .dst_mac = kGwMac,
                       .src = src,
                       .dst = dst,
                       .proto = IPPROTO_UDP,
                       .payload = 64,
                       .frag_off = static_cast<uint16_t>(offset8 | (more ? RTE_IPV4_HDR_MF_FLAG : 0)),
                       .packet_id = id,
                       .sport = first ? sport : uint16_t{1111},
                       .dport = first ? dport : uint16_t{2222},
                       .l4_checksum = false});
}

/// The addresses of an output frame, its IPv4 header checksum verified.
std::pair<Ipv4Addr, Ipv4Addr> addrs_of(const Fate& f) {
    auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(f.bytes.data() + sizeof(rte_ether_hdr));
    CHECK(rte_raw_cksum(ip, sizeof(rte_ipv4_hdr)) == 0xffff);
    return {Ipv4Addr{ip->src_addr}, Ipv4Addr{ip->dst_addr}};
}

TEST_CASE("IPv4 fragments follow their first fragment's flow to the backend and back", "[lb]") {
    LbNode node(R"(
services:
  - name: default/dns
    cluster_ip: 10.96.0.10
    ports: [{protocol: UDP, port: 53, target_port: 5353}]
    backends: [{ip: 10.200.0.12}, {ip: 10.200.0.13}]
)");
    // The first fragment is load-balanced like a whole datagram.
    const Fate first = node.send(kPortA, udp_fragment(kA, 40000, kVip, 53, 7, 0, true));
    REQUIRE((first.port == kPortB || first.port == kPortC));
    const Seen s = decode(first.bytes);
    CHECK(s.dport == 5353);
    CHECK(node.ct->flows() == 1);
    // Later fragments go to the same backend, only their addresses rewritten.
    for (const uint16_t off : {9, 18}) {
        const Fate later = node.send(kPortA, udp_fragment(kA, 40000, kVip, 53, 7, off, off != 18));
        REQUIRE(later.port == first.port);
        CHECK(addrs_of(later) == std::pair{kA, s.dst});
        CHECK(decode(later.bytes).sport == 1111); // the bytes after its IP header are left alone
    }
    CHECK(node.ct->flows() == 1);
    // The backend's fragmented answer comes back from the service address.
    const Fate r1 = node.send(first.port, udp_fragment(s.dst, 5353, kA, 40000, 99, 0, true));
    REQUIRE(r1.port == kPortA);
    CHECK(decode(r1.bytes).src == kVip);
    CHECK(decode(r1.bytes).sport == 53);
    const Fate r2 = node.send(first.port, udp_fragment(s.dst, 5353, kA, 40000, 99, 9, false));
    REQUIRE(r2.port == kPortA);
    CHECK(addrs_of(r2) == std::pair{kVip, kA});
    // A later fragment whose first fragment was never seen is dropped (as
    // Cilium does), counted as a miss.
    CHECK(node.send(kPortA, udp_fragment(kA, 40000, kVip, 53, 8, 9, false)).port == kDropPort);
    CHECK(node.c.drop(DropReason::FragmentToService).get() == 1);
    const FragTotals t = node.frags->totals(ct_now_s());
    CHECK(t.tracked == 2);
    CHECK(t.hits == 3);
    CHECK(t.misses == 1);
    CHECK(t.full == 0);
    CHECK(t.entries == 2);
}

TEST_CASE("without a fragment table, fragments to a service address are dropped and counted", "[lb]") {
    LbNode node(kWeb);
    node.frags.reset(); // conntrack.max_fragment_datagrams: 0
    node.load(kWeb);
    const auto frag = tcp_frame(kA, 40000, kVip, 80, RTE_TCP_ACK_FLAG, 8, RTE_IPV4_HDR_MF_FLAG);
    CHECK(node.send(kPortA, frag).port == kDropPort);
    CHECK(node.c.drop(DropReason::FragmentToService).get() == 1);
    CHECK(node.ct->flows() == 0);
}

TEST_CASE("a full fragment table evicts its oldest datagram and counts it", "[lb]") {
    auto made = FragTable::create(4, 1); // one bucket of four
    REQUIRE(made);
    FragTable& t = **made;
    const rte_be32_t a = kA.be, b = kB.be;
    for (uint16_t id = 1; id <= 4; ++id)
        t.remember(a, b, IPPROTO_UDP, id, id, 53, 100 + id, 0);
    rte_be16_t sp = 0, dp = 0;
    CHECK(t.recall(a, b, IPPROTO_UDP, 1, 105, 0, sp, dp));
    CHECK(sp == 1);
    t.remember(a, b, IPPROTO_UDP, 5, 5, 53, 106, 0); // evicts id 1, the oldest
    CHECK_FALSE(t.recall(a, b, IPPROTO_UDP, 1, 106, 0, sp, dp));
    CHECK(t.recall(a, b, IPPROTO_UDP, 5, 106, 0, sp, dp));
    CHECK(t.recall(a, b, IPPROTO_TCP, 5, 106, 0, sp, dp) == false); // the protocol is part of the key
    // Entries expire kFragLifetimeS after their first fragment.
    CHECK_FALSE(t.recall(a, b, IPPROTO_UDP, 5, 106 + kFragLifetimeS, 0, sp, dp));
    const FragTotals tot = t.totals(106);
    CHECK(tot.tracked == 5);
    CHECK(tot.full == 1);
    CHECK(tot.entries == 4);
}

TEST_CASE("an ICMP error about a load-balanced flow reaches the client as if from the service", "[lb]") {
    LbNode node(R"(
services:
  - name: default/dns
    cluster_ip: 10.96.0.10
    ports: [{protocol: UDP, port: 53, target_port: 5353}]
    backends: [{ip: 10.200.0.12}]
)");
    const std::vector<uint8_t> query = ipv4_frame(
        {.src_mac = MacAddr::from_ipv4(kA), .dst_mac = kGwMac, .src = kA, .dst = kVip, .dport = 53, .l4_checksum = false});
    const Fate out = node.send(kPortA, query);
    REQUIRE(out.port == kPortB);
    const Seen fwd = decode(out.bytes);
    REQUIRE(fwd.dport == 5353);

    // The backend answers with port unreachable, quoting what it received.
    const auto* quoted_ip = out.bytes.data() + sizeof(rte_ether_hdr);
    std::vector<uint8_t> err(sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_icmp_hdr) + 28);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(err.data());
    put_mac(&eth->dst_addr, kGwMac);
    put_mac(&eth->src_addr, MacAddr::from_ipv4(kB));
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(sizeof(rte_ipv4_hdr) + sizeof(rte_icmp_hdr) + 28));
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_ICMP;
    ip->src_addr = kB.be;
    ip->dst_addr = kA.be;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    auto* icmp = reinterpret_cast<rte_icmp_hdr*>(ip + 1);
    icmp->icmp_type = 3;
    icmp->icmp_code = 3;
    std::memcpy(icmp + 1, quoted_ip, 28);
    icmp->icmp_cksum = static_cast<uint16_t>(~rte_raw_cksum(icmp, sizeof(rte_icmp_hdr) + 28));

    const Fate back = node.send(kPortB, err);
    REQUIRE(back.port == kPortA);
    const Seen e = decode(back.bytes);
    CHECK(e.proto == IPPROTO_ICMP);
    CHECK(e.src == kVip); // from the service, not the backend
    CHECK(e.dst == kA);
    CHECK(e.checksums_ok);
    const auto* inner = reinterpret_cast<const rte_ipv4_hdr*>(back.bytes.data() + sizeof(rte_ether_hdr) +
                                                              sizeof(rte_ipv4_hdr) + sizeof(rte_icmp_hdr));
    CHECK(Ipv4Addr{inner->src_addr} == kA);
    CHECK(Ipv4Addr{inner->dst_addr} == kVip); // the quote shows what the client sent
    const auto* inner_udp = reinterpret_cast<const rte_udp_hdr*>(inner + 1);
    CHECK(rte_be_to_cpu_16(inner_udp->dst_port) == 53);
    CHECK(rte_be_to_cpu_16(inner_udp->src_port) == 40000);
}

namespace {

const Ipv4Addr kNode = *Ipv4Addr::parse("192.168.50.11");
const Ipv4Addr kPeer = *Ipv4Addr::parse("192.168.50.12");
const Ipv4Addr kExt = *Ipv4Addr::parse("192.168.50.1");
const Ipv4Addr kRemotePod = *Ipv4Addr::parse("10.201.0.12");
constexpr uint16_t kUplink = 9;
constexpr uint16_t kHostPort = 8; ///< the host path (the node's kernel)

/// LbNode plus an uplink: node IP 192.168.50.11, a peer node .12 owning
/// 10.201.0.0/24 (VXLAN), the external host .1 resolved on the subnet.
struct UplinkNode : LbNode {
    explicit UplinkNode(const std::string& yaml) : LbNode(yaml) { load_uplink(yaml); }

    void load_uplink(const std::string& services_yaml) {
        ServiceCompileInputs in;
        in.node_ip = kNode;
        in.remote_pod_cidrs = {*Ipv4Prefix::parse("10.201.0.0/24")};
        in.peer_node_ips = {kPeer};
        SnapshotInputs si;
        si.endpoints = {{kA, MacAddr::from_ipv4(kA), {kPortA, 1}}, {kB, MacAddr::from_ipv4(kB), {kPortB, 1}}};
        UplinkInput u;
        u.port = {kUplink, 1};
        u.node_ip = kNode;
        u.node_mac = MacAddr::from_ipv4(kNode);
        u.routing = Routing::Vxlan;
        u.nodes.push_back(RemoteNodeInput{kPeer, {*Ipv4Prefix::parse("10.201.0.0/24")}, MacAddr::from_ipv4(kPeer), true, {}});
        u.subnet = *Ipv4Prefix::parse("192.168.50.0/24");
        u.neighbors = {{kExt, MacAddr::from_ipv4(kExt)}, {kPeer, MacAddr::from_ipv4(kPeer)}};
        u.host_port = PortQueues{kHostPort, 1};
        u.host_mac = *MacAddr::parse("02:00:00:00:00:99");
        si.uplink = u;
        build("node: {name: node1, ip: 192.168.50.11}\n"
              "network:\n  pod_cidr: 10.200.0.0/24\n  gateway_ip: 10.200.0.1\n"
              "uplinks: [{name: eth0, devargs: net_null0}]\n"
              "nodes: [{name: node2, ip: 192.168.50.12, pod_cidrs: [10.201.0.0/24]}]\n" +
                  services_yaml,
              in, si);
    }
};

std::vector<uint8_t> from_outside(std::vector<uint8_t> f) {
    auto* eth = reinterpret_cast<rte_ether_hdr*>(f.data());
    put_mac(&eth->dst_addr, MacAddr::from_ipv4(kNode));
    return f;
}

} // namespace

TEST_CASE("masquerade: a pod's traffic to the outside leaves as the node IP, replies come back", "[lb]") {
    UplinkNode node("");
    const Fate out = node.send(kPortA, tcp_frame(kA, 40000, kExt, 80, RTE_TCP_SYN_FLAG));
    REQUIRE(out.port == kUplink);
    const Seen s = decode(out.bytes);
    CHECK(s.src == kNode);
    CHECK(s.sport >= 32768);
    CHECK(s.dst == kExt);
    CHECK(s.dport == 80);
    CHECK(s.checksums_ok);

    const Fate back =
        node.send(kUplink, from_outside(tcp_frame(kExt, 80, kNode, s.sport, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)));
    REQUIRE(back.port == kPortA);
    const Seen r = decode(back.bytes);
    CHECK(r.src == kExt);
    CHECK(r.dst == kA);
    CHECK(r.dport == 40000);
    CHECK(r.checksums_ok);

    // Other nodes' IPs are inside the cluster: no masquerade.
    const Fate to_peer = node.send(kPortA, tcp_frame(kA, 40001, kPeer, 22, RTE_TCP_SYN_FLAG));
    REQUIRE(to_peer.port == kUplink);
    CHECK(decode(to_peer.bytes).src == kA);
    // non_masquerade_cidrs are honoured.
    UplinkNode exempt("masquerade:\n  non_masquerade_cidrs: [192.168.50.0/24]\n");
    const Fate kept = exempt.send(kPortA, tcp_frame(kA, 40000, kExt, 80, RTE_TCP_SYN_FLAG));
    REQUIRE(kept.port == kUplink);
    CHECK(decode(kept.bytes).src == kA);
}

TEST_CASE("fragments from the uplink: a NodePort's datagram and a masqueraded flow's answer follow their flows",
          "[lb]") {
    UplinkNode node(R"(
services:
  - name: default/dns
    type: NodePort
    cluster_ip: 10.96.0.20
    ports: [{protocol: UDP, port: 53, target_port: 5353, node_port: 30053}]
    backends: [{ip: 10.201.0.12, node: node2}]
)");
    // NodePort: the first fragment is SNATed and tunnelled to node2; the
    // later one gets the same addresses (its bytes untouched).
    const Fate f1 = node.send(kUplink, from_outside(udp_fragment(kExt, 50000, kNode, 30053, 21, 0, true)));
    REQUIRE(f1.port == kUplink);
    REQUIRE(f1.bytes.size() > kTunnelOverhead);
    const std::vector<uint8_t> in1(f1.bytes.begin() + kTunnelOverhead, f1.bytes.end());
    const Seen s = decode(in1);
    CHECK(s.src == kNode);
    CHECK(s.dst == kRemotePod);
    CHECK(s.dport == 5353);
    const Fate f2 = node.send(kUplink, from_outside(udp_fragment(kExt, 50000, kNode, 30053, 21, 9, false)));
    REQUIRE(f2.port == kUplink);
    REQUIRE(f2.bytes.size() > kTunnelOverhead);
    const std::vector<uint8_t> in2(f2.bytes.begin() + kTunnelOverhead, f2.bytes.end());
    CHECK(decode(in2).src == kNode);
    CHECK(decode(in2).dst == kRemotePod);
    CHECK(decode(in2).sport == 1111);
    // The backend's fragmented answer, natively routed back: to the client
    // from the NodePort.
    const Fate r1 = node.send(kUplink, from_outside(udp_fragment(kRemotePod, 5353, kNode, s.sport, 77, 0, true)));
    REQUIRE(r1.port == kUplink);
    CHECK(decode(r1.bytes).src == kNode);
    CHECK(decode(r1.bytes).sport == 30053);
    CHECK(decode(r1.bytes).dst == kExt);
    CHECK(decode(r1.bytes).dport == 50000);
    const Fate r2 = node.send(kUplink, from_outside(udp_fragment(kRemotePod, 5353, kNode, s.sport, 77, 9, false)));
    REQUIRE(r2.port == kUplink);
    CHECK(addrs_of(r2) == std::pair{kNode, kExt});

    // Masquerade: a pod's fragmented datagram leaves as the node IP, and the
    // fragmented answer comes back to the pod.
    const Fate m1 = node.send(kPortA, udp_fragment(kA, 41000, kExt, 7007, 5, 0, true));
    REQUIRE(m1.port == kUplink);
    const Seen ms = decode(m1.bytes);
    CHECK(ms.src == kNode);
    const Fate m2 = node.send(kPortA, udp_fragment(kA, 41000, kExt, 7007, 5, 9, false));
    REQUIRE(m2.port == kUplink);
    CHECK(addrs_of(m2) == std::pair{kNode, kExt});
    const Fate a1 = node.send(kUplink, from_outside(udp_fragment(kExt, 7007, kNode, ms.sport, 6, 0, true)));
    REQUIRE(a1.port == kPortA);
    CHECK(decode(a1.bytes).dst == kA);
    CHECK(decode(a1.bytes).dport == 41000);
    const Fate a2 = node.send(kUplink, from_outside(udp_fragment(kExt, 7007, kNode, ms.sport, 6, 9, false)));
    REQUIRE(a2.port == kPortA);
    CHECK(addrs_of(a2) == std::pair{kExt, kA});
    const FragTotals t = node.frags->totals(ct_now_s());
    CHECK(t.tracked == 4);
    CHECK(t.hits == 4);
    CHECK(t.misses == 0);
    CHECK(node.c.drop(DropReason::FragmentToService).get() == 0);
}

TEST_CASE("NodePort in snat mode: a remote backend gets the node IP, the reply goes back to the client", "[lb]") {
    UplinkNode node(R"(
services:
  - name: default/np
    type: NodePort
    cluster_ip: 10.96.0.20
    ports: [{protocol: TCP, port: 80, target_port: 8080, node_port: 30080}]
    backends: [{ip: 10.201.0.12, node: node2}]
)");
    const Fate in = node.send(kUplink, from_outside(tcp_frame(kExt, 50000, kNode, 30080, RTE_TCP_SYN_FLAG)));
    REQUIRE(in.port == kUplink);
    // Encapsulated to node2: the inner packet goes from the node IP to the backend.
    REQUIRE(in.bytes.size() > kTunnelOverhead);
    const std::vector<uint8_t> inner(in.bytes.begin() + kTunnelOverhead, in.bytes.end());
    const Seen s = decode(inner);
    CHECK(s.src == kNode);
    CHECK(s.sport >= 32768);
    CHECK(s.dst == kRemotePod);
    CHECK(s.dport == 8080);
    CHECK(s.checksums_ok);

    // The backend's node routes the reply natively to this node's IP.
    const Fate back = node.send(
        kUplink, from_outside(tcp_frame(kRemotePod, 8080, kNode, s.sport, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)));
    REQUIRE(back.port == kUplink);
    const Seen r = decode(back.bytes);
    CHECK(r.src == kNode);
    CHECK(r.sport == 30080);
    CHECK(r.dst == kExt);
    CHECK(r.dport == 50000);
    CHECK(r.checksums_ok);

    // A ClusterIP is not reachable from outside.
    CHECK(node.send(kUplink, from_outside(tcp_frame(kExt, 50001, *Ipv4Addr::parse("10.96.0.20"), 80, RTE_TCP_SYN_FLAG)))
              .port == kDropPort);
}

TEST_CASE("stage counters: masquerade and encapsulation on the way out, the uplink's journeys in", "[lb][stages]") {
    UplinkNode node(R"(
services:
  - name: default/np
    type: NodePort
    cluster_ip: 10.96.0.20
    ports: [{protocol: TCP, port: 80, target_port: 8080, node_port: 30080}]
    backends: [{ip: 10.201.0.12, node: node2}]
)");
    // A pod to the outside (masqueraded) and to a pod on node2 (VXLAN).
    REQUIRE(node.send(kPortA, tcp_frame(kA, 40000, kExt, 80, RTE_TCP_SYN_FLAG)).port == kUplink);
    REQUIRE(node.send(kPortA, tcp_frame(kA, 40001, kRemotePod, 80, RTE_TCP_SYN_FLAG)).port == kUplink);
    check_stages(node.c, {{Stage::Parse, 2, 0, 0},
                          {Stage::Source, 2, 0, 0},
                          {Stage::LoadBalancer, 2, 0, 0},
                          {Stage::Route, 2, 0, 0},
                          {Stage::Masquerade, 1, 1, 0},
                          {Stage::Encap, 1, 1, 0},
                          {Stage::Deliver, 2, 0, 2}});

    // From the uplink: a NodePort (translated, then encapsulated to node2),
    // another node's packet for pod A, multicast, an ARP request for the
    // node IP.
    WorkerCounters c;
    auto send = [&](const std::vector<uint8_t>& f) { return run_frame(*node.snap, kUplink, f, c, lb_pool()); };
    REQUIRE(send(from_outside(tcp_frame(kExt, 50000, kNode, 30080, RTE_TCP_SYN_FLAG))).port == kUplink);
    REQUIRE(send(from_outside(tcp_frame(kPeer, 50000, kA, 80, RTE_TCP_SYN_FLAG))).port == kPortA);
    CHECK(send(from_outside(tcp_frame(kExt, 50000, *Ipv4Addr::parse("224.0.0.5"), 80, 0))).port == kDropPort);
    CHECK(send(arp_request(MacAddr::from_ipv4(kExt), kExt, kNode)).port == kUplink);
    check_stages(c, {{Stage::Parse, 4, 0, 0},
                     {Stage::Arp, 1, 0, 1},
                     {Stage::LoadBalancer, 2, 1, 0},
                     {Stage::Route, 3, 0, 1},
                     {Stage::Encap, 1, 1, 0},
                     {Stage::Deliver, 2, 0, 2}});
}

TEST_CASE("a pod answering a client outside the cluster is not masqueraded (native routing)", "[lb]") {
    UplinkNode node("");
    const Fate in = node.send(kUplink, from_outside(tcp_frame(kExt, 50000, kA, 80, RTE_TCP_SYN_FLAG)));
    REQUIRE(in.port == kPortA);
    const Fate reply = node.send(kPortA, tcp_frame(kA, 80, kExt, 50000, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG));
    REQUIRE(reply.port == kUplink);
    const Seen r = decode(reply.bytes);
    CHECK(r.src == kA); // the client connected to the pod's own address
    CHECK(r.sport == 80);
    CHECK(r.checksums_ok);
    // The same pod opening a connection outward is still masqueraded.
    const Fate out = node.send(kPortA, tcp_frame(kA, 40000, kExt, 80, RTE_TCP_SYN_FLAG));
    REQUIRE(out.port == kUplink);
    CHECK(decode(out.bytes).src == kNode);
}

TEST_CASE("the node kernel's own connections outside keep their ports and replies", "[lb]") {
    UplinkNode node("");
    // The kernel (host path) opens 192.168.50.11:40000 -> 192.168.50.1:80.
    const Fate out = node.send(kHostPort, tcp_frame(kNode, 40000, kExt, 80, RTE_TCP_SYN_FLAG));
    REQUIRE(out.port == kUplink);
    const Seen s = decode(out.bytes);
    CHECK(s.src == kNode);
    CHECK(s.sport == 40000); // not translated
    // Its reply tuple is taken: masquerade cannot give port 40000 to a pod's flow to that server.
    CHECK(node.ct->in_use(CtTuple{kExt.be, kNode.be, rte_cpu_to_be_16(80), rte_cpu_to_be_16(40000), IPPROTO_TCP, {}}));
    // The server's answer still reaches the kernel.
    const Fate back =
        node.send(kUplink, from_outside(tcp_frame(kExt, 80, kNode, 40000, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)));
    CHECK(back.port == kHostPort);
    CHECK(decode(back.bytes).dport == 40000);
}

TEST_CASE("new flows whose packets share a burst are tracked once each, on one backend", "[lb][stages]") {
    // Two backends, random selection: a flow tracked twice would soon split.
    LbNode node(R"(
services:
  - name: default/web
    cluster_ip: 10.96.0.10
    ports: [{protocol: TCP, port: 80, target_port: 8080}]
    backends: [{ip: 10.200.0.12}, {ip: 10.200.0.13}]
)");
    constexpr uint16_t kFlows = 6, kRepeats = 4;
    std::vector<rte_mbuf*> burst;
    for (uint16_t r = 0; r < kRepeats; ++r)
        for (uint16_t f = 0; f < kFlows; ++f) {
            rte_mbuf* m = to_mbuf(lb_pool(), tcp_frame(kA, static_cast<uint16_t>(42000 + f), kVip, 80, RTE_TCP_SYN_FLAG));
            REQUIRE(m != nullptr);
            burst.push_back(m);
        }
    std::vector<uint16_t> out(burst.size());
    run_stages(*node.snap, kPortA, std::span(burst), out.data(), node.c);
    CHECK(node.ct->flows() == kFlows);
    CHECK(node.ct->insert_failures() == 0);
    std::map<uint16_t, std::set<uint32_t>> backends_of; // client port -> backends its packets went to
    for (size_t i = 0; i < burst.size(); ++i) {
        REQUIRE(out[i] != kDropPort);
        const Seen s = decode(bytes_of(burst[i]));
        CHECK(s.dport == 8080);
        backends_of[s.sport].insert(s.dst.be);
        rte_pktmbuf_free(burst[i]);
    }
    CHECK(backends_of.size() == kFlows);
    for (const auto& [port, backends] : backends_of) {
        INFO("client port " << port);
        CHECK(backends.size() == 1);
    }    // The burst's stage counts, added once for the burst.
    check_stages(node.c, {{Stage::Parse, 24, 0, 0},
                          {Stage::Source, 24, 0, 0},
                          {Stage::LoadBalancer, 24, 24, 0},
                          {Stage::Route, 24, 0, 0},
                          {Stage::Deliver, 24, 0, 24}});
}
