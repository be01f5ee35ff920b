// In-process benchmark of the service path on one core: run_stages() on
// a node whose load-balancer tables come from the real compiler
// (parse_config -> compile_services -> build_snapshot) and whose conntrack is
// the real one (rte_hash, rte_zmalloc, rings: this binary initialises EAL
// itself: --no-huge, --no-shconf, a unique --file-prefix). Scenarios:
//
//   clusterip  established flows pod -> ClusterIP 10.96.0.10:80, backends on
//              remote nodes: frontend lookup + conntrack hit + DNAT + VXLAN
//              encapsulation per packet;
//   nodeport   established flows from the uplink to node_ip:30080 (external
//              clients), backends remote, nodeport_mode snat: conntrack hit +
//              DNAT + SNAT + encapsulation;
//   newconn    every packet opens a new flow to the ClusterIP (TCP SYN, or a
//              UDP first packet): backend selection + conntrack insert (two
//              keys) + DNAT + encapsulation;
//   memory     conntrack bytes per flow at capacity: Conntrack::bytes_per_flow()
//              next to what the EAL heap really handed out, then the table
//              filled until an insert fails;
//   maglev     build_maglev_table(M = 65521, 1000 backends), median of runs.
//
// Established scenarios first create their --flows flows (a warm-up pass in
// creation order), then the measured passes cycle through all of them in a
// different (shuffled) order. Before each burst, every mbuf is reset from a
// per-pod template frame and the flow's precomputed source address, port and
// checksums: that restore is included in the timing (its own cost, measured
// alone in the same run, is reported as restore_cycles_per_packet) and not in
// the callgrind figure.
//
//   bench_services --scenario clusterip|nodeport|newconn|memory|maglev
//                  [--flows N] [--seconds S] [--iterations N] [--burst B]
//                  [--proto tcp|udp] [--ct-capacity C] [--backends K]
//                  [--algorithm random|maglev] [--runs R] [--json]
//
// Instructions per packet (established, 20000 measured bursts):
//   valgrind --tool=callgrind --instr-atstart=no --toggle-collect='*run_stages*'
//       bench_services --scenario clusterip --flows 1024 --iterations 20000
//   instructions/packet = Collected / (20000 * burst)
// The warm-up runs uninstrumented: the binary starts callgrind's
// instrumentation itself just before the measured bursts.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define BENCH_START_INSTRUMENTATION() CALLGRIND_START_INSTRUMENTATION
#else
#define BENCH_START_INSTRUMENTATION() \
    do {                              \
    } while (0)
#endif

#include "control/config/config.h"
#include "control/policy/policy_compiler.h"
#include "control/tables/maglev.h"
#include "control/tables/service_compiler.h"
#include "control/tables/snapshot_builder.h"
#include "dataplane/conntrack.h"
#include "dataplane/pipeline.h"
#include "dataplane/rcu_publisher.h"
#include "dataplane/service_lb.h"
#include "dataplane/tunnel.h"
#include "frame_builder.h"

using namespace podlane;

