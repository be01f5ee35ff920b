// The stages of the per-packet path, for the per-stage counters (like VPP's
// per-node counters). One source of truth: the X-macro list gives the enum,
// in the order a packet meets the stages, and the stable names shown by
// `podlane stats --stages` and the metrics. Which stages a packet goes
// through depends on where it came in; pipeline.cpp's journeys call them.
#pragma once

#include <cstdint>
#include <string_view>

namespace podlane {

#define PODLANE_FOREACH_STAGE(X)                                                                         \
    X(Parse, "parse", "Ethernet, ARP and IPv4 header checks; finishes malformed and unsupported frames")   \
    X(Arp, "arp", "ARP for the gateway and node IPs: answered, learnt or dropped")                         \
    X(Source, "source", "a pod's source address check; finishes spoofed packets")                          \
    X(ToUs, "to_us", "packets for podlane's own addresses (ping the gateway or node IP): answered or dropped") \
    X(Decap, "decap", "VXLAN/Geneve from other nodes: translates (decapsulates), finishes malformed ones")  \
    X(LoadBalancer, "load_balancer",                                                                     \
      "conntrack and services: translates (DNAT, reverse NAT), finishes rejects and drops")               \
    X(Route, "route", "where a packet goes (pod, node's kernel, remote node, uplink); finishes unroutable ones") \
    X(Masquerade, "masquerade", "pod traffic leaving by the uplink: translates (SNAT), finishes drops")    \
    X(Encap, "encap", "into a tunnel to a remote node: translates (encapsulates), finishes too big ones")  \
    X(Deliver, "deliver", "Ethernet header and output port, or the hold queue: finishes all it takes")

/// A stage of the per-packet path. Count is the number of stages, not a stage.
enum class Stage : uint8_t {
#define PODLANE_STAGE_ENUM(name, str, help) name,
    PODLANE_FOREACH_STAGE(PODLANE_STAGE_ENUM)
#undef PODLANE_STAGE_ENUM
        Count
};

inline constexpr size_t kStageCount = static_cast<size_t>(Stage::Count);

/// Stable snake_case name, e.g. "load_balancer".
std::string_view stage_name(Stage s) noexcept;
/// One-line description for help texts and docs.
std::string_view stage_help(Stage s) noexcept;

} // namespace podlane
