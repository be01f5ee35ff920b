// The agent's uplink side: attaching the uplink and the host path, the
// neighbour cache's control work (ARP facts from the workers, probes), and the
// neighbour list. The rest of the agent is in agent.cpp.
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <rte_arp.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "control/agent/agent.h"
#include "control/ports/netlink.h"

namespace podlane {

namespace {

/// With an af_packet uplink the kernel still sees the interface: keep it
/// from answering ARP for the node IP (podlane does) and from accepting IP
/// packets that arrive there (its routes point at the host path, so strict
/// reverse-path filtering drops them). A DPDK-owned NIC needs none of this.
void protect_af_packet_uplink(const std::string& devargs) {
    if (devargs.rfind("net_af_packet", 0) != 0)
        return;
    const size_t at = devargs.find("iface=");
    if (at == std::string::npos)
        return;
    const std::string iface = devargs.substr(at + 6, devargs.find(',', at) - at - 6);
    for (const auto& [key, value] : {std::pair{"arp_ignore", "8"}, std::pair{"rp_filter", "1"}}) {
        const std::string path = "/proc/sys/net/ipv4/conf/" + iface + "/" + key;
        if (std::FILE* f = std::fopen(path.c_str(), "w")) {
            std::fputs(value, f);
            std::fclose(f);
        } else {
            std::fprintf(stderr, "podlaned: warning: cannot set %s: %s\n", path.c_str(), std::strerror(errno));
        }
    }
}

} // namespace

MacAddr Agent::host_mac() const { return MacAddr::from_ipv4(config_.node_ip); }

Result<void> Agent::start_uplink() {
    if (config_.uplinks.empty())
        return {};
    const UplinkConfig& uc = config_.uplinks.front();
    for (size_t i = 1; i < config_.uplinks.size(); ++i)
        std::fprintf(stderr, "podlaned: warning: uplinks[%zu] (%s) is not attached: only the first uplink carries traffic so far\n",
                     i, config_.uplinks[i].name.c_str());
    auto port = ports_->attach(uc.devargs);
    if (!port)
        return make_error("uplinks[0] (" + uc.name + "): " + port.error().message);
    uplink_ = StaticPort{PortConfig{uc.name, uc.devargs}, *port};
    rte_ether_addr mac{};
    rte_eth_macaddr_get(port->port_id, &mac);
    std::memcpy(node_mac_.bytes.data(), mac.addr_bytes, 6);

    const int socket = static_cast<int>(rte_socket_id());
    neighbor_ring_ = rte_ring_create_elem("podlane_neigh", sizeof(NeighborFact), 1024, socket, RING_F_SC_DEQ);
    control_tx_ = rte_ring_create("podlane_ctl_tx", 256, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (neighbor_ring_ == nullptr || control_tx_ == nullptr)
        return make_error(std::string("cannot create the control rings: ") + rte_strerror(rte_errno));
    std::vector<Ipv4Addr> peers;
    for (const PeerNodeConfig& peer : config_.nodes)
        peers.push_back(peer.ip);
    neighbors_.set_wanted(peers, port->port_id);
    protect_af_packet_uplink(uc.devargs);
    return start_host_path();
}

Result<void> Agent::start_host_path() {
    if (!config_.host.enabled)
        return {};
    const std::string& ifname = config_.host.ifname;
    auto port = ports_->attach("net_tap_plhost,iface=" + ifname);
    if (!port)
        return make_error("host path (" + ifname + "): " + port.error().message);
    host_port_ = *port;
    PodInterfaceSpec host{
        .host_ifname = ifname,
        .netns_path = "",
        .pod_ifname = ifname,
        .mac = host_mac(),
        .ip = config_.node_ip,
        .gateway = config_.network.gateway_ip,
        .mtu = config_.network.pod_mtu,
    };
    if (auto r = configure_local_interface(host); !r)
        return make_error("host path (" + ifname + "): " + r.error().message);
    return {};
}

void Agent::send_arp_probe(Ipv4Addr target) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr)
        return; // the next tick probes again
    auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_append(m, sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)));
    if (eth == nullptr) {
        rte_pktmbuf_free(m);
        return;
    }
    std::memset(eth->dst_addr.addr_bytes, 0xff, RTE_ETHER_ADDR_LEN);
    std::memcpy(eth->src_addr.addr_bytes, node_mac_.bytes.data(), RTE_ETHER_ADDR_LEN);
    eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
    auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
    arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
    arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    arp->arp_hlen = RTE_ETHER_ADDR_LEN;
    arp->arp_plen = 4;
    arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
    std::memcpy(arp->arp_data.arp_sha.addr_bytes, node_mac_.bytes.data(), RTE_ETHER_ADDR_LEN);
    arp->arp_data.arp_sip = config_.node_ip.be;
    std::memset(arp->arp_data.arp_tha.addr_bytes, 0, RTE_ETHER_ADDR_LEN);
    arp->arp_data.arp_tip = target.be;
    if (rte_ring_sp_enqueue(control_tx_, m) != 0)
        rte_pktmbuf_free(m);
}

void Agent::tick() {
    drain_capture();
    mesh_tick();
    if (uplink_) {
        const auto now = NeighborCache::Clock::now();
        bool changed = false;
        NeighborFact facts[64];
        unsigned n;
        while ((n = rte_ring_sc_dequeue_burst_elem(neighbor_ring_, facts, sizeof(NeighborFact), 64, nullptr)) > 0)
            for (unsigned i = 0; i < n; ++i) {
                if (facts[i].port_id == kResolveRequest)
                    neighbors_.request(facts[i].ip, uplink_->port.port_id, now);
                else
                    changed |= neighbors_.learn(facts[i].ip, facts[i].mac, facts[i].port_id, now);
            }
        NeighborCache::Tick t = neighbors_.tick(now);
        controller_ran("neighbor-refresh");
        for (Ipv4Addr ip : t.probe)
            send_arp_probe(ip);
        if (changed || t.changed)
            publish();
    }
    services_tick();
    restart_tick();
    bgp_tick();
    health_tick();
    drain_flows();
    tables_->reclaim();
    feed_metrics(false);
}

Json Agent::neighbor_list() {
    return neighbors_.json(NeighborCache::Clock::now(), [this](uint16_t port) {
        return uplink_ && uplink_->port.port_id == port ? uplink_->spec.name : PortManager::name(port);
    });
}

} // namespace podlane