namespace {

enum class Scenario { ClusterIp, NodePort, NewConn, Memory, Maglev };

const char* scenario_name(Scenario s) {
    switch (s) {
    case Scenario::ClusterIp:
        return "clusterip";
    case Scenario::NodePort:
        return "nodeport";
    case Scenario::NewConn:
        return "newconn";
    case Scenario::Memory:
        return "memory";
    case Scenario::Maglev:
        return "maglev";
    }
    return "?";
}

constexpr uint16_t kUplinkPort = kMaxPorts - 1;
constexpr uint32_t kPods = 24;        ///< client pods, on ports 0..23
constexpr uint32_t kRemoteNodes = 8;
constexpr uint16_t kFrameLen = 60;    ///< a 64-byte frame without its FCS
constexpr uint16_t kServicePort = 80, kTargetPort = 8080, kNodePort = 30080;
constexpr uint16_t kFirstSport = 1024; ///< client source ports: 1024..65535

struct Options {
    Scenario scenario = Scenario::ClusterIp;
    uint32_t flows = 0;       ///< 0: 1024 (established) or 1048576 (newconn)
    double seconds = 3.0;
    uint64_t iterations = 0;  ///< measured bursts; 0: run for `seconds`
    uint16_t burst = 32;
    uint8_t proto = IPPROTO_TCP;
    uint32_t ct_capacity = 0; ///< 0: see ct_capacity_for()
    uint32_t backends = 0;    ///< 0: 64 on the packet paths, 1000 for maglev
    bool maglev = false;
    uint32_t runs = 11;       ///< maglev builds
    bool json = false;
    uint32_t policy_rules = 0; ///< > 0: the client pods enforce egress policy with this many rules
};

[[noreturn]] void usage(int code) {
    std::fprintf(code ? stderr : stdout,
                 "usage: bench_services --scenario clusterip|nodeport|newconn|memory|maglev [--flows N] [--seconds S]\n"
                 "                      [--iterations N] [--burst B] [--proto tcp|udp] [--ct-capacity C]\n"
                 "                      [--backends K] [--algorithm random|maglev] [--runs R] [--json]\n"
                 "                      [--policy-rules N]\n");
    std::exit(code);
}

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "bench_services: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--scenario") {
            const std::string v = next();
            if (v == "clusterip") o.scenario = Scenario::ClusterIp;
            else if (v == "nodeport") o.scenario = Scenario::NodePort;
            else if (v == "newconn") o.scenario = Scenario::NewConn;
            else if (v == "memory") o.scenario = Scenario::Memory;
            else if (v == "maglev") o.scenario = Scenario::Maglev;
            else usage(2);
        } else if (a == "--flows") o.flows = static_cast<uint32_t>(std::strtoul(next().c_str(), nullptr, 10));
        else if (a == "--seconds") o.seconds = std::atof(next().c_str());
        else if (a == "--iterations") o.iterations = std::strtoull(next().c_str(), nullptr, 10);
        else if (a == "--burst") o.burst = static_cast<uint16_t>(std::atoi(next().c_str()));
        else if (a == "--proto") {
            const std::string v = next();
            if (v == "tcp") o.proto = IPPROTO_TCP;
            else if (v == "udp") o.proto = IPPROTO_UDP;
            else usage(2);
        } else if (a == "--ct-capacity") o.ct_capacity = static_cast<uint32_t>(std::strtoul(next().c_str(), nullptr, 10));
        else if (a == "--backends") o.backends = static_cast<uint32_t>(std::atoi(next().c_str()));
        else if (a == "--algorithm") {
            const std::string v = next();
            if (v == "random") o.maglev = false;
            else if (v == "maglev") o.maglev = true;
            else usage(2);
        } else if (a == "--runs") o.runs = static_cast<uint32_t>(std::atoi(next().c_str()));
        else if (a == "--json") o.json = true;
        else if (a == "--policy-rules") o.policy_rules = static_cast<uint32_t>(std::atoi(next().c_str()));
        else usage(a == "-h" || a == "--help" ? 0 : 2);
    }
    if (o.flows == 0)
        o.flows = o.scenario == Scenario::NewConn ? 1u << 20 : 1024;
    if (o.backends == 0)
        o.backends = o.scenario == Scenario::Maglev ? 1000 : 64;
    if (o.scenario == Scenario::NewConn && o.iterations)
        o.flows = static_cast<uint32_t>(o.iterations * o.burst); // one burst of new flows per iteration
    if (o.burst == 0 || o.burst > kMaxBurst || o.backends == 0 || o.backends > 2000 || o.runs == 0) {
        std::fprintf(stderr, "bench_services: need 1 <= burst <= %u, 1 <= backends <= 2000, runs >= 1\n", kMaxBurst);
        std::exit(2);
    }
    // Whole bursts; a pod has source ports 1024..65535.
    o.flows = (o.flows + o.burst - 1) / o.burst * o.burst;
    if (o.scenario != Scenario::Memory && o.flows > uint64_t{kPods} * (65536 - kFirstSport) / o.burst * o.burst) {
        std::fprintf(stderr, "bench_services: at most %u flows (%u pods x %u source ports)\n",
                     kPods * (65536 - kFirstSport), kPods, 65536 - kFirstSport);
        std::exit(2);
    }
    return o;
}

/// The conntrack size: what the agent uses by default (262144), or twice the
/// flows when that is more, so that inserts never meet a full table.
uint32_t ct_capacity_for(const Options& o) {
    if (o.ct_capacity)
        return o.ct_capacity;
    if (o.scenario == Scenario::Memory)
        return 1u << 20;
    return std::max<uint32_t>(262144, 2 * o.flows);
}

// ---- the node ----

Ipv4Addr pod_ip(uint32_t i) { return Ipv4Addr::from_host(0x0ac80000u + 10 + i); }          // 10.200.0.(10+i)
Ipv4Addr node_ip(uint32_t n) { return Ipv4Addr::from_host(0xc0a83214u + n); }              // 192.168.50.(20+n)
Ipv4Addr backend_ip(uint32_t k) {                                                           // 10.201.<k%8>.(10+k/8)
    return Ipv4Addr::from_host(0x0ac90000u + ((k % kRemoteNodes) << 8) + 10 + k / kRemoteNodes);
}
Ipv4Addr client_ip(uint32_t f) { return Ipv4Addr::from_host(0xac100001u + f / 4096); }    // 172.16.x.y
const Ipv4Addr kNodeIp = Ipv4Addr::from_host(0xc0a8320bu);                                // 192.168.50.11
const Ipv4Addr kClusterIp = Ipv4Addr::from_host(0x0a60000au);                             // 10.96.0.10

