// In-process microbenchmark of the worker pipeline (run_stages) on
// synthetic bursts, in three scenarios:
//   local  pod -> pod on the same node: parse, source check, endpoint lookup,
//          TTL/checksum, MAC rewrite;
//   encap  pod -> pod on a remote node in VXLAN: the same plus the remote
//          PodCIDR lookup, MTU check, flow hash and the 50-byte encapsulation;
//   decap  VXLAN from a remote node -> local pod: outer parse, tunnel checks,
//          decapsulation, inner parse and delivery.
// No I/O and no EAL: mbufs live in plain memory, so the same binary also runs
// under callgrind for a stable instructions/packet.
//
//   bench_pipeline [--scenario local|encap|decap] [--seconds S] [--iterations N]
//                  [--endpoints E] [--burst B] [--json]
//
// With --iterations the run is a fixed amount of work (for callgrind:
//   valgrind --tool=callgrind --toggle-collect='*run_stages*' bench_pipeline --iterations 20000
// then instructions/packet = Ir / (iterations * burst)).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "control/tables/snapshot_builder.h"
#include "dataplane/pipeline.h"
#include "dataplane/service_lb.h"
#include "frame_builder.h"

using namespace podlane;

namespace {

enum class Scenario { Local, Encap, Decap };

constexpr uint16_t kUplinkPort = kMaxPorts - 1;

const char* scenario_name(Scenario s) {
    return s == Scenario::Local ? "local" : s == Scenario::Encap ? "encap" : "decap";
}

struct Options {
    Scenario scenario = Scenario::Local;
    double seconds = 3.0;
    uint64_t iterations = 0; ///< 0: run for `seconds`
    uint32_t endpoints = 16;
    uint16_t burst = 32;
    bool json = false;
    int observe = -1; ///< flow events: one per N forwarded packets (0: drops only); -1: off
};

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "bench_pipeline: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--scenario") {
            std::string v = next();
            if (v == "local") o.scenario = Scenario::Local;
            else if (v == "encap") o.scenario = Scenario::Encap;
            else if (v == "decap") o.scenario = Scenario::Decap;
            else {
                std::fprintf(stderr, "bench_pipeline: --scenario takes local, encap or decap, not \"%s\"\n", v.c_str());
                std::exit(2);
            }
        } else if (a == "--seconds") o.seconds = std::atof(next());
        else if (a == "--iterations") o.iterations = std::strtoull(next(), nullptr, 10);
        else if (a == "--endpoints") o.endpoints = static_cast<uint32_t>(std::atoi(next()));
        else if (a == "--burst") o.burst = static_cast<uint16_t>(std::atoi(next()));
        else if (a == "--json") o.json = true;
        else if (a == "--observe") o.observe = std::atoi(next());
        else {
            std::fprintf(stderr, "usage: bench_pipeline [--scenario local|encap|decap] [--seconds S] [--iterations N] [--endpoints E] [--burst B] [--observe N] [--json]\n");
            std::exit(a == "-h" || a == "--help" ? 0 : 2);
        }
    }
    if (o.burst == 0 || o.burst > kMaxBurst || o.endpoints < 2 || o.endpoints >= kUplinkPort) {
        std::fprintf(stderr, "bench_pipeline: need 1 <= burst <= %u and 2 <= endpoints < %u\n", kMaxBurst, kUplinkPort);
        std::exit(2);
    }
    return o;
}

constexpr uint32_t kRemoteNodes = 8;

Ipv4Addr pod_ip(uint32_t i) { return Ipv4Addr::from_host(0x0ac80000u + 10 + i); }            // 10.200.0.(10+i)
Ipv4Addr remote_pod_ip(uint32_t node, uint32_t i) { return Ipv4Addr::from_host(0x0ac90000u + (node << 8) + 10 + i); } // 10.201.<node>.(10+i)
Ipv4Addr node_ip(uint32_t n) { return Ipv4Addr::from_host(0xc0a83214u + n); }             // 192.168.50.(20+n)

/// Node A: local pods 10.200.0.(10+i) on ports 0..E-1 and an uplink in VXLAN
/// mode to 8 remote nodes owning 10.201.<n>.0/24, all next hops resolved.
/// As node 0 of the remote ones (`as_remote`), its pods are 10.201.0.(10+i).
std::unique_ptr<Snapshot> node_snapshot(uint32_t endpoints, bool as_remote) {
    SnapshotInputs in;
    in.generation = 1;
    in.pod_cidr = *Ipv4Prefix::parse(as_remote ? "10.201.0.0/24" : "10.200.0.0/24");
    in.gateway_ip = *Ipv4Addr::parse(as_remote ? "10.201.0.1" : "10.200.0.1");
    in.gateway_mac = MacAddr::from_ipv4(in.gateway_ip);
    for (uint32_t i = 0; i < endpoints; ++i) {
        const Ipv4Addr ip = as_remote ? remote_pod_ip(0, i) : pod_ip(i);
        in.endpoints.push_back(AttachedEndpoint{ip, MacAddr::from_ipv4(ip), {static_cast<uint16_t>(i), 1}, 1000 + i});
    }
    UplinkInput u;
    u.port = {kUplinkPort, 1};
    u.node_ip = as_remote ? node_ip(0) : *Ipv4Addr::parse("192.168.50.11");
    u.node_mac = MacAddr::from_ipv4(u.node_ip);
    u.routing = Routing::Vxlan;
    for (uint32_t n = 0; n < kRemoteNodes; ++n) {
        const Ipv4Prefix cidr{remote_pod_ip(n, 0), 24};
        Ipv4Prefix masked{Ipv4Addr::from_host(cidr.addr.host() & cidr.mask_host()), 24};
        u.nodes.push_back(RemoteNodeInput{node_ip(n), {masked}, MacAddr::from_ipv4(node_ip(n)), true, {}});
    }
    in.uplink = u;
    return build_snapshot(in);
}

