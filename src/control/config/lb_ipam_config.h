// LB IPAM's configuration: pools of addresses that LoadBalancer services
// without load_balancer_ips get theirs from (Cilium's CiliumLoadBalancerIPPool).
// Loaded by config_lb_ipam.cpp; documented in docs/config.md ("lb_ipam") and
// docs/lb-ipam.md.
#pragma once

#include <string>
#include <vector>

#include "common/net_types.h"
#include "control/config/label_selector.h"

namespace podlane {

/// One block of a pool: the addresses first..last (inclusive), from a CIDR
/// or a "start-stop" range.
struct LbIpamBlock {
    Ipv4Addr first{};
    Ipv4Addr last{};
    bool cidr = false; ///< given as a CIDR: its first and last address are reserved unless allow_first_last_ips
    std::string text;  ///< as written, for messages and the API

    friend bool operator==(const LbIpamBlock&, const LbIpamBlock&) = default;
};

/// Which services a pool serves (Cilium's serviceSelector): empty lists and
/// an empty label selector match every service; given, a service must match
/// each.
struct LbIpamSelector {
    std::vector<std::string> names;      ///< "namespace/name"
    std::vector<std::string> namespaces; ///< "namespace"
    LabelSelector labels{};              ///< the service's labels (service_selector_labels)

    friend bool operator==(const LbIpamSelector&, const LbIpamSelector&) = default;
};

/// A pool (CiliumLoadBalancerIPPool).
struct LbIpamPoolConfig {
    std::string name;                  ///< unique
    std::vector<LbIpamBlock> blocks{}; ///< at least one; they do not overlap each other
    bool allow_first_last_ips = false; ///< allowFirstLastIPs; /31 and /32 blocks always use every address
    LbIpamSelector service_selector{};
    bool disabled = false;             ///< gives no address

    friend bool operator==(const LbIpamPoolConfig&, const LbIpamPoolConfig&) = default;
};

/// The lb_ipam section.
struct LbIpamConfig {
    std::vector<LbIpamPoolConfig> pools; ///< in file order: of two overlapping pools the later is conflicting

    friend bool operator==(const LbIpamConfig&, const LbIpamConfig&) = default;
};

} // namespace podlane
