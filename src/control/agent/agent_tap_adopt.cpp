// Pod TAPs across podlaned restarts: every pod TAP is made persistent once
// its pod is configured, so it stays in the pod's namespace, up, with its
// address, routes and MAC, when podlaned stops or dies. The next podlaned,
// attaching the same endpoint, finds it there and attaches net_tap to it by
// name from inside the pod's namespace (DPDK's TUNSETIFF then joins the
// existing TAP) without touching the pod's configuration. Deleting the
// endpoint clears the flag, so the TAP goes with podlaned's last descriptor.
#include "control/agent/agent.h"

#include <algorithm>
#include <cstdio>
#include <optional>

#include "control/ports/netlink.h"
#include "control/ports/tap_persist.h"

namespace podlane {

void Agent::keep_tap(const EndpointRecord& rec, bool persistent) {
    const std::string ifname = rec.spec.ifname;
    auto r = run_in_netns(rec.netns_path, [&] { return set_tap_persistent(ifname, persistent); });
    if (!r)
        std::fprintf(stderr, "podlaned: endpoint %s: %s%s\n", rec.spec.id.c_str(), r.error().message.c_str(),
                     persistent ? " (its link will not survive a podlaned restart)" : "");
}

Result<bool> Agent::adopt_tap(EndpointRecord& rec) {
    const EndpointConfig& ep = rec.spec;
    auto seen = inspect_pod_interface(rec.netns_path, ep.ifname);
    if (!seen)
        return false; // no interface of that name: a new pod, attached anew
    const bool has_ip = std::any_of(seen->addresses.begin(), seen->addresses.end(),
                                    [&](const InterfaceAddress& a) { return a.ip == ep.ip; });
    if (seen->mac != ep.mac || !has_ip)
        return false; // not this endpoint's: attaching anew reports the clash
    const uint32_t seq = tap_seq_++;
    // mac= keeps the kernel side's MAC what the pod has (net_tap sets the
    // interface's MAC to the port's at probe time).
    const std::string devargs = "net_tap_pl" + std::to_string(seq) + ",iface=" + ep.ifname + ",mac=" + ep.mac.str();
    std::optional<Result<PortQueues>> port;
    auto r = run_in_netns(rec.netns_path, [&]() -> Result<void> {
        port = ports_->attach(devargs, false); // the pod's flags stay as they are
        return *port ? Result<void>{} : Result<void>(port->error());
    });
    if (!r)
        return make_error("endpoint \"" + ep.id + "\": cannot re-attach its interface " + ep.ifname + " in " +
                          rec.netns_path + ": " + r.error().message);
    rec.port = **port;
    rec.tap_ifname = ep.ifname;
    rec.adopted = true;
    ++restart_.pods_adopted;
    return true;
}

} // namespace podlane