/// A 60-byte UDP frame from endpoint 0 to `dst` (64 bytes on the wire), in
/// an mbuf carved from plain memory.
rte_mbuf* make_packet(std::vector<uint8_t>& arena, size_t slot, Ipv4Addr dst, const MacAddr& gw_mac) {
    constexpr size_t kSlot = sizeof(rte_mbuf) + RTE_PKTMBUF_HEADROOM + 256;
    const std::vector<uint8_t> frame = test::ipv4_frame({.src_mac = MacAddr::from_ipv4(pod_ip(0)),
                                                         .dst_mac = gw_mac,
                                                         .src = pod_ip(0),
                                                         .dst = dst,
                                                         .payload = 18,
                                                         .sport = static_cast<uint16_t>(10000 + slot),
                                                         .dport = 80});
    auto* m = reinterpret_cast<rte_mbuf*>(arena.data() + slot * kSlot);
    std::memset(m, 0, sizeof *m);
    m->buf_addr = reinterpret_cast<uint8_t*>(m) + sizeof(rte_mbuf);
    m->buf_len = RTE_PKTMBUF_HEADROOM + 256;
    m->data_off = RTE_PKTMBUF_HEADROOM;
    m->nb_segs = 1;
    m->data_len = m->pkt_len = static_cast<uint16_t>(frame.size());
    std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), frame.data(), frame.size());
    return m;
}

/// The peer measured in the same run: testpmd's macswap forwarding on the
/// same burst (swap the Ethernet addresses, nothing else), the least work a
/// forwarder does per packet. Returns cycles/packet.
double macswap_cycles_per_packet(std::vector<rte_mbuf*>& burst, uint64_t cycles_budget) {
    uint64_t packets = 0;
    const uint64_t start = rte_rdtsc();
    do {
        for (int k = 0; k < 1024; ++k) {
            for (rte_mbuf* m : burst) {
                auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
                rte_ether_addr tmp = eth->dst_addr;
                eth->dst_addr = eth->src_addr;
                eth->src_addr = tmp;
            }
            asm volatile("" ::: "memory"); // keep every round
        }
        packets += 1024 * burst.size();
    } while (rte_rdtsc() - start < cycles_budget);
    return static_cast<double>(rte_rdtsc() - start) / static_cast<double>(packets);
}

double tsc_hz() {
    auto t0 = std::chrono::steady_clock::now();
    uint64_t c0 = rte_rdtsc();
    while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(100)) {
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return static_cast<double>(rte_rdtsc() - c0) / secs;
}

} // namespace

