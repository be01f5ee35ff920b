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
    std::vector<PortQueues> ports = in.plain_ports;
    for (const AttachedEndpoint& ep : in.endpoints) {
        s->ports[ep.port.port_id] = PortEntry{true, static_cast<uint32_t>(s->endpoints.size())};
        s->endpoints.push_back(EndpointEntry{ep.ip, ep.mac, ep.port.port_id});
        ips.push_back(ep.ip);
        ports.push_back(ep.port);
    }
    s->endpoint_by_ip = EndpointTable(ips);
    for (const PortQueues& p : in.plain_ports)
        s->ports[p.port_id] = PortEntry{true, kNoEndpoint};

    std::sort(ports.begin(), ports.end(),
              [](const PortQueues& a, const PortQueues& b) { return a.port_id < b.port_id; });
    s->workers.resize(std::max<uint32_t>(in.workers, 1));
    size_t next = 0;
    for (const PortQueues& p : ports)
        for (uint16_t q = 0; q < p.rx_queues; ++q)
            s->workers[next++ % s->workers.size()].rx.push_back(RxQueueRef{p.port_id, q});
    return s;
}

} // namespace podlane
