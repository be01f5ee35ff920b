#include "control/tables/snapshot_builder.h"

#include "control/tables/tunnel_template.h"

#include <algorithm>

#include <rte_byteorder.h>

namespace podlane {

std::unique_ptr<Snapshot> build_snapshot(const SnapshotInputs& in) {
    auto s = std::make_unique<Snapshot>();
    s->generation = in.generation;
    s->pod_cidr = in.pod_cidr;
    s->pod_net_be = in.pod_cidr.addr.be;
    s->pod_mask_be = rte_cpu_to_be_32(in.pod_cidr.mask_host());
    s->gateway_ip = in.gateway_ip;
    s->gateway_mac = in.gateway_mac;
    s->lb = in.lb ? in.lb : std::make_shared<const LbTables>();
    if (in.policy)
        s->policy = in.policy;

    std::vector<Ipv4Addr> ips;
    std::vector<PortQueues> ports = in.plain_ports;
    for (const AttachedEndpoint& ep : in.endpoints) {
        s->ports[ep.port.port_id] = PortEntry{static_cast<uint32_t>(s->endpoints.size()), PortRole::Endpoint};
        s->endpoints.push_back(EndpointEntry{ep.ip, ep.mac, ep.port.port_id, ep.identity});
        ips.push_back(ep.ip);
        ports.push_back(ep.port);
    }
    s->endpoint_by_ip = Ipv4Map(ips);
    for (const PortQueues& p : in.plain_ports)
        s->ports[p.port_id] = PortEntry{kNoEndpoint, PortRole::Plain};
    if (in.uplink) {
        const UplinkInput& u = *in.uplink;
        UplinkView& up = s->uplink;
        up.has_uplink = true;
        up.port_id = u.port.port_id;
        up.node_ip = u.node_ip;
        up.node_mac = u.node_mac;
        up.mtu = u.mtu;
        up.routing = u.routing;
        up.tunnel_port_be = rte_cpu_to_be_16(u.tunnel_port);
        up.neighbor_ring = u.neighbor_ring;
        up.control_tx = u.control_tx;
        up.subnet = u.subnet;
        up.gateway = u.gateway;
        std::vector<Ipv4Addr> node_ips, neighbor_ips;
        for (const RemoteNodeInput& n : u.nodes)
            node_ips.push_back(n.ip);
        up.node_by_ip = Ipv4Map(node_ips);
        for (const auto& [ip, mac] : u.neighbors) {
            neighbor_ips.push_back(ip);
            up.neighbor_macs.push_back(mac);
        }
        up.neighbor_by_ip = Ipv4Map(neighbor_ips);
        if (u.host_port) {
            up.has_host = true;
            up.host_port = u.host_port->port_id;
            up.host_mac = u.host_mac;
            s->ports[u.host_port->port_id] = PortEntry{kNoEndpoint, PortRole::Host};
            ports.push_back(*u.host_port);
        }
        std::vector<Ipv4Prefix> cidrs;
        std::vector<uint32_t> owner;
        for (const RemoteNodeInput& n : u.nodes) {
            for (const Ipv4Prefix& c : n.pod_cidrs) {
                cidrs.push_back(c);
                owner.push_back(static_cast<uint32_t>(up.nodes.size()));
            }
            up.nodes.push_back(RemoteNode{n.ip, n.mac, n.mac_valid, tunnel_template(up, n.ip, n.mac),
                                          n.tunnel_mac.is_zero() ? n.mac : n.tunnel_mac});
        }
        // PrefixTable maps prefix i to i; keep the owners in the same order.
        up.remote_cidrs = PrefixTable(cidrs);
        up.cidr_owner = std::move(owner);
        s->ports[u.port.port_id] = PortEntry{kNoEndpoint, PortRole::Uplink};
        ports.push_back(u.port);
    }

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
