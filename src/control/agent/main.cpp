// podlaned: the podlane node agent.
#include <cstdio>
#include <filesystem>
#include <cstring>
#include <string>
#include <utility> // before Boost 1.74 asio, whose awaitable.hpp needs std::exchange
#include <vector>

#include <boost/asio.hpp>
#include <rte_eal.h>
#include <rte_errno.h>

#include "control/agent/agent.h"
#include "control/api/api_server.h"
#include "control/sources/cluster_sources.h"
#include "control/config/config.h"
#include "control/agent/eal_args.h"
#include "control/agent/final_report.h"
#include "control/agent/step_timeline.h"
#include "control/sources/etcd/source_etcd.h"
#include "control/sources/k8s/k8s_node_cidr.h"
#include "control/observe/metrics.h"

namespace {

constexpr const char* kUsage = R"(usage: podlaned [--config FILE] [--check-config FILE] [--print-default-config] [--help]

podlane node agent: runs the DPDK dataplane workers and the control thread.

  --config FILE           load FILE instead of the embedded default (configs/podlane.yaml)
  --check-config FILE     validate FILE and exit (0: valid, 1: invalid)
  --print-default-config  print the embedded default config and exit
  -h, --help              this text

podlaned stops cleanly on SIGINT or SIGTERM and prints its final counters.
Operate it with the `podlane` CLI over the API socket (api.socket in the config).
)";

struct Options {
    std::string config_file;
    std::string check_file;
    bool print_default = false;
};

int usage_error(const std::string& msg) {
    std::fprintf(stderr, "podlaned: %s\n%s", msg.c_str(), kUsage);
    return 2;
}

/// The Prometheus exporter when metrics.enabled, else nullptr.
podlane::Result<std::unique_ptr<podlane::Metrics>> start_metrics(const podlane::Config& config) {
    if (!config.metrics.enabled)
        return std::unique_ptr<podlane::Metrics>();
    return podlane::Metrics::start(config.metrics);
}

} // namespace

