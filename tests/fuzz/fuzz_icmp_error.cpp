// Fuzz target: ICMP errors quoting NATed flows. A flow is set up first
// through the pipeline (pod A to the ClusterIP, DNATed to a backend; or pod
// A to the outside, masqueraded to the node IP); then an ICMP error quoting
// the translated packet (as the backend or a router would send it) comes
// back, cut and changed as the input says.
//
// Input (FuzzedDataProvider): the scenario, the flow's protocol and port,
// the error's type and code, how much of the packet is quoted, whether the
// checksums are fixed after the changes, then (offset, byte) pairs written
// over the error frame.
//
// What must hold: an unchanged error about a tracked flow reaches pod A
// (translated back), whatever was quoted.
#include <FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "frame_builder.h"
#include "fuzz_node.h"

using namespace podlane;
using namespace podlane::fuzz;

namespace {

/// An ICMP error from `from` (MAC `from_mac`) to `to` quoting the IPv4
/// packet at `quote` (its first `quoted` bytes), with valid checksums.
std::vector<uint8_t> icmp_error(const MacAddr& from_mac, const MacAddr& to_mac, Ipv4Addr from, Ipv4Addr to,
                                uint8_t type, uint8_t code, const uint8_t* quote, size_t quoted) {
    std::vector<uint8_t> f(sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_icmp_hdr) + quoted);
    test::put_ether(f.data(), from_mac, to_mac, RTE_ETHER_TYPE_IPV4);
    rte_ipv4_hdr* ip = test::put_ipv4(f.data() + sizeof(rte_ether_hdr), from, to, IPPROTO_ICMP,
                                      static_cast<uint16_t>(f.size() - sizeof(rte_ether_hdr)), 62, 0, 7);
    auto* icmp = reinterpret_cast<rte_icmp_hdr*>(ip + 1);
    icmp->icmp_type = type;
    icmp->icmp_code = code;
    std::memcpy(icmp + 1, quote, quoted);
    return f;
}

/// Recomputes the IPv4 header checksum (when the changed header length still
/// fits the frame) and the ICMP checksum.
void fix_checksums(std::vector<uint8_t>& f) {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(f.data() + sizeof(rte_ether_hdr));
    ip->hdr_checksum = 0;
    if (rte_ipv4_hdr_len(ip) >= sizeof(rte_ipv4_hdr) && sizeof(rte_ether_hdr) + rte_ipv4_hdr_len(ip) <= f.size())
        ip->hdr_checksum = rte_ipv4_cksum(ip);
    auto* icmp = reinterpret_cast<rte_icmp_hdr*>(ip + 1);
    icmp->icmp_cksum = 0;
    const size_t len = f.size() - sizeof(rte_ether_hdr) - sizeof(rte_ipv4_hdr);
    icmp->icmp_cksum = static_cast<uint16_t>(~rte_raw_cksum(icmp, len));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    FuzzNode& node = FuzzNode::get(in.ConsumeBool());
    node.reset();
    const bool masquerade = in.ConsumeBool();
    const uint8_t proto = in.PickValueInArray({IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP});
    const uint16_t sport = in.ConsumeIntegral<uint16_t>();
    const uint8_t type = in.PickValueInArray({3, 11, 12, 4, 5, 0, 8});
    const uint8_t code = in.ConsumeIntegralInRange<uint8_t>(0, 15);
    const uint16_t payload = in.ConsumeIntegralInRange<uint16_t>(0, 600);

    // The flow: A to the ClusterIP (DNATed) or to the outside (masqueraded).
    test::Ipv4Spec s{.src_mac = MacAddr::from_ipv4(kPodA), .dst_mac = node.gateway_mac(), .src = kPodA,
                     .dst = masquerade ? kExtIp : kWebVip, .proto = proto, .payload = payload,
                     .sport = sport, .dport = static_cast<uint16_t>(proto == IPPROTO_TCP ? 80 : 53)};
    std::vector<uint8_t> sent;
    const uint16_t port = node.run(kPortA, test::ipv4_frame(s), 0, &sent);
    if (port == kDropPort || port == kPortA)
        return 0; // no flow (a reject, a ping to a VIP): nothing to quote
    const size_t outer = port == kUplinkPort && !masquerade ? kTunnelOverhead : 0;
    if (sent.size() < outer + sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr))
        return 0;
    const uint8_t* quote = sent.data() + outer + sizeof(rte_ether_hdr);
    const size_t whole = sent.size() - outer - sizeof(rte_ether_hdr);
    const size_t quoted = in.ConsumeIntegralInRange<size_t>(0, whole);

    // The error: from the backend (a pod on this node) or from a router outside.
    const auto* q = reinterpret_cast<const rte_ipv4_hdr*>(quote);
    const Ipv4Addr to{q->src_addr}, from_host{q->dst_addr};
    const bool from_outside = masquerade || port == kUplinkPort;
    const Ipv4Addr from = from_outside ? kExtIp : from_host;
    const uint16_t err_port = from_outside ? kUplinkPort : port;
    std::vector<uint8_t> err = icmp_error(MacAddr::from_ipv4(from), from_outside ? MacAddr::from_ipv4(kNodeIp)
                                                                                 : node.gateway_mac(),
                                          from, to, type, code, quote, quoted);
    const bool fix = in.ConsumeBool();
    bool changed = false;
    while (in.remaining_bytes() >= 2) {
        const size_t at = in.ConsumeIntegral<uint16_t>() % err.size();
        err[at] = in.ConsumeIntegral<uint8_t>();
        changed = true;
    }
    fix_checksums(err);
    if (!fix && changed)
        err[sizeof(rte_ether_hdr) + 10] ^= 0x5a; // a bad IP header checksum
    const uint16_t back = node.run(err_port, err, 0);
    const bool quotes_ports = quoted >= sizeof(rte_ipv4_hdr) + 8;
    if (!changed && outer == 0 && quotes_ports && (type == 3 || type == 11) && proto != IPPROTO_ICMP &&
        back != kPortA) {
        std::fprintf(stderr, "icmp error: an error about a tracked flow went to port %u, not to pod A\n", back);
        std::abort();
    }
    return 0;
}
