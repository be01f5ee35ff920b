// What the pipeline knows about the port a packet came in on, and the first
// check a pod's packet meets: its source address.
#pragma once

#include <cstdint>

#include "common/net_types.h"
#include "dataplane/parse.h"
#include "dataplane/snapshot.h"

namespace podlane {

/// Cilium's reserved identity for the node itself (host traffic's VNI).
inline constexpr uint32_t kHostIdentity = 1;
/// Cilium's reserved identity for everything outside the cluster.
inline constexpr uint32_t kWorldIdentity = 2;
/// Cilium's reserved identity for other nodes (their own traffic).
inline constexpr uint32_t kRemoteNodeIdentity = 6;

/// What the pipeline knows about the port a burst came in on.
struct Ingress {
    uint16_t port = 0;
    bool from_endpoint = false; ///< the port belongs to a pod
    bool from_host = false;     ///< the port is the host path (the node's kernel)
    Ipv4Addr endpoint_ip;       ///< that pod's IP, the only source it may use
    uint32_t identity = 0;      ///< the sender's identity (the VNI of its tunnelled packets)

    static Ingress of(const Snapshot& snap, uint16_t port) noexcept {
        if (snap.ports[port].role == PortRole::Host)
            return Ingress{port, false, true, {}, kHostIdentity};
        const uint32_t ep = snap.ports[port].endpoint;
        if (ep == kNoEndpoint)
            return Ingress{port, false, false, {}, 0};
        return Ingress{port, true, false, snap.endpoints[ep].ip, snap.endpoints[ep].identity};
    }
    /// The uplink: traffic from outside (or from other nodes' kernels).
    static Ingress uplink(uint16_t port) noexcept { return Ingress{port, false, false, {}, kWorldIdentity}; }
};

/// The source check: a pod may only send from its own IP (anti-spoofing,
/// like Cilium's DROP_INVALID_SIP). Other ports are not checked.
[[gnu::always_inline]] inline bool source_ok(const Ingress& in, const ParsedPacket& p) noexcept {
    return !in.from_endpoint || in.endpoint_ip.be == p.ip->src_addr;
}

} // namespace podlane