/// One service, type NodePort: ClusterIP 10.96.0.10:80 and node_ip:30080,
/// target port 8080, `backends` backends spread over the 8 remote nodes.
std::string services_yaml(const Options& o) {
    std::string y = "node:\n  name: node1\n  ip: " + kNodeIp.str() +
                    "\nnetwork:\n  pod_cidr: 10.200.0.0/24\n  gateway_ip: 10.200.0.1\n"
                    "loadbalancer:\n  algorithm: " + std::string(o.maglev ? "maglev" : "random") +
                    "\n  nodeport_mode: snat\n"
                    "services:\n  - name: default/web\n    type: NodePort\n    cluster_ip: " + kClusterIp.str() +
                    "\n    ports: [{protocol: " + (o.proto == IPPROTO_TCP ? "TCP" : "UDP") +
                    ", port: " + std::to_string(kServicePort) + ", target_port: " + std::to_string(kTargetPort) +
                    ", node_port: " + std::to_string(kNodePort) + "}]\n    backends:\n";
    for (uint32_t k = 0; k < o.backends; ++k)
        y += "      - {ip: " + backend_ip(k).str() + ", node: node" + std::to_string(2 + k % kRemoteNodes) + "}\n";
    return y;
}

/// --policy-rules N: one NetworkPolicy selecting every client pod for
/// egress with N rules: N - 1 allow other identities (label sets app=svc-k)
/// on port 8000 + k, the last one the backends' identity on the target port.
/// (The backends are remote: their node would check ingress, the same lookup.)
std::shared_ptr<const PolicyTables> bench_policy(const Options& o) {
    PolicyInputs in;
    for (uint32_t i = 0; i < kPods; ++i)
        in.endpoints.push_back(PolicyEndpoint{"bench/pod-" + std::to_string(i), pod_ip(i), 1000 + i, {{"app", "client"}}, {}});
    constexpr uint32_t kBackendIdentity = 5000;
    for (uint32_t k = 0; k < o.backends; ++k)
        in.peers.push_back(PeerAddress{backend_ip(k), kBackendIdentity});
    in.identities.push_back(KnownIdentity{kBackendIdentity, {{"app", "backend"}}});
    PolicyConfig p;
    p.name = "bench";
    p.subject.match_labels = {{"app", "client"}};
    p.egress = true;
    for (uint32_t k = 0; k + 1 < o.policy_rules; ++k) {
        const std::string app = "svc-" + std::to_string(k);
        in.identities.push_back(KnownIdentity{2000 + k, {{"app", app}}});
        PolicyRule r;
        PolicyPeer peer;
        peer.pods = LabelSelector{{{"app", app}}, {}};
        r.peers.push_back(peer);
        r.ports.push_back(PolicyPort{IPPROTO_TCP, static_cast<uint16_t>(8000 + k), 0, ""});
        p.egress_rules.push_back(r);
    }
    PolicyRule r;
    PolicyPeer peer;
    peer.pods = LabelSelector{{{"app", "backend"}}, {}};
    r.peers.push_back(peer);
    r.ports.push_back(PolicyPort{o.proto, kTargetPort, 0, ""});
    p.egress_rules.push_back(r);
    in.policies.push_back(p);
    return compile_policy(in, 1).tables;
}

struct Node {
    Config config;
    ServiceIds ids;
    LbTables lb;
    std::unique_ptr<Snapshot> snap;
};

bool build_node(const Options& o, Conntrack* ct, Node& n) {
    auto parsed = parse_config(services_yaml(o), "bench_services");
    if (!parsed) {
        std::fprintf(stderr, "bench_services: config: %s\n", parsed.error().message.c_str());
        return false;
    }
    n.config = std::move(*parsed);
    ServiceCompileInputs in;
    in.config = &n.config;
    in.node_ip = kNodeIp;
    in.local_pod_cidr = n.config.network.pod_cidr;
    for (uint32_t r = 0; r < kRemoteNodes; ++r) {
        in.peer_node_ips.push_back(node_ip(r));
        in.remote_pod_cidrs.push_back(Ipv4Prefix{Ipv4Addr::from_host(0x0ac90000u + (r << 8)), 24});
    }
    auto compiled = compile_services(in, n.ids);
    if (!compiled) {
        std::fprintf(stderr, "bench_services: compile_services: %s\n", compiled.error().message.c_str());
        return false;
    }
    n.lb = std::move(*compiled);
    n.lb.frontend_ips = lb_frontend_ips(n.lb);
    n.lb.ct = ct;

    SnapshotInputs si;
    si.generation = 1;
    si.pod_cidr = n.config.network.pod_cidr;
    si.gateway_ip = n.config.network.gateway_ip;
    si.gateway_mac = MacAddr::from_ipv4(si.gateway_ip);
    for (uint32_t i = 0; i < kPods; ++i)
        si.endpoints.push_back(
            AttachedEndpoint{pod_ip(i), MacAddr::from_ipv4(pod_ip(i)), {static_cast<uint16_t>(i), 1}, 1000 + i});
    UplinkInput u;
    u.port = {kUplinkPort, 1};
    u.node_ip = kNodeIp;
    u.node_mac = MacAddr::from_ipv4(kNodeIp);
    u.routing = Routing::Vxlan;
    for (uint32_t r = 0; r < kRemoteNodes; ++r)
        u.nodes.push_back(RemoteNodeInput{node_ip(r), {in.remote_pod_cidrs[r]}, MacAddr::from_ipv4(node_ip(r)), true, {}});
    si.uplink = u;
    si.lb = std::make_shared<const LbTables>(n.lb);
    si.workers = 1;
    if (o.policy_rules > 0)
        si.policy = bench_policy(o);
    n.snap = build_snapshot(si);
    return true;
}

