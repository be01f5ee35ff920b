// Fuzz target: frames from the uplink through the whole pipeline: VXLAN and
// Geneve (with options) from the peer node, nested tunnels, outer and inner
// fragments, NodePort traffic and masquerade replies from outside.
// Input: a control byte (bit 0: Geneve node instead of VXLAN; bit 1: first
// send a pod's TCP SYN to the outside so that a masqueraded flow exists),
// a split byte (nonzero: two chained segments, split there), then the frame.
#include <cstddef>
#include <cstdint>
#include <span>

#include "frame_builder.h"
#include "fuzz_node.h"

using namespace podlane;
using namespace podlane::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 3)
        return 0;
    const uint8_t control = data[0];
    FuzzNode& node = FuzzNode::get((control & 1) != 0);
    node.reset();
    if (control & 2) {
        // A flow the uplink's replies can match: A:40000 -> 192.168.50.1:80.
        const auto syn = test::ipv4_frame({.src_mac = MacAddr::from_ipv4(kPodA),
                                           .dst_mac = node.gateway_mac(),
                                           .src = kPodA,
                                           .dst = kExtIp,
                                           .proto = IPPROTO_TCP,
                                           .sport = 40000,
                                           .dport = 80,
                                           .tcp_flags = RTE_TCP_SYN_FLAG});
        node.run(kPortA, syn);
    }
    node.run(kUplinkPort, std::span(data + 2, size - 2), data[1]);
    return 0;
}