int main(int argc, char** argv) {
    const Options o = parse_options(argc, argv);
    auto node_a = node_snapshot(o.endpoints, false);
    auto node_b = node_snapshot(o.endpoints, true); // remote node 0, for decap
    const Snapshot& snap = o.scenario == Scenario::Decap ? *node_b : *node_a;
    const uint16_t in_port = o.scenario == Scenario::Decap ? kUplinkPort : 0;

    std::vector<uint8_t> arena((sizeof(rte_mbuf) + RTE_PKTMBUF_HEADROOM + 256) * o.burst + 64);
    std::vector<rte_mbuf*> burst(o.burst);
    for (uint16_t i = 0; i < o.burst; ++i) {
        Ipv4Addr dst = o.scenario == Scenario::Local ? pod_ip(1 + i % (o.endpoints - 1))
                       : o.scenario == Scenario::Encap ? remote_pod_ip(i % kRemoteNodes, i % 7)
                                                       : remote_pod_ip(0, i % o.endpoints);
        burst[i] = make_packet(arena, i, dst, node_a->gateway_mac);
    }
    WorkerCounters counters;
    uint16_t out[kMaxBurst];
    // --observe N: a worker's flow-event tap, its ring emptied after every
    // burst (the control thread drains it, on another core, in podlaned).
    LbWorker lb;
    FlowTap tap;
    std::vector<uint8_t> ring_mem;
    if (o.observe >= 0) {
        ring_mem.resize(rte_ring_get_memsize_elem(sizeof(FlowEvent), 4096) + 64);
        auto* ring = reinterpret_cast<rte_ring*>((reinterpret_cast<uintptr_t>(ring_mem.data()) + 63) & ~uintptr_t{63});
        if (rte_ring_init(ring, "bench_flows", 4096, RING_F_SP_ENQ | RING_F_SC_DEQ) != 0) {
            std::fprintf(stderr, "bench_pipeline: cannot set up the flow-event ring\n");
            return 1;
        }
        tap.ring = ring;
        tap.sample_every = static_cast<uint32_t>(o.observe);
        tap.countdown = o.observe > 0 ? static_cast<uint32_t>(o.observe) : 1;
        lb.flows = &tap;
    }
    if (o.scenario == Scenario::Decap) {
        // The input is what node A really sends: encapsulate once with it.
        WorkerCounters setup;
        run_stages(*node_a, 0, std::span(burst.data(), o.burst), out, setup);
        if (setup.encapsulated.get() != o.burst) {
            std::fprintf(stderr, "bench_pipeline: could not build the VXLAN input\n");
            return 1;
        }
    }
    // The inner IPv4 header's offset, TTL and checksum, to restore each round.
    const uint16_t outer = o.scenario == Scenario::Decap ? kTunnelOverhead : 0;
    std::vector<rte_be16_t> checksum(o.burst);
    std::vector<uint8_t> ttl(o.burst);
    for (uint16_t i = 0; i < o.burst; ++i) {
        auto* ip = rte_pktmbuf_mtod_offset(burst[i], rte_ipv4_hdr*, outer + sizeof(rte_ether_hdr));
        checksum[i] = ip->hdr_checksum;
        ttl[i] = ip->time_to_live;
    }

    const double hz = o.iterations ? 0.0 : tsc_hz();
    const uint64_t deadline_cycles = o.iterations ? 0 : static_cast<uint64_t>(o.seconds * hz);
    uint64_t iterations = 0;
    const uint64_t start = rte_rdtsc();
    for (;;) {
        run_stages(snap, in_port, std::span(burst.data(), o.burst), out, counters, nullptr,
                       o.observe >= 0 ? &lb : nullptr);
        if (tap.ring != nullptr)
            rte_ring_reset(tap.ring);
        // Undo what the pipeline did so the same packets can go round again:
        // strip (encap) or restore (decap) the outer headers, reset TTL and
        // checksum. A few instructions per packet, counted in the figure.
        for (uint16_t i = 0; i < o.burst; ++i) {
            if (o.scenario == Scenario::Encap)
                rte_pktmbuf_adj(burst[i], kTunnelOverhead);
            else if (o.scenario == Scenario::Decap)
                rte_pktmbuf_prepend(burst[i], kTunnelOverhead);
            auto* ip = rte_pktmbuf_mtod_offset(burst[i], rte_ipv4_hdr*, outer + sizeof(rte_ether_hdr));
            ip->time_to_live = ttl[i];
            ip->hdr_checksum = checksum[i];
        }
        ++iterations;
        if (o.iterations ? iterations >= o.iterations : (iterations & 1023) == 0 && rte_rdtsc() - start >= deadline_cycles)
            break;
    }
    const uint64_t cycles = rte_rdtsc() - start;
    const uint64_t packets = iterations * o.burst;

    uint64_t drops = 0;
    for (const auto& d : counters.drops)
        drops += d.get();
    if (counters.forwarded.get() != packets || drops != 0) {
        std::fprintf(stderr, "bench_pipeline: expected %llu forwarded, got %llu (drops %llu)\n",
                     static_cast<unsigned long long>(packets),
                     static_cast<unsigned long long>(counters.forwarded.get()),
                     static_cast<unsigned long long>(drops));
        return 1;
    }
    if (o.iterations) {
        std::printf("packets %llu (run under callgrind for instructions/packet)\n",
                    static_cast<unsigned long long>(packets));
        return 0;
    }
    const double secs = static_cast<double>(cycles) / hz;
    const double mpps = static_cast<double>(packets) / secs / 1e6;
    const double cpp = static_cast<double>(cycles) / static_cast<double>(packets);
    const double peer_cpp = macswap_cycles_per_packet(burst, static_cast<uint64_t>(hz)); // 1 s
    if (o.json)
        std::printf("{\"benchmark\":\"pipeline\",\"scenario\":\"%s\",\"burst\":%u,\"endpoints\":%u,\"packets\":%llu,"
                    "\"seconds\":%.3f,\"mpps\":%.2f,\"tsc_cycles_per_packet\":%.1f,\"tsc_ghz\":%.3f,"
                    "\"macswap_cycles_per_packet\":%.1f,\"cost_vs_macswap\":%.2f}\n",
                    scenario_name(o.scenario), o.burst, o.endpoints, static_cast<unsigned long long>(packets), secs,
                    mpps, cpp, hz / 1e9, peer_cpp, cpp / peer_cpp);
    else
        std::printf("pipeline %s: %.2f Mpps on one core, %.1f TSC cycles/packet "
                    "(%llu packets in %.2f s, burst %u, %u endpoints, TSC %.2f GHz)\n"
                    "peer, same run: testpmd-style macswap %.1f cycles/packet; podlane costs %.2fx macswap\n",
                    scenario_name(o.scenario), mpps, cpp, static_cast<unsigned long long>(packets), secs, o.burst,
                    o.endpoints, hz / 1e9, peer_cpp, cpp / peer_cpp);
    return 0;
}
