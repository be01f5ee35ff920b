#include "control/pods/pod_check.h"

#include <algorithm>

namespace podlane {

std::vector<std::string> pod_interface_problems(const PodInterfaceSpec& want, const PodInterfaceState& seen) {
    std::vector<std::string> problems;
    const std::string dev = "\"" + want.pod_ifname + "\"";
    if (!seen.up)
        problems.push_back(dev + " is down");
    if (seen.mac != want.mac)
        problems.push_back(dev + " has MAC " + seen.mac.str() + ", but podlane delivers to " + want.mac.str());
    if (seen.mtu > want.mtu)
        problems.push_back(dev + " has MTU " + std::to_string(seen.mtu) + ", above the pod MTU " +
                           std::to_string(want.mtu));
    const bool has_ip = std::any_of(seen.addresses.begin(), seen.addresses.end(),
                                    [&](const InterfaceAddress& a) { return a.ip == want.ip; });
    if (!has_ip) {
        std::string have;
        for (const InterfaceAddress& a : seen.addresses)
            have += (have.empty() ? "" : ", ") + a.ip.str() + "/" + std::to_string(a.len);
        problems.push_back(dev + " lacks the pod address " + want.ip.str() + " (it has " +
                           (have.empty() ? "none" : have) + ")");
    }
    const bool has_default = std::any_of(seen.routes.begin(), seen.routes.end(), [&](const InterfaceRoute& r) {
        return r.dst.len == 0 && r.gateway == want.gateway;
    });
    if (!has_default)
        problems.push_back("no default route via the gateway " + want.gateway.str() + " through " + dev);
    return problems;
}

} // namespace podlane
