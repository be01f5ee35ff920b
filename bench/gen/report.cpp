#include "report.h"

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>
#include <rte_cycles.h>

namespace podlane::gen {
namespace {

struct Rates {
  double seconds, tx_mpps, rx_mpps, marked_mpps;
  uint64_t lost;
  double loss_pct;
};

Rates rates(const RunResult& r) {
  const double hz = static_cast<double>(rte_get_tsc_hz());
  Rates x{};
  x.seconds = static_cast<double>(r.window_end.tsc - r.window_start.tsc) / hz;
  if (x.seconds <= 0) x.seconds = 1e-9;
  x.tx_mpps = static_cast<double>(r.window_end.tx - r.window_start.tx) / x.seconds / 1e6;
  x.rx_mpps = static_cast<double>(r.window_end.rx - r.window_start.rx) / x.seconds / 1e6;
  x.marked_mpps = static_cast<double>(r.window_end.rx_marked - r.window_start.rx_marked) / x.seconds / 1e6;
  x.lost = r.total.tx > r.total.rx_marked ? r.total.tx - r.total.rx_marked : 0;
  x.loss_pct = r.total.tx ? 100.0 * static_cast<double>(x.lost) / static_cast<double>(r.total.tx) : 0;
  return x;
}

double us(uint64_t cycles) { return static_cast<double>(cycles) * 1e6 / static_cast<double>(rte_get_tsc_hz()); }

const char* proto_name(Proto p) { return p == Proto::udp ? "udp" : p == Proto::tcp_ack ? "tcp" : "syn"; }
const char* encap_name(Encap e) { return e == Encap::none ? "none" : e == Encap::vxlan ? "vxlan" : "geneve"; }

}  // namespace

void print_summary(const Options& o, const RunResult& r) {
  const Rates x = rates(r);
  const auto& h = r.latency;
  printf("window %.2f s: tx %.3f Mpps, rx %.3f Mpps (marked %.3f Mpps)\n", x.seconds, x.tx_mpps, x.rx_mpps,
         x.marked_mpps);
  printf("total: tx %llu, rx %llu, marked %llu, lost %llu (%.3f%%), tx queue full %llu, flows seen %u/%u\n",
         static_cast<unsigned long long>(r.total.tx), static_cast<unsigned long long>(r.total.rx),
         static_cast<unsigned long long>(r.total.rx_marked), static_cast<unsigned long long>(x.lost), x.loss_pct,
         static_cast<unsigned long long>(r.total.tx_full), r.flows_seen, o.flows);
  printf("latency (us): min %.1f p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f max %.1f\n", us(h.min()),
         us(h.quantile(0.5)), us(h.quantile(0.9)), us(h.quantile(0.99)), us(h.quantile(0.999)), us(h.max()));
}

std::string write_json(const std::string& path, const Options& o, const RunResult& r, const std::string& started_utc,
                       const std::string& window_start_utc, const std::string& window_end_utc) {
  const Rates x = rates(r);
  const auto& h = r.latency;
  nlohmann::json j;
  j["tool"] = "podlane-gen";
  j["started"] = started_utc;
  j["tsc_hz"] = rte_get_tsc_hz();
  j["window"] = {{"start", window_start_utc}, {"end", window_end_utc}, {"seconds", x.seconds},
                 {"warmup_seconds", o.count ? 0.0 : o.warmup_s}};
  j["config"] = {{"ports", o.ports},
                 {"proto", proto_name(o.proto)},
                 {"encap", encap_name(o.encap)},
                 {"flows", o.flows},
                 {"frame_size", o.frame_size},
                 {"rate_pps", o.rate_pps},
                 {"count", o.count},
                 {"queues", o.queues},
                 {"rx_queues", o.rx_queue_count()},
                 {"burst", o.burst}};
  j["tx_mpps"] = x.tx_mpps;
  j["rx_mpps"] = x.rx_mpps;
  j["rx_marked_mpps"] = x.marked_mpps;
  j["tx_packets"] = r.total.tx;
  j["rx_packets"] = r.total.rx;
  j["rx_marked_packets"] = r.total.rx_marked;
  j["rx_per_port"] = r.total.rx_port;
  j["lost_packets"] = x.lost;
  j["loss_pct"] = x.loss_pct;
  j["tx_queue_full"] = r.total.tx_full;
  j["arp_replies"] = r.total.arp_replies;
  j["flows"] = {{"configured", o.flows}, {"seen_rx", r.flows_seen}};
  j["latency_us"] = {{"samples", h.total()},      {"min", us(h.min())},
                     {"mean", h.total() ? h.mean() * 1e6 / static_cast<double>(rte_get_tsc_hz()) : 0.0},
                     {"p50", us(h.quantile(0.5))}, {"p90", us(h.quantile(0.9))},
                     {"p99", us(h.quantile(0.99))}, {"p99_9", us(h.quantile(0.999))},
                     {"max", us(h.max())}};
  std::ofstream f(path);
  if (!f) return "cannot write " + path;
  f << j.dump(2) << "\n";
  return f.good() ? std::string{} : "cannot write " + path;
}

}  // namespace podlane::gen
