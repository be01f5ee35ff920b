#include "engine.h"

#include <cstdio>
#include <cstring>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "marker.h"

namespace podlane::gen {
namespace {

constexpr unsigned kMaxBurst = 64;

/// Builds `n` packets into `pkts` from the templates, flows in turn.
class Builder {
 public:
  Builder(const Options& o, const FlowTemplates& t) : o_(o), t_(t) {
    syn_space_ = o.src_port.size() * o.src_ip.size();
  }

  void fill(rte_mbuf** pkts, unsigned n, uint64_t tsc) noexcept {
    for (unsigned i = 0; i < n; ++i) {
      rte_mbuf* m = pkts[i];
      const uint32_t f = next_flow_;
      bool wrapped = false;
      if (++next_flow_ == t_.count) { next_flow_ = 0; wrapped = true; }
      uint8_t* d = rte_pktmbuf_mtod(m, uint8_t*);
      memcpy(d, t_.frame(f), t_.frame_len);
      m->data_len = t_.frame_len;
      m->pkt_len = t_.frame_len;
      memcpy(d + t_.marker_off + 8, &tsc, sizeof tsc);
      if (!t_.tcp) continue;
      auto* ip = reinterpret_cast<rte_ipv4_hdr*>(d + t_.l3_off);
      auto* th = reinterpret_cast<rte_tcp_hdr*>(d + t_.l4_off);
      if (o_.proto == Proto::tcp_syn) {
        // A new connection per packet: walk the source port x address space.
        // The source advances once all flows (destinations) had it, so the
        // tuples repeat only after flows x ports x addresses packets.
        const uint64_t c = syn_next_;
        if (wrapped && ++syn_next_ == syn_space_) syn_next_ = 0;
        th->src_port = rte_cpu_to_be_16(static_cast<uint16_t>(o_.src_port.lo + c % o_.src_port.size()));
        ip->src_addr = rte_cpu_to_be_32(static_cast<uint32_t>(o_.src_ip.lo + (c / o_.src_port.size()) % o_.src_ip.size()));
        th->sent_seq = rte_cpu_to_be_32(static_cast<uint32_t>(c));
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
      }
      th->cksum = 0;
      th->cksum = rte_ipv4_udptcp_cksum(ip, th);
    }
  }

 private:
  const Options& o_;
  const FlowTemplates& t_;
  uint32_t next_flow_ = 0;
  uint64_t syn_next_ = 0, syn_space_ = 1;
};

/// Turns an ARP request for one of `ips` into the reply, in place. Returns
/// false when the packet is not such a request.
bool arp_reply(rte_mbuf* m, uint16_t port, const std::vector<uint32_t>& ips) noexcept {
  if (ips.empty() || m->data_len < sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)) return false;
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) return false;
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST)) return false;
  const uint32_t tip = rte_be_to_cpu_32(arp->arp_data.arp_tip);
  bool ours = false;
  for (uint32_t ip : ips) ours |= ip == tip;
  if (!ours) return false;
  rte_ether_addr mac;
  rte_eth_macaddr_get(port, &mac);
  arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
  arp->arp_data.arp_tha = arp->arp_data.arp_sha;
  arp->arp_data.arp_tip = arp->arp_data.arp_sip;
  arp->arp_data.arp_sha = mac;
  arp->arp_data.arp_sip = rte_cpu_to_be_32(tip);
  eth->dst_addr = eth->src_addr;
  eth->src_addr = mac;
  return true;
}

Sample sample(const Counters& c, uint64_t tsc) { return {tsc, c.tx, c.rx, c.rx_marked}; }

}  // namespace