// ---- packets ----

/// Where the per-flow fields sit in a frame.
constexpr size_t kIpOff = sizeof(rte_ether_hdr);
constexpr size_t kIpCsumOff = kIpOff + offsetof(rte_ipv4_hdr, hdr_checksum);
constexpr size_t kIpSrcOff = kIpOff + offsetof(rte_ipv4_hdr, src_addr);
constexpr size_t kL4Off = kIpOff + sizeof(rte_ipv4_hdr);
constexpr size_t kSportOff = kL4Off;
constexpr size_t kTcpCsumOff = kL4Off + offsetof(rte_tcp_hdr, cksum);
constexpr size_t kUdpCsumOff = kL4Off + offsetof(rte_udp_hdr, dgram_cksum);

using Frame = std::array<uint8_t, 64>;

/// A 60-byte TCP (20-byte header, 6 bytes of payload; flags `tcp_flags`) or
/// UDP (18 bytes of payload) frame with valid checksums.
Frame make_frame(const MacAddr& src_mac, const MacAddr& dst_mac, Ipv4Addr src, Ipv4Addr dst, uint16_t sport,
                 uint16_t dport, uint8_t proto, uint8_t tcp_flags) {
    const std::vector<uint8_t> bytes = test::ipv4_frame({.src_mac = src_mac,
                                                         .dst_mac = dst_mac,
                                                         .src = src,
                                                         .dst = dst,
                                                         .proto = proto,
                                                         .payload = static_cast<uint16_t>(kFrameLen - kL4Off - test::l4_header_len(proto)),
                                                         .sport = sport,
                                                         .dport = dport,
                                                         .tcp_flags = tcp_flags});
    Frame f{};
    std::memcpy(f.data(), bytes.data(), bytes.size());
    return f;
}

/// What differs between two flows' first frames: source address and port,
/// and the two checksums they enter (12 bytes, precomputed).
struct FlowRec {
    rte_be32_t src;
    rte_be16_t sport;
    rte_be16_t ip_csum;
    rte_be16_t l4_csum;
    uint16_t tmpl; ///< the template frame (the client pod, or 0 from the uplink)
};

/// The packets of a pass: burst b goes in on port[b] with flows recs[b*burst ...].
struct Schedule {
    std::vector<FlowRec> recs;
    std::vector<uint16_t> port;
};

/// The flows of the scenario, one burst after the other. ClusterIP and
/// newconn: burst b comes from pod b % 24 (a pod may only send from its own
/// address), the k-th flow of a pod from source port 1024 + k; NodePort: the
/// k-th flow from external client 172.16.0.1 + k/4096, port 1024 + k%4096, on
/// the uplink. `order` 0 is creation order; otherwise the flows of each pod
/// (or of the uplink) are shuffled with seed `order`.
Schedule make_schedule(const Options& o, const std::vector<Frame>& tmpl, uint32_t order) {
    const bool uplink = o.scenario == Scenario::NodePort;
    const uint32_t bursts = o.flows / o.burst;
    const uint32_t groups = uplink ? 1 : kPods;
    // Flow ids per group: group g gets bursts g, g+groups, ...
    std::vector<std::vector<uint32_t>> ids(groups);
    for (uint32_t b = 0; b < bursts; ++b)
        for (uint32_t i = 0; i < o.burst; ++i)
            ids[b % groups].push_back(static_cast<uint32_t>(ids[b % groups].size()));
    if (order != 0) {
        std::mt19937 rng(order);
        for (auto& v : ids)
            std::shuffle(v.begin(), v.end(), rng);
    }
    Schedule s;
    s.recs.reserve(o.flows);
    std::vector<size_t> next(groups, 0);
    for (uint32_t b = 0; b < bursts; ++b) {
        const uint32_t g = b % groups;
        s.port.push_back(uplink ? kUplinkPort : static_cast<uint16_t>(g));
        for (uint32_t i = 0; i < o.burst; ++i) {
            const uint32_t k = ids[g][next[g]++]; // the k-th flow of group g
            Frame f = tmpl[g];
            auto* ip = reinterpret_cast<rte_ipv4_hdr*>(f.data() + kIpOff);
            const Ipv4Addr src = uplink ? client_ip(k) : pod_ip(g);
            const uint16_t sport = static_cast<uint16_t>(uplink ? kFirstSport + k % 4096 : kFirstSport + k);
            ip->src_addr = src.be;
            ip->hdr_checksum = 0;
            ip->hdr_checksum = rte_ipv4_cksum(ip);
            auto* ports = reinterpret_cast<rte_be16_t*>(f.data() + kL4Off);
            ports[0] = rte_cpu_to_be_16(sport);
            rte_be16_t l4;
            if (o.proto == IPPROTO_TCP) {
                auto* tcp = reinterpret_cast<rte_tcp_hdr*>(f.data() + kL4Off);
                tcp->cksum = 0;
                l4 = tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
            } else {
                auto* udp = reinterpret_cast<rte_udp_hdr*>(f.data() + kL4Off);
                udp->dgram_cksum = 0;
                l4 = udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
            }
            s.recs.push_back(FlowRec{src.be, ports[0], ip->hdr_checksum, l4, static_cast<uint16_t>(g)});
        }
    }
    return s;
}