int main(int argc, char** argv) {
    using namespace podlane;
    StepTimeline start_timeline; // from main to the API's answering
    start_timeline.begin();
    Options opt;
    std::vector<std::string> args(argv + 1, argv + argc);
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if ((a == "--config" || a == "--check-config") && i + 1 < args.size()) {
            (a == "--config" ? opt.config_file : opt.check_file) = args[++i];
        } else if (a == "--print-default-config") {
            opt.print_default = true;
        } else {
            return usage_error("unknown or incomplete argument \"" + a + "\"");
        }
    }
    if (opt.print_default) {
        std::fputs(kEmbeddedDefaultConfig, stdout);
        return 0;
    }
    if (!opt.check_file.empty()) {
        auto cfg = load_config_file(opt.check_file);
        if (!cfg) {
            std::fprintf(stderr, "podlaned: %s\n", cfg.error().message.c_str());
            return 1;
        }
        std::printf("%s: valid (node %s, pod CIDR %s, gateway %s, %zu endpoints, %zu workers, %zu other nodes)\n",
                    opt.check_file.c_str(), cfg->node_name.c_str(), cfg->network.pod_cidr.str().c_str(),
                    cfg->network.gateway_ip.str().c_str(), cfg->endpoints.size(),
                    cfg->dataplane.worker_lcores.size(), cfg->nodes.size());
        return 0;
    }

    auto cfg = opt.config_file.empty() ? parse_config(kEmbeddedDefaultConfig, "embedded default config")
                                       : load_config_file(opt.config_file);
    if (!cfg) {
        std::fprintf(stderr, "podlaned: %s\n", cfg.error().message.c_str());
        return 1;
    }
    Config config = std::move(*cfg);
    if (config.source.kind == SourceKind::Etcd && config.ipam.mode == IpamMode::ClusterPool) {
        // The block comes from etcd, claimed cluster-wide, not from the file's node list.
        auto block = etcd_claim_pod_cidr(config);
        if (!block) {
            std::fprintf(stderr, "podlaned: %s\n", block.error().message.c_str());
            return 1;
        }
        config.network.pod_cidr = *block;
        config.network.gateway_ip = Ipv4Addr::from_host(block->addr.host() + 1);
        config.network.gateway_mac = MacAddr::from_ipv4(config.network.gateway_ip);
        std::printf("podlaned: ipam cluster-pool: %s claimed %s through etcd\n", config.node_name.c_str(),
                    block->str().c_str());
    }

    if (config.network.pod_cidr_from_node) {
        // ipam kubernetes: this node's PodCIDR is its Node object's spec.podCIDRs.
        auto cidr = k8s_own_pod_cidr(config, std::chrono::seconds(60));
        if (!cidr) {
            std::fprintf(stderr, "podlaned: %s\n", cidr.error().message.c_str());
            return 1;
        }
        config.network.pod_cidr = *cidr;
        config.network.gateway_ip = Ipv4Addr::from_host(cidr->addr.host() + 1);
        config.network.gateway_mac = MacAddr::from_ipv4(config.network.gateway_ip);
        for (size_t i = 0; i < config.endpoints.size(); ++i)
            if (auto v = validate_endpoint(config.endpoints[i], config, "endpoints[" + std::to_string(i) + "]"); !v) {
                std::fprintf(stderr, "podlaned: %s\n", v.error().message.c_str());
                return 1;
            }
        std::printf("podlaned: ipam kubernetes: %s's PodCIDR %s from its Node object\n", config.node_name.c_str(),
                    cidr->str().c_str());
    }

    start_timeline.mark("config");
    std::vector<std::string> eal = build_eal_args(config, argv[0]);
    std::vector<char*> eal_argv;
    for (auto& s : eal)
        eal_argv.push_back(s.data());
    if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
        std::string joined;
        for (auto& s : eal)
            joined += " " + s;
        std::fprintf(stderr, "podlaned: cannot start DPDK EAL: %s\n  EAL arguments:%s\n",
                     rte_strerror(rte_errno), joined.c_str());
        return 1;
    }
    start_timeline.mark("eal");

    int exit_code = 0;
    bool left_pod_ports = false;
    StepTimeline stop_timeline; // from the signal to the exit
    {
        boost::asio::io_context io;
        Agent agent(config);
        ApiServer api(io, agent, config.api.socket);
        std::unique_ptr<Metrics> metrics; // after the API server; scrapes read only what the agent fed it
        std::unique_ptr<ClusterSource> source;
        std::unique_ptr<ClusterMesh> mesh;
        if (config.clustermesh.enabled())
            mesh = std::make_unique<ClusterMesh>(config);
        if (auto r = agent.start(&start_timeline); !r) {
            std::fprintf(stderr, "podlaned: %s\n", r.error().message.c_str());
            exit_code = 1;
        } else if (auto r2 = api.start(); !r2) {
            std::fprintf(stderr, "podlaned: %s\n", r2.error().message.c_str());
            exit_code = 1;
        } else if (auto m = start_metrics(config); !m) {
            std::fprintf(stderr, "podlaned: %s\n", m.error().message.c_str());
            exit_code = 1;
        } else if (auto src = make_cluster_source(config, opt.config_file); !src) {
            std::fprintf(stderr, "podlaned: %s\n", src.error().message.c_str());
            exit_code = 1;
        } else if (auto started = (source = std::move(*src))
                                      ? source->start(io, [&agent](ClusterDelta d) { agent.enqueue_delta(std::move(d)); })
                                      : Result<void>{};
                   !started) {
            std::fprintf(stderr, "podlaned: source: %s\n", started.error().message.c_str());
            exit_code = 1;
        } else if (auto meshed = mesh ? mesh->start(io, [&agent](MeshClusterState st) { agent.apply_mesh(std::move(st)); })
                                      : Result<void>{};
                   !meshed) {
            std::fprintf(stderr, "podlaned: clustermesh: %s\n", meshed.error().message.c_str());
            exit_code = 1;
        } else {
            agent.attach_mesh(mesh.get());
            agent.attach_source(source.get());
            // The API socket listens (requests wait for io.run()): every DEL
            // that found podlaned down has recorded its attachment by now.
            agent.release_pending_cni_deletes();
            metrics = std::move(*m);
            agent.attach_metrics(metrics.get());
            std::printf("podlaned: node %s up: %zu workers, %zu endpoints, API on %s, metrics %s\n",
                        config.node_name.c_str(), config.dataplane.worker_lcores.size(),
                        config.endpoints.size(), config.api.socket.c_str(),
                        metrics ? ("on http://" + metrics->address() + "/metrics").c_str() : "off");
            start_timeline.mark("api+metrics+source");
            std::printf("podlaned: %s\n", start_timeline.summary("started").c_str());
            std::fflush(stdout);

            boost::asio::signal_set signals(io, SIGINT, SIGTERM);
            signals.async_wait([&](const boost::system::error_code&, int sig) {
                stop_timeline.begin();
                std::printf("podlaned: %s received, stopping\n", strsignal(sig));
                io.stop();
            });
            // Control work every 10 ms: ARP facts from the workers, neighbour
            // aging and probes, freeing tables whose grace period is over.
            // While a source's update is on its way to the workers, look every
            // millisecond, so that its latency is measured to the millisecond.
            boost::asio::steady_timer reclaim_timer(io);
            auto last_tick = std::chrono::steady_clock::now();
            std::function<void()> arm = [&] {
                reclaim_timer.expires_after(std::chrono::milliseconds(agent.update_pending() ? 1 : 10));
                reclaim_timer.async_wait([&](const boost::system::error_code& ec) {
                    if (ec)
                        return;
                    agent.flush_updates(); // deltas merged since the last publish
                    agent.check_update_latency();
                    if (const auto now = std::chrono::steady_clock::now(); now - last_tick >= std::chrono::milliseconds(10)) {
                        last_tick = now;
                        agent.tick();
                    }
                    arm();
                });
            };
            arm();
            io.run();
        }
        if (source)
            source->stop();
        if (mesh)
            mesh->stop();
        agent.attach_mesh(nullptr);
        stop_timeline.mark("source+mesh");
        agent.attach_source(nullptr);
        agent.attach_metrics(nullptr);
        // Before the workers stop: the exporter's stop waits for civetweb's
        // listener to notice (its poll wakes every 2 s), while the pods'
        // traffic still flows (docs/restart.md).
        metrics.reset();
        stop_timeline.mark("metrics");
        api.stop();
        stop_timeline.mark("api");
        Json final_stats = agent.stats();
        agent.stop(&stop_timeline);
        left_pod_ports = agent.left_pod_ports();
        print_final_report(final_stats, stdout);
    }
    // EAL leaves its runtime directory (config, sockets) behind; nothing
    // else uses it once this primary process is gone.
    const std::string runtime_dir = rte_eal_get_runtime_dir();
    // Pod TAPs left for the next podlaned: EAL's cleanup would close their
    // ports (DPDK 22.11 removes every device), and net_tap's close sets a
    // re-attached pod's interface down. The exit closes them instead.
    if (!left_pod_ports)
        rte_eal_cleanup();
    std::error_code ignored;
    std::filesystem::remove_all(runtime_dir, ignored);
    stop_timeline.mark("eal");
    if (const std::string s = stop_timeline.summary("stopped"); !s.empty())
        std::printf("podlaned: %s\n", s.c_str());
    std::fflush(stdout);
    return exit_code;
}
