// The health section of the config (docs/config.md "health"): node health
// probing like cilium-health.
#pragma once

#include <cstdint>

namespace podlane {

/// Node health probing (control/health, docs/health.md). Every interval
/// podlaned probes every node of the cluster (itself included) on its node IP
/// and on its health endpoint, with ICMP echo and an HTTP GET on `port`.
struct HealthConfig {
    bool enabled = true;          ///< needs an uplink (a node IP); off: no probes, no responder, no endpoint
    uint32_t interval_ms = 5000;  ///< a probe round every interval
    uint32_t timeout_ms = 1000;   ///< a probe not answered within this is a failure
    uint16_t port = 4240;         ///< the HTTP responder's port on the node IP and the health endpoint (Cilium's)
    bool endpoint = true;         ///< attach the health endpoint (the PodCIDR's last usable address)
};

} // namespace podlane
