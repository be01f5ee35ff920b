#include "ports.h"

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_ethdev.h>

namespace podlane::gen {

std::string start_ports(const std::vector<std::string>& devargs, unsigned queues, unsigned rx_queues, rte_mempool* pool,
                        unsigned link_timeout_s, std::vector<Port>& out) {
  for (const auto& d : devargs) {
    const std::string name = d.substr(0, d.find(','));
    int rc = rte_dev_probe(d.c_str());
    if (rc < 0) return "port " + d + ": probe failed: " + rte_strerror(-rc);
    // The ethdev's name may differ from the device's (net_ring names its
    // port after the ring): find the port by its device.
    uint16_t id = RTE_MAX_ETHPORTS;
    uint16_t pid = 0;
    RTE_ETH_FOREACH_DEV(pid) {
      rte_eth_dev_info di{};
      if (rte_eth_dev_info_get(pid, &di) == 0 && di.device && name == rte_dev_name(di.device)) id = pid;
    }
    if (id == RTE_MAX_ETHPORTS) return "port " + d + ": probed, but it has no ethdev";
    out.push_back({d, id});

    rte_eth_dev_info info{};
    rte_eth_dev_info_get(id, &info);
    const uint16_t q = static_cast<uint16_t>(queues);
    const uint16_t rq = static_cast<uint16_t>(rx_queues);
    if (rq > info.max_rx_queues || q > info.max_tx_queues)
      return "port " + d + ": " + std::to_string(rq) + " rx and " + std::to_string(q) +
             " tx queues asked, it has at most " + std::to_string(info.max_rx_queues) + " and " +
             std::to_string(info.max_tx_queues);
    rte_eth_conf conf{};
    if ((rc = rte_eth_dev_configure(id, rq, q, &conf)) != 0)
      return "port " + d + ": configure failed: " + rte_strerror(-rc);
    uint16_t nrx = 1024, ntx = 1024;
    rte_eth_dev_adjust_nb_rx_tx_desc(id, &nrx, &ntx);
    for (uint16_t i = 0; i < rq; ++i) {
      if ((rc = rte_eth_rx_queue_setup(id, i, nrx, rte_eth_dev_socket_id(id), nullptr, pool)) != 0)
        return "port " + d + ": rx queue setup failed: " + rte_strerror(-rc);
      if (i >= q) continue;
      if ((rc = rte_eth_tx_queue_setup(id, i, ntx, rte_eth_dev_socket_id(id), nullptr)) != 0)
        return "port " + d + ": tx queue setup failed: " + rte_strerror(-rc);
    }
    if ((rc = rte_eth_dev_start(id)) != 0) return "port " + d + ": start failed: " + rte_strerror(-rc);
    rte_eth_promiscuous_enable(id);
  }
  // Wait for every link (a vhost-user peer connecting, a client reconnecting).
  const uint64_t deadline = rte_get_timer_cycles() + link_timeout_s * rte_get_timer_hz();
  for (const auto& p : out) {
    rte_eth_link link{};
    while (rte_eth_link_get_nowait(p.id, &link) == 0 && link.link_status != RTE_ETH_LINK_UP &&
           rte_get_timer_cycles() < deadline)
      rte_delay_ms(50);
    if (link.link_status != RTE_ETH_LINK_UP) return "port " + p.devargs + ": link still down after " + std::to_string(link_timeout_s) + " s (peer not there?)";
  }
  return {};
}

void stop_ports(std::vector<Port>& ports) {
  for (auto& p : ports) {
    rte_eth_dev_stop(p.id);
    rte_eth_dev_close(p.id);
    rte_eal_hotplug_remove("vdev", p.devargs.substr(0, p.devargs.find(',')).c_str());
  }
  ports.clear();
}

}  // namespace podlane::gen
