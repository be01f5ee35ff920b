// Fuzz target: conntrack's state machine driven by sequences of packets
// through the pipeline (FuzzedDataProvider picks each step): pod A's TCP,
// UDP and ping flows to the ClusterIP and to the outside, the backends'
// replies, NodePort traffic from outside, any TCP flags, and the clock
// jumping forward (flows expire as the control thread expires them).
//
// What must hold at every step, whatever the sequence:
//  - while conntrack holds A's flow to the ClusterIP with backend X, A's
//    next packet of that flow goes to X (a flow keeps its backend);
//  - a reply from a backend on a flow conntrack holds goes back to A from
//    the service address and port (reverse NAT);
//  - conntrack never holds more flows than its capacity.
#include <FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include <rte_ether.h>
#include <rte_ip.h>

#include "frame_builder.h"
#include "fuzz_node.h"

using namespace podlane;
using namespace podlane::fuzz;

namespace {

constexpr uint16_t kSports[4] = {40000, 40001, 50000, 33000};

[[noreturn]] void broken(const char* what) {
    std::fprintf(stderr, "conntrack: %s\n", what);
    std::abort();
}

struct Seen {
    Ipv4Addr src, dst;
    uint16_t sport = 0, dport = 0;
};

Seen decode(const std::vector<uint8_t>& f, size_t at = 0) {
    Seen s;
    if (f.size() < at + sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + 4)
        return s;
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(f.data() + at + sizeof(rte_ether_hdr));
    s.src = Ipv4Addr{ip->src_addr};
    s.dst = Ipv4Addr{ip->dst_addr};
    const size_t l4 = at + sizeof(rte_ether_hdr) + rte_ipv4_hdr_len(ip);
    if (f.size() >= l4 + 4) {
        s.sport = static_cast<uint16_t>(f[l4] << 8 | f[l4 + 1]);
        s.dport = static_cast<uint16_t>(f[l4 + 2] << 8 | f[l4 + 3]);
    }
    return s;
}

/// The backend conntrack holds for A's flow (sport, proto) to the web VIP, if any.
std::optional<Ipv4Addr> tracked_backend(Conntrack& ct, uint16_t sport, uint8_t proto) {
    CtTuple t{};
    t.src = kPodA.be;
    t.dst = kWebVip.be;
    t.sport = rte_cpu_to_be_16(sport);
    t.dport = rte_cpu_to_be_16(proto == IPPROTO_TCP ? 80 : 53);
    t.proto = proto;
    const CtHit hit = ct.lookup(t);
    if (hit.entry == nullptr || hit.dir != CtDir::Original)
        return std::nullopt;
    if (hit.entry->expires.load() < ct_now_s())
        return std::nullopt; // expired, not yet collected: a new flow may replace it
    return Ipv4Addr{ct.xlate(hit).dst};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    FuzzNode& node = FuzzNode::get(in.ConsumeBool());
    node.reset();
    std::vector<uint8_t> out;
    for (int step = 0; step < 64 && in.remaining_bytes() > 0; ++step) {
        const int kind = in.ConsumeIntegralInRange(0, 5);
        const uint16_t sport = kSports[in.ConsumeIntegralInRange(0, 3)];
        const uint8_t proto = in.PickValueInArray({IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP});
        const uint8_t flags = in.ConsumeIntegral<uint8_t>();
        const uint16_t payload = in.ConsumeIntegralInRange<uint16_t>(0, 64);
        test::Ipv4Spec s{.src_mac = MacAddr::from_ipv4(kPodA), .dst_mac = node.gateway_mac(), .src = kPodA,
                         .dst = kWebVip, .proto = proto, .payload = payload, .sport = sport,
                         .dport = static_cast<uint16_t>(proto == IPPROTO_TCP ? 80 : 53), .tcp_flags = flags};
        if (proto == IPPROTO_ICMP) {
            s.icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
            s.sport = sport; // the echo identifier
        }
        uint16_t in_port = kPortA;
        std::optional<Ipv4Addr> expect_backend;
        bool expect_reverse_nat = false;
        switch (kind) {
        case 0: // A to the ClusterIP
            if (proto != IPPROTO_ICMP)
                expect_backend = tracked_backend(node.ct(), sport, proto);
            break;
        case 1: { // a backend answers A
            const Ipv4Addr backend = in.ConsumeBool() ? kPodB : kPodC;
            const auto tracked = proto == IPPROTO_ICMP ? std::nullopt : tracked_backend(node.ct(), sport, proto);
            expect_reverse_nat = tracked && *tracked == backend;
            s.src_mac = MacAddr::from_ipv4(backend);
            s.src = backend;
            s.dst = kPodA;
            s.sport = static_cast<uint16_t>(proto == IPPROTO_TCP ? 8080 : 5353);
            s.dport = sport;
            if (proto == IPPROTO_ICMP) {
                s.icmp_type = RTE_IP_ICMP_ECHO_REPLY;
                s.sport = sport;
            }
            in_port = backend == kPodB ? kPortB : kPortC;
            break;
        }
        case 2: // A to the outside (masqueraded)
            s.dst = kExtIp;
            break;
        case 3: { // from outside: a reply to a masqueraded flow, or to a NodePort
            s.src_mac = MacAddr::from_ipv4(kExtIp);
            s.dst_mac = MacAddr::from_ipv4(kNodeIp);
            s.src = kExtIp;
            s.dst = kNodeIp;
            const bool nodeport = in.ConsumeBool();
            s.sport = nodeport ? sport : static_cast<uint16_t>(proto == IPPROTO_TCP ? 80 : 53);
            s.dport = nodeport ? static_cast<uint16_t>(proto == IPPROTO_TCP ? 30080 : 30053)
                               : in.ConsumeIntegral<uint16_t>();
            if (proto == IPPROTO_ICMP)
                s.icmp_type = RTE_IP_ICMP_ECHO_REPLY;
            in_port = kUplinkPort;
            break;
        }
        case 4: // A to the service with no backends
            s.dst = kEmptyVip;
            break;
        default: { // the clock jumps: the control thread expires flows
            const uint32_t ahead = in.ConsumeIntegralInRange<uint32_t>(0, 30000);
            node.ct().expire(ct_now_s() + ahead);
            node.ct().reclaim();
            continue;
        }
        }
        const uint16_t port = node.run(in_port, test::ipv4_frame(s), 0, &out);
        if (node.ct().flows() > node.ct().capacity())
            broken("more flows than the table holds");
        if (expect_backend) {
            if (port == kDropPort)
                broken("an established flow to the ClusterIP was dropped");
            if (decode(out).dst != *expect_backend)
                broken("a tracked flow changed backend");
        }
        if (expect_reverse_nat && port != kDropPort) {
            const Seen r = decode(out);
            if (port != kPortA || r.src != kWebVip || r.sport != (proto == IPPROTO_TCP ? 80 : 53))
                broken("a backend's reply on a tracked flow was not reverse-NATed to the service");
        }
    }
    return 0;
}
