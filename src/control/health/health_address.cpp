#include "control/health/health_address.h"

namespace podlane {

Ipv4Addr health_endpoint_ip(const Ipv4Prefix& pod_cidr) {
    if (pod_cidr.len > 30)
        return Ipv4Addr{};
    const uint32_t broadcast = pod_cidr.addr.host() | ~pod_cidr.mask_host();
    return Ipv4Addr::from_host(broadcast - 1);
}

} // namespace podlane