/// Resets the burst's mbufs to the frames of flows r[0..n): what the pipeline
/// did to them (outer headers, DNAT/SNAT, TTL, MACs, checksums) is undone by
/// the template copy, and the flow's own fields are written over it. Not
/// inlined, so that callgrind can count it on its own
/// (--toggle-collect='*restore_burst*').
__attribute__((noinline)) void restore_burst(rte_mbuf* const* mbufs, uint16_t n, const Frame* tmpl, const FlowRec* r,
                                             size_t l4_csum_off) noexcept {
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = mbufs[i];
        m->data_off = RTE_PKTMBUF_HEADROOM;
        m->data_len = kFrameLen;
        m->pkt_len = kFrameLen;
        auto* d = rte_pktmbuf_mtod(m, uint8_t*);
        std::memcpy(d, tmpl[r[i].tmpl].data(), sizeof(Frame));
        std::memcpy(d + kIpSrcOff, &r[i].src, 4);
        std::memcpy(d + kIpCsumOff, &r[i].ip_csum, 2);
        std::memcpy(d + kSportOff, &r[i].sport, 2);
        std::memcpy(d + l4_csum_off, &r[i].l4_csum, 2);
    }
}

// ---- timing ----

double tsc_hz() {
    const auto t0 = std::chrono::steady_clock::now();
    const uint64_t c0 = rte_rdtsc();
    while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(100)) {
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return static_cast<double>(rte_rdtsc() - c0) / secs;
}

/// CPU time this thread has run, in seconds: excludes the time other
/// processes had the CPU (this machine's vCPUs are shared).
double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// A stretch of work measured both ways: TSC (wall clock) and thread CPU time.
struct Span {
    uint64_t tsc0 = rte_rdtsc();
    double cpu0 = thread_cpu_seconds();
    uint64_t tsc = 0;
    double cpu = 0;
    void stop() {
        tsc = rte_rdtsc() - tsc0;
        cpu = thread_cpu_seconds() - cpu0;
    }
};

/// The peer measured in the same run: testpmd's macswap forwarding on the
/// same burst (swap the Ethernet addresses, nothing else). Returns TSC
/// cycles of CPU time per packet.
double macswap_cycles_per_packet(std::vector<rte_mbuf*>& burst, double hz, double seconds) {
    uint64_t packets = 0;
    Span span;
    do {
        for (int k = 0; k < 1024; ++k) {
            for (rte_mbuf* m : burst) {
                auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
                rte_ether_addr tmp = eth->dst_addr;
                eth->dst_addr = eth->src_addr;
                eth->src_addr = tmp;
            }
            asm volatile("" ::: "memory");
        }
        packets += 1024 * burst.size();
    } while (thread_cpu_seconds() - span.cpu0 < seconds);
    span.stop();
    return span.cpu * hz / static_cast<double>(packets);
}

// ---- EAL ----

struct Eal {
    bool up = false;
    ~Eal() {
        if (!up)
            return;
        const std::string dir = rte_eal_get_runtime_dir();
        rte_eal_cleanup();
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }
};

/// EAL with no hugepages (--in-memory cannot go with --no-huge), no PCI and no
/// shared config files; its one lcore runs on
/// the CPU this process was started on (taskset), so EAL keeps the pinning.
bool init_eal(uint32_t memory_mb, Eal& eal) {
    cpu_set_t set;
    CPU_ZERO(&set);
    int cpu = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE; ++c)
            if (CPU_ISSET(c, &set)) {
                cpu = c;
                break;
            }
    const std::string lcores = "0@" + std::to_string(cpu);
    const std::string mem = std::to_string(memory_mb);
    const std::string prefix = "bench-services-" + std::to_string(getpid());
    const char* argv[] = {"bench_services", "--no-huge",      "--no-shconf",  "--no-pci",          "--no-telemetry",
                          "-m",             mem.c_str(),      "--lcores",    lcores.c_str(),      "--log-level=error",
                          "--file-prefix",  prefix.c_str()};
    if (rte_eal_init(static_cast<int>(std::size(argv)), const_cast<char**>(argv)) < 0) {
        std::fprintf(stderr, "bench_services: cannot initialise EAL\n");
        return false;
    }
    eal.up = true;
    return true;
}

size_t heap_allocated() {
    size_t total = 0;
    for (unsigned s = 0; s < rte_socket_count(); ++s) {
        rte_malloc_socket_stats st{};
        if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(s), &st) == 0)
            total += st.heap_allocsz_bytes;
    }
    return total;
}

// ---- scenarios ----

