// Kernel network configuration over rtnetlink (libmnl): moving a pod's
// interface into its network namespace and giving it its address and routes.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"

namespace podlane {

/// What a pod's kernel interface should look like once attached.
struct PodInterfaceSpec {
    std::string host_ifname;   ///< the interface's name in the caller's netns (e.g. the TAP "plt1a2b3c")
    std::string netns_path;    ///< target netns, e.g. /run/netns/pod-a
    std::string pod_ifname;    ///< name inside the pod, e.g. "eth0"
    MacAddr mac;               ///< MAC set on the pod interface
    Ipv4Addr ip;               ///< pod IP, configured as /32
    Ipv4Addr gateway;          ///< routes: gateway/32 scope link, default via gateway onlink
    uint32_t mtu = 1500;
    bool disable_ipv6 = true;  ///< write net.ipv6.conf.<if>.disable_ipv6=1 in the pod
};

/// Resolves a netns given as a name (looked up under /run/netns) or an
/// absolute path; fails with a clear message if it does not exist.
Result<std::string> resolve_netns_path(const std::string& name_or_path);

/// Moves `spec.host_ifname` from the calling thread's netns into
/// `spec.netns_path`, renames it, sets MAC and MTU, brings it up and adds the
/// address and routes. On failure nothing is left half-configured in the
/// caller's netns (the interface may remain in the pod netns, down).
Result<void> attach_pod_interface(const PodInterfaceSpec& spec);

/// Configures `spec.host_ifname` in the calling thread's own netns the way
/// attach_pod_interface configures a pod (MAC, MTU, up, ip/32, routes via
/// the gateway), without moving or renaming it: the node's host interface.
Result<void> configure_local_interface(const PodInterfaceSpec& spec);

/// Runs `fn` on a short-lived thread that has entered `netns_path`; the
/// calling thread's namespace is never changed.
Result<void> run_in_netns(const std::string& netns_path, const std::function<Result<void>()>& fn);

/// An IPv4 address on an interface, with its prefix length.
struct InterfaceAddress {
    Ipv4Addr ip;
    uint8_t len = 32;
};

/// An IPv4 route of the main table out of an interface.
struct InterfaceRoute {
    Ipv4Prefix dst;    ///< 0.0.0.0/0 for the default route
    Ipv4Addr gateway;  ///< zero: on-link
};

/// A pod interface as the kernel reports it (what CNI CHECK compares).
struct PodInterfaceState {
    bool up = false;
    MacAddr mac;
    uint32_t mtu = 0;
    std::vector<InterfaceAddress> addresses;
    std::vector<InterfaceRoute> routes;
};

/// Reads `ifname` in the network namespace at `netns_path`: flags, MAC, MTU,
/// IPv4 addresses and main-table routes through it. Fails when the
/// namespace or the interface does not exist.
Result<PodInterfaceState> inspect_pod_interface(const std::string& netns_path, const std::string& ifname);

} // namespace podlane
