#include "control/snapshot_builder.h"

#include <algorithm>

namespace podlane {

std::unique_ptr<Snapshot> build_snapshot(const SnapshotInputs& in) {
    auto s = std::make_unique<Snapshot>();
    s->generation = in.generation;
    s->pod_cidr = in.pod_cidr;
    s->gateway_ip = in.gateway_ip;
    s->gateway_mac = in.gateway_mac;

    std::vector<Ipv4Addr> ips;
    std::vector<uint16_t> ports = in.plain_ports;
    for (const AttachedEndpoint& ep : in.endpoints) {
        s->ports[ep.port_id] = PortEntry{true, static_cast<uint32_t>(s->endpoints.size())};
        s->endpoints.push_back(EndpointEntry{ep.ip, ep.mac, ep.port_id});
        ips.push_back(ep.ip);
        ports.push_back(ep.port_id);
    }
    s->endpoint_by_ip = EndpointTable(ips);
    for (uint16_t p : in.plain_ports)
        s->ports[p] = PortEntry{true, kNoEndpoint};

    std::sort(ports.begin(), ports.end());
    s->workers.resize(std::max<uint32_t>(in.workers, 1));
    for (size_t i = 0; i < ports.size(); ++i) {
        WorkerPlan& plan = s->workers[i % s->workers.size()];
        plan.rx[plan.n_rx++] = RxQueueRef{ports[i], 0};
    }
    return s;
}

} // namespace podlane