/// Checks one output packet of the flow in `r`: VXLAN to a remote node, the
/// inner packet DNATed to a backend's 8080 (and SNATed to the node IP for
/// NodePort), every checksum valid.
bool check_output(const Options& o, rte_mbuf* m, const FlowRec& r) {
    if (rte_pktmbuf_pkt_len(m) != kFrameLen + kTunnelOverhead)
        return false;
    const auto* d = rte_pktmbuf_mtod(m, const uint8_t*);
    const auto* outer = reinterpret_cast<const rte_ipv4_hdr*>(d + sizeof(rte_ether_hdr));
    const auto* oudp = reinterpret_cast<const rte_udp_hdr*>(outer + 1);
    bool ok = rte_ipv4_cksum(outer) == 0 || rte_raw_cksum(outer, sizeof *outer) == 0xffff;
    ok = ok && outer->src_addr == kNodeIp.be && oudp->dst_port == RTE_BE16(8472);
    bool to_node = false;
    for (uint32_t n = 0; n < kRemoteNodes; ++n)
        to_node = to_node || outer->dst_addr == node_ip(n).be;
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(d + kTunnelOverhead + sizeof(rte_ether_hdr));
    const auto* ports = reinterpret_cast<const rte_be16_t*>(ip + 1);
    ok = ok && to_node && (rte_ipv4_cksum(ip) == 0 || rte_raw_cksum(ip, sizeof *ip) == 0xffff);
    ok = ok && rte_ipv4_udptcp_cksum_verify(ip, ip + 1) == 0;
    bool to_backend = false;
    for (uint32_t k = 0; k < o.backends; ++k)
        to_backend = to_backend || ip->dst_addr == backend_ip(k).be;
    ok = ok && to_backend && ports[1] == rte_cpu_to_be_16(kTargetPort);
    if (o.scenario == Scenario::NodePort)
        ok = ok && ip->src_addr == kNodeIp.be && rte_be_to_cpu_16(ports[0]) >= 32768;
    else
        ok = ok && ip->src_addr == r.src && ports[0] == r.sport;
    return ok;
}

