#include "resolve.h"

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "options.h"

namespace podlane::gen {

std::string resolve_mac(uint16_t port, rte_mempool* pool, uint32_t sender, uint32_t target, rte_ether_addr& mac) {
  rte_ether_addr own{};
  rte_eth_macaddr_get(port, &own);
  const uint64_t hz = rte_get_tsc_hz(), deadline = rte_rdtsc() + 5 * hz;
  uint64_t next_req = 0;
  while (rte_rdtsc() < deadline) {
    if (rte_rdtsc() >= next_req) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool);
      if (!m) return "resolve: out of mbufs";
      auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
      auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
      memset(eth->dst_addr.addr_bytes, 0xff, RTE_ETHER_ADDR_LEN);
      eth->src_addr = own;
      eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
      arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
      arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
      arp->arp_hlen = RTE_ETHER_ADDR_LEN;
      arp->arp_plen = 4;
      arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
      arp->arp_data.arp_sha = own;
      arp->arp_data.arp_sip = rte_cpu_to_be_32(sender);
      memset(&arp->arp_data.arp_tha, 0, sizeof arp->arp_data.arp_tha);
      arp->arp_data.arp_tip = rte_cpu_to_be_32(target);
      m->data_len = m->pkt_len = 60;
      if (rte_eth_tx_burst(port, 0, &m, 1) != 1) rte_pktmbuf_free(m);
      next_req = rte_rdtsc() + hz / 5;
    }
    rte_mbuf* rx[32];
    const uint16_t n = rte_eth_rx_burst(port, 0, rx, 32);
    bool found = false;
    for (uint16_t i = 0; i < n; ++i) {
      auto* eth = rte_pktmbuf_mtod(rx[i], rte_ether_hdr*);
      if (!found && rx[i]->data_len >= sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr) &&
          eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
        auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
        if (arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY) &&
            rte_be_to_cpu_32(arp->arp_data.arp_sip) == target) {
          mac = arp->arp_data.arp_sha;
          found = true;
        }
      }
      rte_pktmbuf_free(rx[i]);
    }
    if (found) return {};
  }
  return "resolve: no ARP reply for " + ip_to_string(target) + " on port " + std::to_string(port) + " within 5 s";
}

}  // namespace podlane::gen
