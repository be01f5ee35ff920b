#include "control/ports/ports.h"

#include <algorithm>
#include <cstring>
#include <thread>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

namespace podlane {

namespace {

std::string device_name_of(const std::string& devargs) {
    return devargs.substr(0, devargs.find(','));
}

Error port_error(uint16_t port, const char* what, int ret) {
    return make_error("port " + std::to_string(port) + " (" + PortManager::name(port) + "): " + what +
                      " failed: " + rte_strerror(ret < 0 ? -ret : ret));
}

} // namespace

bool is_zero_copy_memif(const std::string& devargs) {
    return devargs.rfind("net_memif", 0) == 0 && ("," + devargs + ",").find(",zero-copy=yes,") != std::string::npos;
}

// A zero-copy memif client connects in the EAL interrupt thread after its
// start, and then closes the memory descriptors it shared (memif_memory.h):
// wait for that, and reopen them at once, before another file takes a number.
Result<void> PortManager::connect_zero_copy_memif(uint16_t port) {
    if (!wait_for_link(port, std::chrono::seconds(2)))
        return make_error("zero-copy memif port " + name(port) +
                          " did not connect within 2 s (does its peer serve the socket, with interface id 0 "
                          "started and a queue pair per podlane worker?)");
    return memif_memory_.restore();
}

bool PortManager::wait_for_link(uint16_t port_id, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        rte_eth_link link{};
        if (rte_eth_link_get_nowait(port_id, &link) == 0 && link.link_status == RTE_ETH_LINK_UP)
            return true;
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

std::string PortManager::name(uint16_t port_id) {
    char buf[RTE_ETH_NAME_MAX_LEN];
    if (rte_eth_dev_get_name_by_port(port_id, buf) != 0)
        return "?";
    return buf;
}

PortStats PortManager::stats(uint16_t port_id) {
    rte_eth_stats s{};
    if (rte_eth_stats_get(port_id, &s) != 0)
        return {};
    return PortStats{s.ipackets, s.opackets, s.ibytes, s.obytes, s.ierrors, s.oerrors, s.imissed, s.rx_nombuf};
}

Result<PortQueues> PortManager::attach(const std::string& devargs, bool promiscuous) {
    const std::string dev = device_name_of(devargs);
    // Every rx descriptor holds an mbuf: refuse before the pool runs dry.
    const unsigned needed = unsigned{setup_.rx_ring_size} * setup_.workers + 64;
    if (rte_mempool_avail_count(setup_.pool) < needed)
        return make_error("cannot attach " + dev + ": only " +
                          std::to_string(rte_mempool_avail_count(setup_.pool)) +
                          " free mbufs, a port needs " + std::to_string(needed) +
                          " (raise dataplane.mbufs or lower dataplane.rx_ring_size)");
    if (rte_eth_dev_count_avail() >= RTE_MAX_ETHPORTS)
        return make_error("cannot attach " + dev + ": all " + std::to_string(RTE_MAX_ETHPORTS) +
                          " DPDK ports are in use (RTE_MAX_ETHPORTS of this DPDK build)");
    const bool zero_copy = is_zero_copy_memif(devargs);
    if (zero_copy) {
        auto r = memif_memory_.restore();
        if (r)
            r = memif_memory_.remember();
        if (!r)
            return make_error("cannot attach " + dev + " with zero-copy: " + r.error().message);
    }
    if (int ret = rte_dev_probe(devargs.c_str()); ret != 0)
        return make_error("cannot attach device \"" + devargs + "\": " + rte_strerror(-ret));
    uint16_t port = 0;
    if (rte_eth_dev_get_port_by_name(dev.c_str(), &port) != 0) {
        rte_eal_hotplug_remove("vdev", dev.c_str());
        return make_error("device \"" + devargs + "\" was probed but created no ethdev port named " + dev);
    }
    auto rx_queues = configure_and_start(port, promiscuous);
    if (!rx_queues) {
        detach(port);
        return rx_queues.error();
    }
    if (zero_copy)
        if (auto r = connect_zero_copy_memif(port); !r) {
            detach(port);
            (void)memif_memory_.restore();
            return r.error();
        }
    return PortQueues{port, *rx_queues};
}

Result<uint16_t> PortManager::configure_and_start(uint16_t port, bool promiscuous) {
    rte_eth_dev_info info{};
    if (int ret = rte_eth_dev_info_get(port, &info); ret != 0)
        return port_error(port, "reading device info", ret);
    if (info.max_tx_queues < setup_.workers)
        return make_error("port " + std::to_string(port) + " (" + name(port) + ") has " +
                          std::to_string(info.max_tx_queues) + " tx queues; podlane needs one per worker (" +
                          std::to_string(setup_.workers) + ")");
    const uint16_t rx_queues = std::min<uint16_t>(setup_.workers, info.max_rx_queues);
    rte_eth_conf conf{};
    if (int ret = rte_eth_dev_configure(port, rx_queues, setup_.workers, &conf); ret != 0)
        return port_error(port, "configure", ret);
    uint16_t rxd = setup_.rx_ring_size, txd = setup_.tx_ring_size;
    if (int ret = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd); ret != 0)
        return port_error(port, "ring size adjustment", ret);
    const int socket = rte_eth_dev_socket_id(port);
    const unsigned sock = socket < 0 ? 0u : static_cast<unsigned>(socket);
    for (uint16_t q = 0; q < rx_queues; ++q)
        if (int ret = rte_eth_rx_queue_setup(port, q, rxd, sock, nullptr, setup_.pool); ret != 0)
            return port_error(port, "rx queue setup", ret);
    for (uint16_t q = 0; q < setup_.workers; ++q)
        if (int ret = rte_eth_tx_queue_setup(port, q, txd, sock, nullptr); ret != 0)
            return port_error(port, "tx queue setup", ret);
    if (int ret = rte_eth_dev_start(port); ret != 0)
        return port_error(port, "start", ret);
    if (promiscuous)
        rte_eth_promiscuous_enable(port); // pods address the gateway MAC, not the port's
    return rx_queues;
}

void PortManager::detach(uint16_t port) {
    const std::string dev = name(port);
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    rte_eal_hotplug_remove("vdev", dev.c_str());
}

} // namespace podlane