RunResult run(const Options& o, const FlowTemplates& t, const std::vector<Port>& ports, rte_mempool* pool,
              const std::atomic<bool>& stop) {
  RunResult r;
  Counters& c = r.total;
  c.rx_port.assign(ports.size(), 0);
  std::vector<uint8_t> seen(t.count, 0);
  Builder builder(o, t);

  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t start = rte_rdtsc();
  const bool by_count = o.count > 0;
  const uint64_t window_start = by_count ? start : start + static_cast<uint64_t>(o.warmup_s * static_cast<double>(hz));
  const uint64_t window_end = by_count ? UINT64_MAX : window_start + static_cast<uint64_t>(o.duration_s * static_cast<double>(hz));
  const uint64_t drain_idle = hz / 5;  // stop draining after 200 ms without a packet
  const unsigned burst = o.burst < kMaxBurst ? o.burst : kMaxBurst;
  const unsigned rx_queues = o.rx_queue_count();
  const uint16_t txp = ports[o.tx_port].id;

  bool in_window = by_count, sending = o.tx_enabled, draining = false;
  uint64_t last_rx_tsc = start, drain_since = 0, next_progress = start + hz;
  Sample last = sample(c, start);
  r.window_start = last;
  double credit = 0;
  uint64_t last_credit_tsc = start;
  unsigned txq = 0;
  rte_mbuf* pkts[kMaxBurst];

  while (!stop.load(std::memory_order_relaxed)) {
    const uint64_t now = rte_rdtsc();

    if (!in_window && now >= window_start && !draining) {
      in_window = true;
      r.window_start = sample(c, now);
      r.latency.reset();
    }
    if (sending && (now >= window_end || (by_count && c.tx >= o.count))) {
      sending = false;
      if (!by_count) r.window_end = sample(c, now);
      draining = true;
      drain_since = now;
    }

    if (sending) {
      unsigned n = burst;
      if (by_count && o.count - c.tx < n) n = static_cast<unsigned>(o.count - c.tx);
      if (o.rate_pps) {
        credit += static_cast<double>(now - last_credit_tsc) * static_cast<double>(o.rate_pps) / static_cast<double>(hz);
        last_credit_tsc = now;
        if (credit > 2.0 * burst) credit = 2.0 * burst;
        if (credit < n) n = static_cast<unsigned>(credit);
      }
      if (n > 0) {
        if (rte_pktmbuf_alloc_bulk(pool, pkts, n) == 0) {
          builder.fill(pkts, n, now);
          const uint16_t sent = rte_eth_tx_burst(txp, static_cast<uint16_t>(txq), pkts, static_cast<uint16_t>(n));
          if (sent < n) {
            rte_pktmbuf_free_bulk(pkts + sent, n - sent);
            c.tx_full += n - sent;
          }
          c.tx += sent;
          if (o.rate_pps) credit -= sent;
          if (++txq == o.queues) txq = 0;
        } else {
          ++c.alloc_fail;
        }
      }
    }

    for (size_t pi = 0; pi < ports.size(); ++pi) {
      for (uint16_t q = 0; q < rx_queues; ++q) {
        const uint16_t nb = rte_eth_rx_burst(ports[pi].id, q, pkts, kMaxBurst);
        if (nb == 0) continue;
        const uint64_t rx_tsc = rte_rdtsc();
        last_rx_tsc = rx_tsc;
        c.rx += nb;
        c.rx_port[pi] += nb;
        unsigned nfree = 0;
        rte_mbuf* to_free[kMaxBurst];
        for (uint16_t i = 0; i < nb; ++i) {
          rte_mbuf* m = pkts[i];
          if (arp_reply(m, ports[pi].id, o.arp_ips)) {
            if (rte_eth_tx_burst(ports[pi].id, 0, &m, 1) == 1) { ++c.arp_replies; continue; }
          }
          Marker mk;
          if (find_marker(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, t.frame_len - t.marker_off, t.count,
                          rx_tsc, mk)) {
            ++c.rx_marked;
            seen[mk.flow] = 1;
            if (in_window) r.latency.record(rx_tsc - mk.tsc);
          }
          to_free[nfree++] = m;
        }
        rte_pktmbuf_free_bulk(to_free, nfree);
      }
    }

    if (draining && now - last_rx_tsc > drain_idle && now - drain_since > drain_idle) break;
    if (!o.tx_enabled && now >= window_end) break;

    if (now >= next_progress) {
      const Sample s = sample(c, now);
      const double dt = static_cast<double>(s.tsc - last.tsc) / static_cast<double>(hz);
      if (!o.quiet) {
        const double p50 = static_cast<double>(r.latency.quantile(0.5)) * 1e6 / static_cast<double>(hz);
        fprintf(stderr, "[%5.1fs] %s tx %7.3f Mpps  rx %7.3f Mpps  marked %7.3f Mpps  lost so far %llu  p50 %.1f us\n",
                static_cast<double>(now - start) / static_cast<double>(hz),
                draining ? "drain " : (in_window ? "window" : "warmup"),
                static_cast<double>(s.tx - last.tx) / dt / 1e6, static_cast<double>(s.rx - last.rx) / dt / 1e6,
                static_cast<double>(s.rx_marked - last.rx_marked) / dt / 1e6,
                static_cast<unsigned long long>(s.tx > s.rx_marked ? s.tx - s.rx_marked : 0), p50);
      }
      last = s;
      next_progress += hz;
    }
  }
  const uint64_t end = rte_rdtsc();
  if (by_count || r.window_end.tsc == 0) r.window_end = sample(c, end);
  // With --count the window ends with the last packet received (or sent).
  if (by_count) r.window_end.tsc = draining ? (last_rx_tsc > drain_since ? last_rx_tsc : drain_since) : end;
  r.seconds_total = static_cast<double>(end - start) / static_cast<double>(hz);
  for (uint8_t s : seen) r.flows_seen += s;
  return r;
}

}  // namespace podlane::gen