int run_path(const Options& o) {
    const uint32_t capacity = ct_capacity_for(o);
    Eal eal;
    // Conntrack: ~150 bytes a flow at capacity, plus room for the rest.
    if (!init_eal(256 + static_cast<uint32_t>(uint64_t{capacity} * 200 >> 20), eal))
        return 1;
    Qsbr qsbr(1);
    auto made = Conntrack::create("bench_ct", capacity, 1, qsbr.get());
    if (!made) {
        std::fprintf(stderr, "bench_services: %s\n", made.error().message.c_str());
        return 1;
    }
    std::unique_ptr<Conntrack> ct = std::move(*made);
    Node node;
    if (!build_node(o, ct.get(), node))
        return 1;
    const Snapshot& snap = *node.snap;

    // Template frames: one per client pod; from the uplink, one for all clients.
    const bool uplink = o.scenario == Scenario::NodePort;
    const uint8_t flags = o.scenario == Scenario::NewConn ? RTE_TCP_SYN_FLAG : RTE_TCP_ACK_FLAG;
    std::vector<Frame> tmpl;
    if (uplink)
        tmpl.push_back(make_frame(MacAddr::from_ipv4(Ipv4Addr::from_host(0xc0a83201u)), MacAddr::from_ipv4(kNodeIp),
                                  client_ip(0), kNodeIp, kFirstSport, kNodePort, o.proto, flags));
    else
        for (uint32_t i = 0; i < kPods; ++i)
            tmpl.push_back(make_frame(MacAddr::from_ipv4(pod_ip(i)), snap.gateway_mac, pod_ip(i), kClusterIp,
                                      kFirstSport, kServicePort, o.proto, flags));
    const size_t l4_csum_off = o.proto == IPPROTO_TCP ? kTcpCsumOff : kUdpCsumOff;

    rte_mempool* pool = rte_pktmbuf_pool_create("bench_pool", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (pool == nullptr) {
        std::fprintf(stderr, "bench_services: cannot create the mbuf pool\n");
        return 1;
    }
    std::vector<rte_mbuf*> burst(o.burst);
    if (rte_pktmbuf_alloc_bulk(pool, burst.data(), o.burst) != 0)
        return 1;

    WorkerCounters counters;
    LbWorker lbw;
    uint16_t out[kMaxBurst];
    const Schedule created = make_schedule(o, tmpl, 0);
    const bool established = o.scenario != Scenario::NewConn;
    // Established: create every flow first, in creation order, and check the
    // first output packet.
    if (established) {
        WorkerCounters setup;
        for (size_t b = 0; b < created.port.size(); ++b) {
            const FlowRec* r = &created.recs[b * o.burst];
            restore_burst(burst.data(), o.burst, tmpl.data(), r, l4_csum_off);
            run_stages(snap, created.port[b], std::span(burst.data(), o.burst), out, setup, nullptr, &lbw);
            if (b == 0 && !check_output(o, burst[0], r[0])) {
                std::fprintf(stderr, "bench_services: the output packet is not what the %s path makes\n",
                             scenario_name(o.scenario));
                return 1;
            }
        }
        if (setup.encapsulated.get() != o.flows || ct->flows() != o.flows) {
            std::fprintf(stderr, "bench_services: warm-up: %llu of %u packets encapsulated, %u flows tracked\n",
                         static_cast<unsigned long long>(setup.encapsulated.get()), o.flows, ct->flows());
            return 1;
        }
    }
    // Measured passes visit the flows in another order than they were created.
    const Schedule sched = established ? make_schedule(o, tmpl, 7) : created;
    const size_t bursts = sched.port.size();

    const double hz = o.iterations ? 0.0 : tsc_hz();
    uint64_t done = 0;
    size_t b = 0;
    BENCH_START_INSTRUMENTATION();
    Span run;
    for (;;) {
        restore_burst(burst.data(), o.burst, tmpl.data(), &sched.recs[b * o.burst], l4_csum_off);
        run_stages(snap, sched.port[b], std::span(burst.data(), o.burst), out, counters, nullptr, &lbw);
        ++done;
        if (++b == bursts) {
            b = 0;
            if (!established)
                break; // every flow opened once
        }
        if (o.iterations ? done >= o.iterations
                         : (done & 255) == 0 && thread_cpu_seconds() - run.cpu0 >= o.seconds)
            break;
    }
    run.stop();
    const uint64_t packets = done * o.burst;

    uint64_t drops = 0;
    for (const auto& d : counters.drops)
        drops += d.get();
    const uint64_t expect_flows = established ? o.flows : packets;
    if (counters.forwarded.get() != packets || counters.encapsulated.get() != packets || drops != 0 ||
        ct->flows() != expect_flows || ct->insert_failures() != 0) {
        std::fprintf(stderr,
                     "bench_services: %s: %llu packets, %llu forwarded, %llu encapsulated, %llu dropped; "
                     "%u flows tracked (expected %llu), %llu insert failures\n",
                     scenario_name(o.scenario), static_cast<unsigned long long>(packets),
                     static_cast<unsigned long long>(counters.forwarded.get()),
                     static_cast<unsigned long long>(counters.encapsulated.get()),
                     static_cast<unsigned long long>(drops), ct->flows(),
                     static_cast<unsigned long long>(expect_flows),
                     static_cast<unsigned long long>(ct->insert_failures()));
        return 1;
    }
    if (o.iterations) {
        std::printf("packets %llu (run under callgrind for instructions/packet)\n",
                    static_cast<unsigned long long>(packets));
        return 0;
    }

    // The restore alone, over the same schedule, for as many bursts.
    Span restore;
    for (uint64_t k = 0, rb = 0; k < done; ++k) {
        restore_burst(burst.data(), o.burst, tmpl.data(), &sched.recs[rb * o.burst], l4_csum_off);
        if (++rb == bursts)
            rb = 0;
    }
    restore.stop();
    const double macswap_cpp = macswap_cycles_per_packet(burst, hz, 1.0);

    const double n = static_cast<double>(packets);
    const double mpps = n / run.cpu / 1e6;                          // per core, while it ran
    const double wall_mpps = n / (static_cast<double>(run.tsc) / hz) / 1e6;
    const double cpp = run.cpu * hz / n;
    const double restore_cpp = restore.cpu * hz / n;
    const char* proto = o.proto == IPPROTO_TCP ? "tcp" : "udp";
    if (o.json) {
        std::printf("{\"benchmark\":\"services\",\"scenario\":\"%s\",\"proto\":\"%s\",\"flows\":%llu,"
                    "\"ct_capacity\":%u,\"backends\":%u,\"algorithm\":\"%s\",\"burst\":%u,\"packets\":%llu,"
                    "\"cpu_seconds\":%.3f,\"mpps\":%.2f,\"wall_mpps\":%.2f,\"tsc_cycles_per_packet\":%.1f,"
                    "\"restore_cycles_per_packet\":%.1f,\"tsc_ghz\":%.3f,\"macswap_cycles_per_packet\":%.1f,"
                    "\"cost_vs_macswap\":%.2f}\n",
                    scenario_name(o.scenario), proto,
                    static_cast<unsigned long long>(established ? o.flows : packets), capacity, o.backends,
                    o.maglev ? "maglev" : "random", o.burst, static_cast<unsigned long long>(packets), run.cpu, mpps,
                    wall_mpps, cpp, restore_cpp, hz / 1e9, macswap_cpp, cpp / macswap_cpp);
    } else if (established) {
        std::printf("services %s (%s): %.2f Mpps on one core (%.2f by the wall clock), %.1f TSC cycles/packet "
                    "(restore %.1f of them), %u flows cycled, conntrack of %u, %llu packets in %.2f s of CPU, "
                    "TSC %.2f GHz\n"
                    "peer, same run: testpmd-style macswap %.1f cycles/packet; podlane costs %.2fx macswap\n",
                    scenario_name(o.scenario), proto, mpps, wall_mpps, cpp, restore_cpp, o.flows, capacity,
                    static_cast<unsigned long long>(packets), run.cpu, hz / 1e9, macswap_cpp, cpp / macswap_cpp);
    } else {
        std::printf("services newconn (%s): %.2f M new connections/s on one core (%.2f by the wall clock), "
                    "%.1f TSC cycles/connection (restore %.1f of them), %llu flows into a conntrack of %u in %.2f s "
                    "of CPU, TSC %.2f GHz\n"
                    "peer, same run: testpmd-style macswap %.1f cycles/packet; podlane costs %.2fx macswap\n",
                    proto, mpps, wall_mpps, cpp, restore_cpp, static_cast<unsigned long long>(packets), capacity,
                    run.cpu, hz / 1e9, macswap_cpp, cpp / macswap_cpp);
    }
    return 0;
}

/// Conntrack memory: bytes_per_flow() (what the table accounts for), the EAL
/// heap's growth across Conntrack::create (what it really took), and how many
/// flows fit before the first insert fails.
int run_memory(const Options& o) {
    const uint32_t capacity = ct_capacity_for(o);
    Eal eal;
    if (!init_eal(256 + static_cast<uint32_t>(uint64_t{capacity} * 200 >> 20), eal))
        return 1;
    Qsbr qsbr(1);
    const size_t before = heap_allocated();
    auto made = Conntrack::create("bench_ct", capacity, 1, qsbr.get());
    if (!made) {
        std::fprintf(stderr, "bench_services: %s\n", made.error().message.c_str());
        return 1;
    }
    std::unique_ptr<Conntrack> ct = std::move(*made);
    const size_t heap = heap_allocated() - before;
    // DNATed flows, as a ClusterIP makes them: unique client (ip, port).
    uint32_t filled = 0;
    for (; filled < capacity; ++filled) {
        const CtTuple t{client_ip(filled).be, kClusterIp.be, rte_cpu_to_be_16(static_cast<uint16_t>(kFirstSport + filled % 4096)),
                        rte_cpu_to_be_16(kServicePort), IPPROTO_TCP, {}};
        const Ipv4Addr b = backend_ip(filled % o.backends);
        if (ct->create(0, t, CtXlate{t.src, b.be, t.sport, rte_cpu_to_be_16(kTargetPort)}, 1, 0, kCtDnat, 60).entry ==
            nullptr)
            break;
    }
    const double accounted = ct->bytes_per_flow();
    const double measured = static_cast<double>(heap) / capacity;
    if (o.json)
        std::printf("{\"benchmark\":\"services\",\"scenario\":\"memory\",\"ct_capacity\":%u,\"bytes_per_flow\":%.1f,"
                    "\"heap_bytes_per_flow\":%.1f,\"entry_bytes\":%zu,\"filled_flows\":%u,\"fill_ratio\":%.4f}\n",
                    capacity, accounted, measured, sizeof(CtEntry), filled, static_cast<double>(filled) / capacity);
    else
        std::printf("conntrack of %u flows: bytes_per_flow() %.1f; EAL heap grew by %.1f MiB = %.1f bytes/flow "
                    "(entry %zu); %u flows inserted before the first failure (%.2f%% of capacity)\n",
                    capacity, accounted, static_cast<double>(heap) / (1 << 20), measured, sizeof(CtEntry), filled,
                    100.0 * filled / capacity);
    return 0;
}

/// build_maglev_table(M = 65521) for 1000 backends (--backends), median of --runs.
int run_maglev(const Options& o) {
    const uint32_t n = o.backends;
    constexpr uint32_t kM = 65521;
    std::vector<MaglevBackend> backends;
    for (uint32_t k = 0; k < n; ++k) {
        const Ipv4Addr ip = Ipv4Addr::from_host(0x0ac90000u + ((k / 250) << 8) + 1 + k % 250);
        backends.push_back(MaglevBackend{maglev_backend_hash_string(ip, kTargetPort, MaglevL4::tcp), k, 1});
    }
    const auto seed = parse_maglev_seed(kMaglevDefaultSeed);
    if (!seed) {
        std::fprintf(stderr, "bench_services: %s\n", seed.error().message.c_str());
        return 1;
    }
    std::vector<double> ms;
    for (uint32_t r = 0; r <= o.runs; ++r) { // run 0 warms up
        const auto t0 = std::chrono::steady_clock::now();
        auto table = build_maglev_table(backends, kM, *seed);
        const auto t1 = std::chrono::steady_clock::now();
        if (!table || table->size() != kM) {
            std::fprintf(stderr, "bench_services: build_maglev_table failed\n");
            return 1;
        }
        if (r > 0)
            ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double median = ms.size() % 2 ? ms[ms.size() / 2] : (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]) / 2;
    if (o.json)
        std::printf("{\"benchmark\":\"services\",\"scenario\":\"maglev\",\"m\":%u,\"backends\":%u,\"runs\":%u,"
                    "\"median_ms\":%.3f,\"min_ms\":%.3f,\"max_ms\":%.3f}\n",
                    kM, n, o.runs, median, ms.front(), ms.back());
    else
        std::printf("maglev: build_maglev_table(M=%u, %u backends): median %.3f ms of %u runs (min %.3f, max %.3f)\n",
                    kM, n, median, o.runs, ms.front(), ms.back());
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    const Options o = parse_options(argc, argv);
    switch (o.scenario) {
    case Scenario::Memory:
        return run_memory(o);
    case Scenario::Maglev:
        return run_maglev(o);
    default:
        return run_path(o);
    }
}
