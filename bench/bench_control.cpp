// Control-plane benchmark: a real Agent (EAL, one worker lcore polling, the
// real compiler and RCU publisher) fed by ClusterDeltas the way a source
// feeds it. Two figures (issue #5):
//
//   full     a source's first sync of S services with B backends each (a
//            replace delta): apply, compile every service, assemble, publish,
//            and wait until the worker uses the tables; wall time, median of runs;
//   update   U single-service updates (one backend replaced each), one after
//            the other: from the delta (the source event) to the worker using
//            the new tables (QSBR: it has passed a quiescent state after the
//            publish); p50 / p99 / max. The control thread's share is the
//            one-service publish cost (flat in S since issue #16).
//   stream   N single-service updates back to back (or at --stream-rate a
//            second) into the running agent the way a source's watch feeds
//            it (Agent::enqueue_delta, with the control timer's flush between
//            events): publishes a second while they stream, and the time from
//            the last event until the worker uses tables that carry it.
//
//   bench_control [--services S] [--backends B] [--updates U] [--runs R]
//                 [--stream N] [--stream-rate R] [--algorithm random|maglev]
//                 [--maglev-m M] [--json]
//
// The worker busy-polls (no idle sleep) on lcore 1; the control thread is
// lcore 0. Pin the process (taskset -c 0,1) on a quiet machine.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

#include <rte_eal.h>

#include "control/agent/agent.h"
#include "control/config/config.h"

namespace {

using namespace podlane;
using Clock = std::chrono::steady_clock;

struct Options {
    uint32_t services = 10000;
    uint32_t backends = 10;
    uint32_t updates = 1000;
    uint32_t runs = 3;
    uint32_t stream = 0;
    uint32_t stream_rate = 0; ///< events a second; 0: back to back
    uint32_t bulk = 0;        ///< new services in deltas of bulk_batch (a kvstore apply as the watch sees it)
    uint32_t bulk_batch = 128;
    LbAlgorithm algorithm = LbAlgorithm::Random;
    uint32_t maglev_m = 16381;
    bool json = false;
};

[[noreturn]] void usage(const char* msg) {
    std::fprintf(stderr,
                 "bench_control: %s\nusage: bench_control [--services S] [--backends B] [--updates U] [--runs R]\n"
                 "                     [--stream N] [--stream-rate R] [--bulk N] [--bulk-batch K]\n"
                 "                     [--algorithm random|maglev] [--maglev-m M] [--json]\n",
                 msg);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> uint32_t {
            if (i + 1 >= argc)
                usage(("missing value for " + a).c_str());
            return static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 10));
        };
        if (a == "--services") o.services = next();
        else if (a == "--backends") o.backends = next();
        else if (a == "--updates") o.updates = next();
        else if (a == "--runs") o.runs = std::max(1u, next());
        else if (a == "--stream") o.stream = next();
        else if (a == "--stream-rate") o.stream_rate = next();
        else if (a == "--bulk") o.bulk = next();
        else if (a == "--bulk-batch") o.bulk_batch = std::max(1u, next());
        else if (a == "--maglev-m") o.maglev_m = next();
        else if (a == "--json") o.json = true;
        else if (a == "--algorithm" && i + 1 < argc) {
            const std::string v = argv[++i];
            if (v != "random" && v != "maglev")
                usage("--algorithm is random or maglev");
            o.algorithm = v == "maglev" ? LbAlgorithm::Maglev : LbAlgorithm::Random;
        } else usage(("unknown argument " + a).c_str());
    }
    if (o.services == 0 || o.services > 60000 || o.backends == 0 || o.backends > 100)
        usage("--services 1..60000, --backends 1..100");
    return o;
}

/// Backend k of service s: 10.(64 + (s*B+k) >> 16).x.y, remote (no node, outside the pod CIDR).
Ipv4Addr backend_ip(uint64_t n) { return Ipv4Addr::from_host(0x0a400000u + static_cast<uint32_t>(n)); }

