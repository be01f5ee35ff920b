// Multi-node forwarding on packet fixtures: pod -> remote pod natively and in
// VXLAN/Geneve tunnels, decapsulation on the receiving node, path MTU, and
// ARP/ping for the node IP on the uplink.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "control/tables/snapshot_builder.h"
#include "dataplane/checksum.h"
#include "dataplane/hold_queue.h"
#include "dataplane/pipeline.h"
#include "dataplane/tunnel.h"
#include "frame_builder.h"
#include "pipeline_fixture.h"

using namespace podlane;
using namespace podlane::test;

namespace {

constexpr uint16_t kPodPort = 5, kUplinkPort = 7;
const Ipv4Addr kNode1 = *Ipv4Addr::parse("192.168.50.11");
const Ipv4Addr kNode2 = *Ipv4Addr::parse("192.168.50.12");
const MacAddr kNode1Mac = *MacAddr::parse("02:00:00:00:00:11");
const MacAddr kNode2Mac = *MacAddr::parse("02:00:00:00:00:12");
const Ipv4Addr kPodA = *Ipv4Addr::parse("10.200.0.11");  // on node1
const Ipv4Addr kPodR = *Ipv4Addr::parse("10.200.1.21");  // on node2
constexpr uint32_t kIdentityA = 4242;

rte_mempool* tunnel_pool() {
    static rte_mempool* pool = rte_pktmbuf_pool_create("test_tun_pool", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    return pool;
}

/// The snapshot of node `self` (1 or 2) in a two-node cluster.
constexpr uint16_t kHostPort = 9;
const MacAddr kHostMac = *MacAddr::parse("0a:58:c0:a8:32:0b");
const Ipv4Addr kRouter = *Ipv4Addr::parse("192.168.50.1");
const MacAddr kRouterMac = *MacAddr::parse("02:00:00:00:00:01");

std::unique_ptr<Snapshot> node_snapshot(int self, Routing routing, bool peer_resolved = true,
                                        rte_ring* neighbor_ring = nullptr, bool host_path = false,
                                        uint16_t uplink_port = kUplinkPort) {
    const bool one = self == 1;
    SnapshotInputs in;
    in.pod_cidr = *Ipv4Prefix::parse(one ? "10.200.0.0/24" : "10.200.1.0/24");
    in.gateway_ip = *Ipv4Addr::parse(one ? "10.200.0.1" : "10.200.1.1");
    in.gateway_mac = MacAddr::from_ipv4(in.gateway_ip);
    const Ipv4Addr pod = one ? kPodA : kPodR;
    in.endpoints = {{pod, MacAddr::from_ipv4(pod), {kPodPort, 1}, one ? kIdentityA : 777}};
    UplinkInput u;
    u.port = {uplink_port, 1};
    u.node_ip = one ? kNode1 : kNode2;
    u.node_mac = one ? kNode1Mac : kNode2Mac;
    u.routing = routing;
    u.tunnel_port = routing == Routing::Geneve ? 6081 : 8472;
    u.neighbor_ring = neighbor_ring;
    u.nodes = {{one ? kNode2 : kNode1, {*Ipv4Prefix::parse(one ? "10.200.1.0/24" : "10.200.0.0/24")},
                one ? kNode2Mac : kNode1Mac, peer_resolved, {}}};
    u.subnet = *Ipv4Prefix::parse("192.168.50.0/24");
    u.gateway = kRouter;
    u.neighbors = {{kRouter, kRouterMac}};
    if (peer_resolved)
        u.neighbors.emplace_back(one ? kNode2 : kNode1, one ? kNode2Mac : kNode1Mac);
    if (host_path) {
        u.host_port = PortQueues{kHostPort, 1};
        u.host_mac = kHostMac;
    }
    in.uplink = u;
    return build_snapshot(in);
}

using Out = Fate;

Out run_one(const Snapshot& snap, uint16_t in_port, const std::vector<uint8_t>& frame, WorkerCounters& c) {
    return run_frame(snap, in_port, frame, c, tunnel_pool());
}

Ipv4Spec a_to_remote(uint16_t payload = 18) {
    Ipv4Spec s;
    s.src_mac = MacAddr::from_ipv4(kPodA);
    s.dst_mac = MacAddr::from_ipv4(*Ipv4Addr::parse("10.200.0.1"));
    s.src = kPodA;
    s.dst = kPodR;
    s.payload = payload;
    return s;
}

const OuterHdrs& outer_of(const std::vector<uint8_t>& f) { return *reinterpret_cast<const OuterHdrs*>(f.data()); }

uint32_t vni_of(const OuterHdrs& o) { return uint32_t{o.tun.vni[0]} << 16 | uint32_t{o.tun.vni[1]} << 8 | o.tun.vni[2]; }

/// An uplink that really transmits (a net_ring port: what it sends lands in
/// `tx`) and the workers' neighbour-fact ring, for the hold-queue cases.
struct RingUplink {
    rte_ring* neighbors = nullptr;
    rte_ring* rx = nullptr;
    rte_ring* tx = nullptr;
    uint16_t port = 0;

    explicit RingUplink(const std::string& name) {
        neighbors = rte_ring_create_elem((name + "_neigh").c_str(), sizeof(NeighborFact), 64, 0, RING_F_SC_DEQ);
        rx = rte_ring_create((name + "_rx").c_str(), 64, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        tx = rte_ring_create((name + "_tx").c_str(), 64, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        REQUIRE((neighbors && rx && tx));
        const int id = rte_eth_from_rings((name + "_uplink").c_str(), &rx, 1, &tx, 1, 0);
        REQUIRE(id >= 0);
        port = static_cast<uint16_t>(id);
        rte_eth_conf conf{};
        REQUIRE(rte_eth_dev_configure(port, 1, 1, &conf) == 0);
        REQUIRE(rte_eth_rx_queue_setup(port, 0, 64, 0, nullptr, tunnel_pool()) == 0);
        REQUIRE(rte_eth_tx_queue_setup(port, 0, 64, 0, nullptr) == 0);
        REQUIRE(rte_eth_dev_start(port) == 0);
    }
    ~RingUplink() {
        rte_eth_dev_stop(port);
        rte_eth_dev_close(port);
        for (rte_ring* r : {neighbors, rx, tx})
            rte_ring_free(r);
    }
    RingUplink(const RingUplink&) = delete;
    RingUplink& operator=(const RingUplink&) = delete;
};

} // namespace

TEST_CASE("pod to remote pod is encapsulated in VXLAN or Geneve with the source identity as VNI", "[tunnel]") {
    for (Routing routing : {Routing::Vxlan, Routing::Geneve}) {
        const bool geneve = routing == Routing::Geneve;
        INFO((geneve ? "geneve" : "vxlan"));
        auto snap = node_snapshot(1, routing);
        WorkerCounters c;
        const auto inner = ipv4_frame(a_to_remote());
        Out r = run_one(*snap, kPodPort, inner, c);
        REQUIRE(r.port == kUplinkPort);
        REQUIRE(r.bytes.size() == inner.size() + kTunnelOverhead);
        const OuterHdrs& o = outer_of(r.bytes);
        CHECK(std::memcmp(o.eth.dst_addr.addr_bytes, kNode2Mac.bytes.data(), 6) == 0);
        CHECK(std::memcmp(o.eth.src_addr.addr_bytes, kNode1Mac.bytes.data(), 6) == 0);
        CHECK(o.ip.src_addr == kNode1.be);
        CHECK(o.ip.dst_addr == kNode2.be);
        CHECK(o.ip.next_proto_id == IPPROTO_UDP);
        CHECK(rte_be_to_cpu_16(o.ip.total_length) == inner.size() + kTunnelOverhead - 14);
        CHECK(ipv4_checksum_ok(&o.ip, 20));
        CHECK(rte_be_to_cpu_16(o.udp.dst_port) == (geneve ? 6081 : 8472));
        CHECK(rte_be_to_cpu_16(o.udp.src_port) >= 49152);
        CHECK(rte_be_to_cpu_16(o.udp.dgram_len) == inner.size() + 16);
        CHECK(vni_of(o) == kIdentityA);
        if (geneve) {
            CHECK(o.tun.b0 == 0);
            CHECK(rte_be_to_cpu_16(o.tun.proto) == 0x6558);
        } else {
            CHECK(o.tun.b0 == 0x08);
        }
        // The inner packet: TTL decremented once, checksum still right, payload intact.
        const auto* inner_ip = reinterpret_cast<const rte_ipv4_hdr*>(r.bytes.data() + kTunnelOverhead + 14);
        CHECK(inner_ip->time_to_live == 63);
        CHECK(ipv4_checksum_ok(inner_ip, 20));
        CHECK(std::equal(inner.begin() + 34, inner.end(), r.bytes.begin() + kTunnelOverhead + 34));
        CHECK(c.encapsulated.get() == 1);
    }
}

TEST_CASE("the frame builder's encapsulation is the dataplane's, and the peer decapsulates it", "[tunnel]") {
    static_assert(kEncapLen == kTunnelOverhead);
    for (Routing routing : {Routing::Vxlan, Routing::Geneve}) {
        const bool geneve = routing == Routing::Geneve;
        INFO((geneve ? "geneve" : "vxlan"));
        auto node1 = node_snapshot(1, routing);
        auto node2 = node_snapshot(2, routing);
        WorkerCounters c1, c2;
        Out wire = run_one(*node1, kPodPort, ipv4_frame(a_to_remote()), c1);
        REQUIRE(wire.port == kUplinkPort);
        const OuterHdrs& o = outer_of(wire.bytes);
        const std::vector<uint8_t> inner(wire.bytes.begin() + kTunnelOverhead, wire.bytes.end());
        const std::vector<uint8_t> built = encapsulate({.kind = geneve ? TunnelKind::Geneve : TunnelKind::Vxlan,
                                                        .src_mac = kNode1Mac,
                                                        .dst_mac = kNode2Mac,
                                                        .src = kNode1,
                                                        .dst = kNode2,
                                                        .sport = rte_be_to_cpu_16(o.udp.src_port),
                                                        .vni = kIdentityA,
                                                        .ttl = o.ip.time_to_live,
                                                        .frag_off = rte_be_to_cpu_16(o.ip.fragment_offset),
                                                        .packet_id = rte_be_to_cpu_16(o.ip.packet_id)},
                                                       inner);
        CHECK(built == wire.bytes);
        Out delivered = run_one(*node2, kUplinkPort, built, c2);
        CHECK(delivered.port == kPodPort);
        CHECK(c2.decapsulated.get() == 1);
    }
}

TEST_CASE("the inner frame is addressed to the peer's kernel VXLAN device when configured", "[tunnel]") {
    SnapshotInputs in;
    in.pod_cidr = *Ipv4Prefix::parse("10.200.0.0/24");
    in.gateway_ip = *Ipv4Addr::parse("10.200.0.1");
    in.gateway_mac = MacAddr::from_ipv4(in.gateway_ip);
    in.endpoints = {{kPodA, MacAddr::from_ipv4(kPodA), {kPodPort, 1}, kIdentityA}};
    UplinkInput u;
    u.port = {kUplinkPort, 1};
    u.node_ip = kNode1;
    u.node_mac = kNode1Mac;
    const MacAddr vxlan_dev = *MacAddr::parse("02:00:00:00:20:01");
    u.nodes = {{kNode2, {*Ipv4Prefix::parse("10.200.1.0/24")}, kNode2Mac, true, vxlan_dev}};
    in.uplink = u;
    auto snap = build_snapshot(in);
    WorkerCounters c;
    Out r = run_one(*snap, kPodPort, ipv4_frame(a_to_remote()), c);
    REQUIRE(r.port == kUplinkPort);
    CHECK(std::memcmp(r.bytes.data(), kNode2Mac.bytes.data(), 6) == 0);                   // outer: the node
    CHECK(std::memcmp(r.bytes.data() + kTunnelOverhead, vxlan_dev.bytes.data(), 6) == 0); // inner: its device
}

TEST_CASE("the outer source port follows the inner flow", "[tunnel]") {
    auto snap = node_snapshot(1, Routing::Vxlan);
    WorkerCounters c;
    auto sport = [&](uint16_t udp_src) {
        Ipv4Spec s = a_to_remote();
        s.sport = udp_src;
        Out r = run_one(*snap, kPodPort, ipv4_frame(s), c);
        REQUIRE(r.port == kUplinkPort);
        return rte_be_to_cpu_16(outer_of(r.bytes).udp.src_port);
    };
    CHECK(sport(40000) == sport(40000));
    std::set<uint16_t> seen;
    for (uint16_t p = 40000; p < 40064; ++p)
        seen.insert(sport(p));
    CHECK(seen.size() > 48); // 64 flows spread over the 16k-port range
}

TEST_CASE("a tunnelled packet comes out on the other node as the original, delivered to its pod",
          "[tunnel][stages]") {
    for (Routing routing : {Routing::Vxlan, Routing::Geneve}) {
        INFO((routing == Routing::Geneve ? "geneve" : "vxlan"));
        auto node1 = node_snapshot(1, routing);
        auto node2 = node_snapshot(2, routing);
        WorkerCounters c1, c2;
        const auto inner = ipv4_frame(a_to_remote(100));
        Out wire = run_one(*node1, kPodPort, inner, c1);
        REQUIRE(wire.port == kUplinkPort);
        Out delivered = run_one(*node2, kUplinkPort, wire.bytes, c2);
        REQUIRE(delivered.port == kPodPort);
        REQUIRE(delivered.bytes.size() == inner.size());
        CHECK(std::memcmp(delivered.bytes.data(), MacAddr::from_ipv4(kPodR).bytes.data(), 6) == 0);
        const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(delivered.bytes.data() + 14);
        CHECK(ip->time_to_live == 62); // a router hop on each node
        CHECK(ip->src_addr == kPodA.be);
        CHECK(ipv4_checksum_ok(ip, 20));
        CHECK(std::equal(inner.begin() + 34, inner.end(), delivered.bytes.begin() + 34));
        CHECK(c2.decapsulated.get() == 1);
        check_stages(c1, {{Stage::Parse, 1, 0, 0},
                          {Stage::Source, 1, 0, 0},
                          {Stage::LoadBalancer, 1, 0, 0},
                          {Stage::Route, 1, 0, 0},
                          {Stage::Encap, 1, 1, 0},
                          {Stage::Deliver, 1, 0, 1}});
        check_stages(c2, {{Stage::Parse, 1, 0, 0},
                          {Stage::Decap, 1, 1, 0},
                          {Stage::LoadBalancer, 1, 0, 0},
                          {Stage::Route, 1, 0, 0},
                          {Stage::Deliver, 1, 0, 1}});
    }
}

TEST_CASE("native routing sends the packet unencapsulated to the owning node's MAC", "[tunnel]") {
    auto node1 = node_snapshot(1, Routing::Native);
    auto node2 = node_snapshot(2, Routing::Native);
    WorkerCounters c;
    const auto inner = ipv4_frame(a_to_remote());
    Out r = run_one(*node1, kPodPort, inner, c);
    REQUIRE(r.port == kUplinkPort);
    REQUIRE(r.bytes.size() == inner.size());
    CHECK(std::memcmp(r.bytes.data(), kNode2Mac.bytes.data(), 6) == 0);
    CHECK(std::memcmp(r.bytes.data() + 6, kNode1Mac.bytes.data(), 6) == 0);
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(r.bytes.data() + 14);
    CHECK(ip->src_addr == kPodA.be); // the pod's own IP, no SNAT
    CHECK(ip->time_to_live == 63);
    Out delivered = run_one(*node2, kUplinkPort, r.bytes, c);
    CHECK(delivered.port == kPodPort);
}

TEST_CASE("remote forwarding drops and errors are counted", "[tunnel]") {
    WorkerCounters c;
    SECTION("next hop not resolved") {
        auto snap = node_snapshot(1, Routing::Vxlan, false);
        CHECK(run_one(*snap, kPodPort, ipv4_frame(a_to_remote()), c).port == kDropPort);
        CHECK(c.drop(DropReason::NoNeighbour).get() == 1);
    }
    SECTION("too big for the tunnel, DF set: ICMP fragmentation needed back to the pod") {
        auto snap = node_snapshot(1, Routing::Vxlan);
        auto f = ipv4_frame(a_to_remote(1500 - 20 - 8)); // a full 1500-byte IP packet
        reinterpret_cast<rte_ipv4_hdr*>(f.data() + 14)->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(f.data() + 14);
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        Out r = run_one(*snap, kPodPort, f, c);
        REQUIRE(r.port == kPodPort);
        const auto* eip = reinterpret_cast<const rte_ipv4_hdr*>(r.bytes.data() + 14);
        CHECK(eip->dst_addr == kPodA.be);
        CHECK(eip->src_addr == Ipv4Addr::parse("10.200.0.1")->be);
        CHECK(ipv4_checksum_ok(eip, 20));
        const auto* icmp = reinterpret_cast<const rte_icmp_hdr*>(eip + 1);
        CHECK(icmp->icmp_type == 3);
        CHECK(icmp->icmp_code == 4);
        CHECK(rte_be_to_cpu_16(icmp->icmp_seq_nb) == 1450);
        CHECK(rte_raw_cksum(icmp, r.bytes.size() - 34) == 0xffff);
        // The quoted header is the original one.
        const auto* quoted = reinterpret_cast<const rte_ipv4_hdr*>(icmp + 1);
        CHECK(quoted->dst_addr == kPodR.be);
        CHECK(r.bytes.size() == 14 + 20 + 8 + 20 + 8);
        CHECK(c.icmp_errors.get() == 1);
    }
    SECTION("too big without DF: dropped, podlane does not fragment") {
        auto snap = node_snapshot(1, Routing::Vxlan);
        CHECK(run_one(*snap, kPodPort, ipv4_frame(a_to_remote(1472)), c).port == kDropPort);
        CHECK(c.drop(DropReason::TooBig).get() == 1);
    }
    SECTION("a bad tunnel header") {
        auto node1 = node_snapshot(1, Routing::Vxlan);
        auto node2 = node_snapshot(2, Routing::Vxlan);
        Out wire = run_one(*node1, kPodPort, ipv4_frame(a_to_remote()), c);
        REQUIRE(wire.port == kUplinkPort);
        wire.bytes[offsetof(OuterHdrs, tun)] = 0; // VNI flag cleared
        CHECK(run_one(*node2, kUplinkPort, wire.bytes, c).port == kDropPort);
        CHECK(c.drop(DropReason::BadTunnel).get() == 1);
    }
}

TEST_CASE("the uplink answers ARP and ping for the node IP and passes ARP facts to control", "[tunnel]") {
    rte_ring* ring = rte_ring_create_elem("test_neigh", sizeof(NeighborFact), 64, 0, RING_F_SC_DEQ);
    REQUIRE(ring != nullptr);
    auto snap = node_snapshot(1, Routing::Vxlan, true, ring);
    WorkerCounters c;

    Out r = run_one(*snap, kUplinkPort, arp_request(kNode2Mac, kNode2, kNode1), c);
    REQUIRE(r.port == kUplinkPort);
    const auto* arp = reinterpret_cast<const rte_arp_hdr*>(r.bytes.data() + 14);
    CHECK(arp->arp_opcode == RTE_BE16(RTE_ARP_OP_REPLY));
    CHECK(std::memcmp(arp->arp_data.arp_sha.addr_bytes, kNode1Mac.bytes.data(), 6) == 0);
    NeighborFact fact{};
    REQUIRE(rte_ring_sc_dequeue_elem(ring, &fact, sizeof fact) == 0);
    CHECK(fact.ip == kNode2);
    CHECK(fact.mac == kNode2Mac);

    // An ARP reply to us is consumed: its facts go to control, nothing is sent.
    auto reply = arp_request(kNode2Mac, kNode2, kNode1);
    reinterpret_cast<rte_arp_hdr*>(reply.data() + 14)->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
    CHECK(run_one(*snap, kUplinkPort, reply, c).port == kDropPort);
    CHECK(c.arp_learned.get() == 1);
    CHECK(rte_ring_count(ring) == 1);

    CHECK(run_one(*snap, kUplinkPort, arp_request(kNode2Mac, kNode2, *Ipv4Addr::parse("192.168.50.99")), c).port == kDropPort);
    CHECK(c.drop(DropReason::ArpNotForUs).get() == 1);

    Ipv4Spec ping;
    ping.src_mac = kNode2Mac;
    ping.dst_mac = kNode1Mac;
    ping.src = kNode2;
    ping.dst = kNode1;
    ping.proto = IPPROTO_ICMP;
    Out echo = run_one(*snap, kUplinkPort, ipv4_frame(ping), c);
    REQUIRE(echo.port == kUplinkPort);
    CHECK(reinterpret_cast<const rte_ipv4_hdr*>(echo.bytes.data() + 14)->src_addr == kNode1.be);
    CHECK(c.icmp_replies.get() == 1);
    rte_ring_free(ring);
}

namespace {
Ipv4Spec from_to(MacAddr src_mac, Ipv4Addr src, Ipv4Addr dst, uint8_t proto = IPPROTO_UDP) {
    Ipv4Spec s;
    s.src_mac = src_mac;
    s.dst_mac = MacAddr::from_ipv4(*Ipv4Addr::parse("10.200.0.1"));
    s.src = src;
    s.dst = dst;
    s.proto = proto;
    return s;
}
MacAddr dst_mac_of(const std::vector<uint8_t>& f) {
    MacAddr m;
    std::memcpy(m.bytes.data(), f.data(), 6);
    return m;
}
} // namespace

TEST_CASE("host path: the node's kernel is reached through its TAP and reaches everything", "[tunnel]") {
    rte_ring* ring = rte_ring_create_elem("test_neigh_host", sizeof(NeighborFact), 64, 0, RING_F_SC_DEQ);
    REQUIRE(ring != nullptr);
    auto snap = node_snapshot(1, Routing::Vxlan, true, ring, true);
    WorkerCounters c;

    SECTION("traffic for the node IP from the uplink goes to the kernel, not answered by podlane") {
        Out r = run_one(*snap, kUplinkPort, ipv4_frame(from_to(kRouterMac, kRouter, kNode1, IPPROTO_ICMP)), c);
        REQUIRE(r.port == kHostPort);
        CHECK(dst_mac_of(r.bytes) == kHostMac);
        CHECK(reinterpret_cast<const rte_ipv4_hdr*>(r.bytes.data() + 14)->time_to_live == 64); // delivered, not routed
        CHECK(c.icmp_replies.get() == 0);
    }
    SECTION("a pod reaches its own node's kernel") {
        Out r = run_one(*snap, kPodPort, ipv4_frame(from_to(MacAddr::from_ipv4(kPodA), kPodA, kNode1)), c);
        CHECK(r.port == kHostPort);
    }
    SECTION("the kernel reaches a remote pod through the tunnel, as identity host (1)") {
        Out r = run_one(*snap, kHostPort, ipv4_frame(from_to(kHostMac, kNode1, kPodR)), c);
        REQUIRE(r.port == kUplinkPort);
        CHECK(vni_of(outer_of(r.bytes)) == 1);
    }
    SECTION("the kernel reaches a local pod") {
        Out r = run_one(*snap, kHostPort, ipv4_frame(from_to(kHostMac, kNode1, kPodA)), c);
        REQUIRE(r.port == kPodPort);
        CHECK(dst_mac_of(r.bytes) == MacAddr::from_ipv4(kPodA));
    }
    SECTION("the kernel reaches the uplink subnet and, via the gateway, beyond it") {
        Out r = run_one(*snap, kHostPort, ipv4_frame(from_to(kHostMac, kNode1, kRouter)), c);
        REQUIRE(r.port == kUplinkPort);
        CHECK(dst_mac_of(r.bytes) == kRouterMac);
        CHECK(reinterpret_cast<const rte_ipv4_hdr*>(r.bytes.data() + 14)->time_to_live == 63);
        Out far = run_one(*snap, kHostPort, ipv4_frame(from_to(kHostMac, kNode1, *Ipv4Addr::parse("203.0.113.9"))), c);
        REQUIRE(far.port == kUplinkPort);
        CHECK(dst_mac_of(far.bytes) == kRouterMac);
    }
    SECTION("an unresolved next hop is dropped as no_neighbour and asked of the control thread") {
        const Ipv4Addr stranger = *Ipv4Addr::parse("192.168.50.77");
        CHECK(run_one(*snap, kHostPort, ipv4_frame(from_to(kHostMac, kNode1, stranger)), c).port == kDropPort);
        CHECK(c.drop(DropReason::NoNeighbour).get() == 1);
        NeighborFact ask{};
        REQUIRE(rte_ring_sc_dequeue_elem(ring, &ask, sizeof ask) == 0);
        CHECK(ask.ip == stranger);
        CHECK(ask.port_id == kResolveRequest);
    }
    SECTION("pods reach other nodes' IPs and the world beyond natively, with their own source") {
        Out r = run_one(*snap, kPodPort, ipv4_frame(from_to(MacAddr::from_ipv4(kPodA), kPodA, kNode2)), c);
        REQUIRE(r.port == kUplinkPort);
        CHECK(r.bytes.size() == ipv4_frame(from_to(MacAddr::from_ipv4(kPodA), kPodA, kNode2)).size()); // not encapsulated
        CHECK(reinterpret_cast<const rte_ipv4_hdr*>(r.bytes.data() + 14)->src_addr == kPodA.be);
        Out out = run_one(*snap, kPodPort, ipv4_frame(from_to(MacAddr::from_ipv4(kPodA), kPodA, *Ipv4Addr::parse("203.0.113.9"))), c);
        REQUIRE(out.port == kUplinkPort);
        CHECK(dst_mac_of(out.bytes) == kRouterMac);
        CHECK(reinterpret_cast<const rte_ipv4_hdr*>(out.bytes.data() + 14)->src_addr == kPodA.be);
    }
    rte_ring_free(ring);
}

TEST_CASE("a packet to an unresolved next hop waits in the hold queue until the snapshot resolves it", "[tunnel]") {
    // The uplink is a real ring-backed port here: the retried packet is sent.
    RingUplink ul("hold");
    rte_ring* ring = ul.neighbors;
    rte_ring* tx = ul.tx;
    const uint16_t up_port = ul.port;

    const Ipv4Addr stranger = *Ipv4Addr::parse("192.168.50.77");
    const MacAddr stranger_mac = *MacAddr::parse("02:00:00:00:00:77");
    auto build = [&](bool resolved) {
        SnapshotInputs in;
        in.pod_cidr = *Ipv4Prefix::parse("10.200.0.0/24");
        in.gateway_ip = *Ipv4Addr::parse("10.200.0.1");
        in.gateway_mac = MacAddr::from_ipv4(in.gateway_ip);
        in.endpoints = {{kPodA, MacAddr::from_ipv4(kPodA), {kPodPort, 1}, kIdentityA}};
        UplinkInput u;
        u.port = {up_port, 1};
        u.node_ip = kNode1;
        u.node_mac = kNode1Mac;
        u.subnet = *Ipv4Prefix::parse("192.168.50.0/24");
        u.neighbor_ring = ring;
        if (resolved)
            u.neighbors = {{stranger, stranger_mac}};
        in.uplink = u;
        return build_snapshot(in);
    };
    auto before = build(false);
    auto after = build(true);
    HoldQueue hold(1000); // 1000 ticks per second: deadlines in ticks/2
    WorkerCounters c;
    rte_mbuf* m = to_mbuf(tunnel_pool(), ipv4_frame(from_to(MacAddr::from_ipv4(kPodA), kPodA, stranger)));
    rte_mbuf* burst[1] = {m};
    uint16_t out[1];
    run_stages(*before, kPodPort, std::span(burst, 1), out, c, &hold);
    CHECK(out[0] == kDropPort);
    CHECK(hold.size() == 1);
    CHECK(c.held.get() == 1);
    CHECK(c.drop(DropReason::NoNeighbour).get() == 0);
    NeighborFact ask{};
    REQUIRE(rte_ring_sc_dequeue_elem(ring, &ask, sizeof ask) == 0);
    CHECK(ask.ip == stranger);

    hold.retry(*before, 0, 100, c); // still unresolved, before the deadline: kept
    CHECK(hold.size() == 1);
    hold.retry(*after, 0, 200, c);                     // resolved: sent
    CHECK(hold.empty());
    REQUIRE(rte_ring_count(tx) == 1);
    void* sent = nullptr;
    REQUIRE(rte_ring_sc_dequeue(tx, &sent) == 0);
    const auto bytes = bytes_of(static_cast<rte_mbuf*>(sent));
    CHECK(dst_mac_of(bytes) == stranger_mac);
    CHECK(reinterpret_cast<const rte_ipv4_hdr*>(bytes.data() + 14)->time_to_live == 63);
    rte_pktmbuf_free(static_cast<rte_mbuf*>(sent));

    // Unresolved past the deadline (0.5 s = 500 ticks here): dropped, counted.
    rte_mbuf* m2 = to_mbuf(tunnel_pool(), ipv4_frame(from_to(MacAddr::from_ipv4(kPodA), kPodA, stranger)));
    REQUIRE(hold.push(m2, stranger, 1000));
    hold.retry(*before, 0, 1400, c);
    CHECK(hold.size() == 1);
    hold.retry(*before, 0, 1500, c);
    CHECK(hold.empty());
    CHECK(c.drop(DropReason::NoNeighbour).get() == 1);

}

TEST_CASE("a packet to a remote node whose MAC is not known yet is encapsulated and waits for it", "[tunnel]") {
    RingUplink ul("remote_hold");
    rte_ring* ring = ul.neighbors;
    rte_ring* tx = ul.tx;
    const uint16_t up_port = ul.port;

    auto before = node_snapshot(1, Routing::Vxlan, false, ring, false, up_port);
    auto after = node_snapshot(1, Routing::Vxlan, true, ring, false, up_port);
    HoldQueue hold(1000);
    WorkerCounters c;
    const auto frame = ipv4_frame(a_to_remote());
    rte_mbuf* m = to_mbuf(tunnel_pool(), frame);
    rte_mbuf* burst[1] = {m};
    uint16_t out[1];
    run_stages(*before, kPodPort, std::span(burst, 1), out, c, &hold);
    CHECK(out[0] == kDropPort);
    CHECK(hold.size() == 1);
    CHECK(c.drop(DropReason::NoNeighbour).get() == 0);
    NeighborFact ask{};
    REQUIRE(rte_ring_sc_dequeue_elem(ring, &ask, sizeof ask) == 0); // the control thread is asked at once
    CHECK(ask.ip == kNode2);
    CHECK(ask.port_id == kResolveRequest);

    hold.retry(*before, 0, 100, c);
    CHECK(hold.size() == 1);
    hold.retry(*after, 0, 200, c); // node2 answered: out in VXLAN to its MAC
    CHECK(hold.empty());
    void* sent = nullptr;
    REQUIRE(rte_ring_sc_dequeue(tx, &sent) == 0);
    const auto bytes = bytes_of(static_cast<rte_mbuf*>(sent));
    rte_pktmbuf_free(static_cast<rte_mbuf*>(sent));
    REQUIRE(bytes.size() == frame.size() + kTunnelOverhead);
    const OuterHdrs& o = outer_of(bytes);
    CHECK(std::memcmp(o.eth.dst_addr.addr_bytes, kNode2Mac.bytes.data(), 6) == 0);
    CHECK(std::memcmp(o.eth.src_addr.addr_bytes, kNode1Mac.bytes.data(), 6) == 0);
    CHECK(o.ip.dst_addr == kNode2.be);
    CHECK(o.ip.time_to_live == 64); // the outer header is podlane's own
    CHECK(vni_of(o) == kIdentityA);
    const auto* inner = reinterpret_cast<const rte_ipv4_hdr*>(bytes.data() + kTunnelOverhead + 14);
    CHECK(inner->time_to_live == 63); // routed once, not again on the way out of the queue
    CHECK(ipv4_checksum_ok(inner, 20));

}
