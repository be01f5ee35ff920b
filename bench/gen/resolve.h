// Finding the datapath's MAC on a port by ARP before the run (--resolve), so
// the generator can address a node IP without knowing the port's MAC.
#pragma once

#include <cstdint>
#include <string>

#include <rte_ether.h>
#include <rte_mempool.h>

namespace podlane::gen {

/// Sends ARP requests for `target` (host order) from `sender` on `port` every
/// 200 ms and waits up to 5 s for the reply. Returns an error text or empty;
/// `mac` gets the answer. Packets other than the reply are dropped.
std::string resolve_mac(uint16_t port, rte_mempool* pool, uint32_t sender, uint32_t target, rte_ether_addr& mac);

}  // namespace podlane::gen