ServiceConfig make_service(const Options& o, uint32_t s, uint32_t generation) {
    ServiceConfig svc;
    char name[32];
    std::snprintf(name, sizeof name, "bench/svc-%05u", s);
    svc.name = name;
    svc.cluster_ip = Ipv4Addr::from_host(0x0a600000u + s + 1); // 10.96.0.0/12
    svc.ports.push_back(ServicePortConfig{"http", L4Proto::Tcp, 80, 8080, 0});
    svc.algorithm = o.algorithm;
    for (uint32_t k = 0; k < o.backends; ++k) {
        BackendConfig b;
        // Update g replaces backend (g % B) by a fresh address.
        const uint64_t n = uint64_t{s} * o.backends + k + (k == generation % o.backends ? uint64_t{generation} * 4000000 : 0);
        b.ip = backend_ip(n % 0x00400000u);
        svc.backends.push_back(b);
    }
    return svc;
}

/// One update published (the control thread's part): a function of its own,
/// so that callgrind can count it alone (--toggle-collect='*publish_update*').
__attribute__((noinline)) void publish_update(Agent& agent, ClusterDelta d) { agent.apply_delta(std::move(d)); }

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

void wait_workers(Agent& agent) {
    while (agent.update_pending()) {
        agent.flush_updates();
        agent.check_update_latency();
    }
}

/// What the stream scenario measured.
struct StreamResult {
    double seconds = 0;         ///< first event to last event
    double converge_ms = 0;     ///< last event -> the worker uses tables carrying it
    uint64_t publishes = 0;     ///< while streaming and converging
    uint64_t coalesced = 0;
    double cpu_s = 0;           ///< the control thread's CPU time (the machine's other load left out)
};

/// CPU time of the calling thread, in seconds.
double thread_cpu_s() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

/// N single-service updates into the running agent, as a source's watch
/// delivers them; between events the control timer's work (flush, latency).
StreamResult stream(Agent& agent, const Options& o) {
    const Json before = agent.status()["updates"];
    const double cpu0 = thread_cpu_s();
    const auto gap = o.stream_rate ? std::chrono::nanoseconds(1000000000 / o.stream_rate) : std::chrono::nanoseconds(0);
    const auto t0 = Clock::now();
    auto last = t0;
    for (uint32_t i = 0; i < o.stream; ++i) {
        const auto due = t0 + gap * i;
        while (Clock::now() < due) {
            agent.flush_updates();
            agent.check_update_latency();
        }
        ClusterDelta d;
        d.upsert_services.push_back(make_service(o, (i * 7919u) % o.services, 1000000 + i));
        last = d.received = Clock::now();
        agent.enqueue_delta(std::move(d));
        agent.flush_updates();
        agent.check_update_latency();
    }
    wait_workers(agent);
    const Json after = agent.status()["updates"];
    StreamResult r;
    r.cpu_s = thread_cpu_s() - cpu0;
    r.seconds = std::chrono::duration<double>(last - t0).count();
    r.converge_ms = std::chrono::duration<double, std::milli>(Clock::now() - last).count();
    r.publishes = after["publishes"].get<uint64_t>() - before["publishes"].get<uint64_t>();
    r.coalesced = after["coalesced"].get<uint64_t>() - before["coalesced"].get<uint64_t>();
    return r;
}

/// N new services (named to sort before the S already there, as a second
/// set written with `podlane kvstore apply` may) in deltas of `bulk_batch`
/// back to back, as the etcd watch delivers a run of 128-put transactions.
StreamResult bulk(Agent& agent, const Options& o) {
    const Json before = agent.status()["updates"];
    const double cpu0 = thread_cpu_s();
    const auto t0 = Clock::now();
    auto last = t0;
    for (uint32_t i = 0; i < o.bulk; i += o.bulk_batch) {
        ClusterDelta d;
        for (uint32_t k = i; k < std::min(o.bulk, i + o.bulk_batch); ++k) {
            ServiceConfig svc = make_service(o, k, 0);
            char name[32];
            std::snprintf(name, sizeof name, "bench/add-%05u", k);
            svc.name = name;
            svc.cluster_ip = Ipv4Addr::from_host(0x0a680000u + k + 1); // after the S services' 10.96.x
            d.upsert_services.push_back(std::move(svc));
        }
        last = d.received = Clock::now();
        agent.enqueue_delta(std::move(d));
        agent.flush_updates();
        agent.check_update_latency();
    }
    wait_workers(agent);
    const Json after = agent.status()["updates"];
    StreamResult r;
    r.cpu_s = thread_cpu_s() - cpu0;
    r.seconds = std::chrono::duration<double>(last - t0).count();
    r.converge_ms = std::chrono::duration<double, std::milli>(Clock::now() - last).count();
    r.publishes = after["publishes"].get<uint64_t>() - before["publishes"].get<uint64_t>();
    r.coalesced = after["coalesced"].get<uint64_t>() - before["coalesced"].get<uint64_t>();
    return r;
}

