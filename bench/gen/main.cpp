// podlane-gen: a DPDK traffic generator for benchmarks and CI. See --help
// (options.cpp) and bench/README.md.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "engine.h"
#include "flows.h"
#include "options.h"
#include "ports.h"
#include "report.h"
#include "resolve.h"

using namespace podlane::gen;

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true); }

std::string utc_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  char buf[96];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
           t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000000);
  return buf;
}

// The wall-clock time `seconds` after `base` (for the window's timestamps).
std::string utc_plus(const timespec& base, double seconds) {
  time_t s = base.tv_sec + static_cast<time_t>(seconds);
  long ms = base.tv_nsec / 1000000 + static_cast<long>((seconds - static_cast<double>(static_cast<long>(seconds))) * 1000);
  if (ms >= 1000) { ++s; ms -= 1000; }
  tm t{};
  gmtime_r(&s, &t);
  char buf[96];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
           t.tm_hour, t.tm_min, t.tm_sec, ms);
  return buf;
}

int fail(int code, const std::string& msg) {
  fprintf(stderr, "podlane-gen: %s\n", msg.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  // EAL args come before "--"; without them, defaults that need no hugepages.
  int sep = -1;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--") { sep = i; break; }
  for (int i = 1; i < (sep < 0 ? argc : sep); ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") { fputs(usage(), stdout); return 0; }
  }

  Options o;
  bool help = false;
  const int own_first = sep < 0 ? 1 : sep + 1;
  std::string err = parse_options(argc - own_first, argv + own_first, o, help);
  if (help) { fputs(usage(), stdout); return 0; }
  if (!err.empty()) return fail(1, err);

  std::vector<std::string> eal_store;
  if (sep < 0) {
    eal_store = {argv[0], "--no-pci", "--no-huge", "-m", "512", "-l", "0", "--no-telemetry",
                 "--file-prefix", "podlane-gen-" + std::to_string(getpid()), "--log-level", "*:warning"};
  } else {
    for (int i = 0; i < sep; ++i) eal_store.emplace_back(argv[i]);
  }
  std::vector<char*> eal_argv;
  for (auto& s : eal_store) eal_argv.push_back(s.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0)
    return fail(2, std::string("EAL init failed: ") + rte_strerror(rte_errno));

  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);

  int rc = 0;
  std::vector<Port> ports;
  rte_mempool* pool = rte_pktmbuf_pool_create("podlane_gen", o.mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                              static_cast<int>(rte_socket_id()));
  if (!pool) {
    rc = fail(2, std::string("mbuf pool: ") + rte_strerror(rte_errno) + " (more -m memory?)");
  } else if (err = start_ports(o.ports, o.queues, o.rx_queue_count(), pool, o.link_timeout_s, ports); !err.empty()) {
    rc = fail(2, err);
  } else {
    rte_ether_addr mac{};
    rte_eth_macaddr_get(ports[o.tx_port].id, &mac);
    FlowTemplates t;
    if (o.resolve_ip != 0) {
      rte_ether_addr dst{};
      err = resolve_mac(ports[o.tx_port].id, pool, o.arp_ips.empty() ? 0 : o.arp_ips[0], o.resolve_ip, dst);
      if (err.empty()) {
        o.dst_mac = dst;
        char buf[RTE_ETHER_ADDR_FMT_SIZE];
        rte_ether_format_addr(buf, sizeof buf, &dst);
        if (!o.quiet) fprintf(stderr, "podlane-gen: %s is at %s\n", ip_to_string(o.resolve_ip).c_str(), buf);
      }
    }
    if (!err.empty()) {
      rc = fail(2, err);
    } else if (err = build_templates(o, mac, t); !err.empty()) {
      rc = fail(1, err);
    } else {
      if (!o.quiet)
        fprintf(stderr, "podlane-gen: %u flows, %u-byte frames, %zu port(s), %s\n", o.flows, t.frame_len,
                ports.size(), o.count ? ("count " + std::to_string(o.count)).c_str()
                                      : ("warm-up " + std::to_string(o.warmup_s) + " s, window " +
                                         std::to_string(o.duration_s) + " s").c_str());
      const std::string started = utc_now();
      timespec t0{};
      clock_gettime(CLOCK_REALTIME, &t0);
      const uint64_t tsc0 = rte_rdtsc();
      RunResult r = run(o, t, ports, pool, g_stop);
      const double hz = static_cast<double>(rte_get_tsc_hz());
      const std::string ws = utc_plus(t0, static_cast<double>(r.window_start.tsc - tsc0) / hz);
      const std::string we = utc_plus(t0, static_cast<double>(r.window_end.tsc - tsc0) / hz);
      print_summary(o, r);
      if (!o.json_path.empty()) {
        if (err = write_json(o.json_path, o, r, started, ws, we); !err.empty()) rc = fail(2, err);
      }
      if (rc == 0 && o.expect_rx && r.total.rx_marked == 0 && !g_stop.load())
        rc = fail(3, o.tx_enabled ? "nothing came back: " + std::to_string(r.total.tx) +
                                        " packets sent, none of them (or anything marked) received"
                                  : std::string("nothing received"));
      if (rc == 0 && o.tx_enabled && r.total.tx == 0 && !g_stop.load())
        rc = fail(2, "the tx port accepted no packet (link down? peer not connected?)");
    }
  }
  stop_ports(ports);
  if (pool) rte_mempool_free(pool);
  const std::string runtime_dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  // With the default EAL args the file prefix is ours alone: leave nothing behind.
  if (sep < 0 && runtime_dir.find("podlane-gen-") != std::string::npos) std::filesystem::remove_all(runtime_dir);
  return rc;
}
