// Hot-plugging and starting the generator's ports from devargs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <rte_mempool.h>

namespace podlane::gen {

struct Port {
  std::string devargs;
  uint16_t id = 0;
};

/// Probes each devargs (rte_dev_probe), configures `queues` tx queues and
/// `rx_queues` (>= `queues`) rx queues on it with `pool`, starts it and waits
/// up to `link_timeout_s` for its link.
/// Returns an error text naming the port, or empty; `out` gets what started.
std::string start_ports(const std::vector<std::string>& devargs, unsigned queues, unsigned rx_queues, rte_mempool* pool,
                        unsigned link_timeout_s, std::vector<Port>& out);

/// Stops, closes and unplugs every port.
void stop_ports(std::vector<Port>& ports);

}  // namespace podlane::gen