double per_s(const StreamResult& r) {
    const double s = r.seconds + r.converge_ms / 1000;
    return s > 0 ? static_cast<double>(r.publishes) / s : 0;
}

} // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    const std::string prefix = "bench-control-" + std::to_string(getpid());
    std::vector<std::string> eal = {"bench_control", "--no-huge", "-m", "2048", "--no-pci", "--lcores", "0@0,1@1",
                                    "--file-prefix", prefix, "--log-level", "warning"};
    std::vector<char*> eal_argv;
    for (auto& s : eal)
        eal_argv.push_back(s.data());
    if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
        std::fprintf(stderr, "bench_control: cannot start EAL\n");
        return 1;
    }
    auto cfg = parse_config("node: {name: bench}\n"
                            "dataplane: {worker_lcores: [1], mbufs: 1023, idle_sleep_us: 0}\n"
                            "network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.1}\n"
                            "metrics: {enabled: false}\n"
                            "api: {socket: /tmp/" + prefix + ".sock}\n"
                            "conntrack: {max_flows: 4096}\n"
                            "loadbalancer: {maglev_table_size: " + std::to_string(o.maglev_m) + "}\n",
                            "bench_control");
    if (!cfg) {
        std::fprintf(stderr, "bench_control: %s\n", cfg.error().message.c_str());
        return 1;
    }
    std::vector<double> full_ms;
    std::vector<double> update_us;
    std::vector<double> apply_us; ///< the control thread's part: apply, compile, assemble, publish
    std::vector<double> apply_cpu_us; ///< the same in the control thread's CPU time (other load left out)
    size_t frontends = 0, backends = 0;
    StreamResult streamed, bulked;
    {
        Agent agent(*cfg);
        if (auto r = agent.start(); !r) {
            std::fprintf(stderr, "bench_control: %s\n", r.error().message.c_str());
            return 1;
        }
        std::vector<ServiceConfig> all;
        for (uint32_t s = 0; s < o.services; ++s)
            all.push_back(make_service(o, s, 0));
        for (uint32_t run = 0; run < o.runs; ++run) {
            // Empty, then the whole set: every service compiled from scratch.
            ClusterDelta empty;
            empty.replace = true;
            agent.apply_delta(std::move(empty));
            wait_workers(agent);
            ClusterDelta full;
            full.replace = true;
            full.upsert_services = all;
            const auto t0 = Clock::now();
            full.received = t0;
            agent.apply_delta(std::move(full));
            wait_workers(agent);
            full_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        }
        const Json st = agent.status();
        frontends = st["services"]["frontends"].get<size_t>();
        backends = st["services"]["backends"].get<size_t>();
        for (uint32_t u = 1; u <= o.updates; ++u) {
            ClusterDelta d;
            d.upsert_services.push_back(make_service(o, (u * 7919u) % o.services, u));
            const double cpu0 = thread_cpu_s();
            const auto t0 = Clock::now();
            d.received = t0;
            publish_update(agent, std::move(d));
            apply_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
            apply_cpu_us.push_back((thread_cpu_s() - cpu0) * 1e6);
            wait_workers(agent);
            update_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        }
        if (o.stream > 0)
            streamed = stream(agent, o);
        if (o.bulk > 0)
            bulked = bulk(agent, o);
        agent.stop();
    }
    rte_eal_cleanup();

    const double full_med = percentile(full_ms, 0.5);
    const char* alg = o.algorithm == LbAlgorithm::Maglev ? "maglev" : "random";
    if (o.json) {
        std::printf("{\"services\": %u, \"backends_per_service\": %u, \"frontends\": %zu, \"backends\": %zu, "
                    "\"algorithm\": \"%s\", \"maglev_m\": %u, \"full_sync_ms_median\": %.1f, \"full_sync_ms_max\": %.1f, "
                    "\"updates\": %zu, \"update_us_p50\": %.1f, \"update_us_p99\": %.1f, \"update_us_max\": %.1f, "
                    "\"publish_us_p50\": %.1f, \"publish_us_p99\": %.1f, \"publish_cpu_us_p50\": %.1f, \"stream_events\": %u, \"stream_rate\": %u, "
                    "\"stream_seconds\": %.3f, \"stream_publishes\": %llu, \"stream_publishes_per_s\": %.1f, "
                    "\"stream_coalesced\": %llu, \"stream_converge_ms\": %.2f, \"bulk\": %u, \"bulk_batch\": %u, "
                    "\"bulk_seconds\": %.3f, \"bulk_publishes\": %llu, \"bulk_converge_ms\": %.2f, \"bulk_cpu_us_per_service\": %.1f}\n",
                    o.services, o.backends, frontends, backends, alg, o.maglev_m, full_med,
                    *std::max_element(full_ms.begin(), full_ms.end()), update_us.size(), percentile(update_us, 0.5),
                    percentile(update_us, 0.99), percentile(update_us, 1.0), percentile(apply_us, 0.5),
                    percentile(apply_us, 0.99), percentile(apply_cpu_us, 0.5), o.stream, o.stream_rate, streamed.seconds,
                    static_cast<unsigned long long>(streamed.publishes), per_s(streamed),
                    static_cast<unsigned long long>(streamed.coalesced), streamed.converge_ms, o.bulk, o.bulk_batch,
                    bulked.seconds, static_cast<unsigned long long>(bulked.publishes), bulked.converge_ms,
                    bulked.cpu_s * 1e6 / o.bulk);
    } else {
        std::printf("%u services x %u backends (%zu frontends, %zu backends, %s%s)\n", o.services, o.backends,
                    frontends, backends, alg,
                    o.algorithm == LbAlgorithm::Maglev ? (", M=" + std::to_string(o.maglev_m)).c_str() : "");
        std::printf("  full sync, compile and publish: median %.1f ms over %u runs (max %.1f ms)\n", full_med, o.runs,
                    *std::max_element(full_ms.begin(), full_ms.end()));
        std::printf("  one-service update to the worker using it: p50 %.1f us, p99 %.1f us, max %.1f us (%zu updates)\n",
                    percentile(update_us, 0.5), percentile(update_us, 0.99), percentile(update_us, 1.0),
                    update_us.size());
        std::printf("    of which the control thread (apply, compile, assemble, publish): p50 %.1f us, p99 %.1f us"
                    " (CPU time p50 %.1f us)\n",
                    percentile(apply_us, 0.5), percentile(apply_us, 0.99), percentile(apply_cpu_us, 0.5));
        if (o.stream > 0)
            std::printf("  stream of %u single-service updates (%s) over %.3f s: %llu publishes (%.1f/s), %llu coalesced;\n"
                        "    last update to the worker using it: %.2f ms\n",
                        o.stream, o.stream_rate ? (std::to_string(o.stream_rate) + "/s").c_str() : "back to back",
                        streamed.seconds, static_cast<unsigned long long>(streamed.publishes), per_s(streamed),
                        static_cast<unsigned long long>(streamed.coalesced), streamed.converge_ms);
        if (o.bulk > 0)
            std::printf("  %u new services in deltas of %u over %.3f s: %llu publishes; last delta to the worker using it: %.2f ms\n"
                        "    (%.1f us a service, first delta to converged; control thread CPU %.1f us a service)\n",
                        o.bulk, o.bulk_batch, bulked.seconds, static_cast<unsigned long long>(bulked.publishes),
                        bulked.converge_ms, (bulked.seconds * 1e3 + bulked.converge_ms) * 1e3 / o.bulk,
                        bulked.cpu_s * 1e6 / o.bulk);
    }
    return 0;
}
