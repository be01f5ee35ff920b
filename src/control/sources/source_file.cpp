#include "control/sources/source_file.h"

#include <sys/stat.h>

#include <cstdio>
#include <utility> // before Boost 1.74 asio, whose awaitable.hpp needs std::exchange

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace podlane {

namespace {

/// What tells one version of the file from another without reading it.
struct FileStamp {
    bool exists = false;
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    timespec mtime{};
    bool operator==(const FileStamp& o) const {
        return exists == o.exists && dev == o.dev && ino == o.ino && size == o.size &&
               mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec;
    }
};

FileStamp stamp_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return {};
    return FileStamp{true, st.st_dev, st.st_ino, st.st_size, st.st_mtim};
}

/// The node-local sections a reload cannot change while running, by name,
/// when they differ between the running config and the file.
std::vector<std::string> needs_restart(const Config& running, const Config& next) {
    std::vector<std::string> out;
    auto check = [&](bool same, const char* what) {
        if (!same)
            out.push_back(what);
    };
    check(running.node_name == next.node_name && running.node_ip == next.node_ip, "node");
    check(running.network.pod_cidr == next.network.pod_cidr && running.network.gateway_ip == next.network.gateway_ip &&
              running.network.pod_mtu == next.network.pod_mtu,
          "network");
    check(running.uplinks.size() == next.uplinks.size(), "uplinks");
    check(running.routing.mode == next.routing.mode && running.routing.protocol == next.routing.protocol &&
              running.routing.tunnel_port == next.routing.tunnel_port,
          "routing");
    check(running.dataplane.worker_lcores == next.dataplane.worker_lcores, "dataplane");
    check(running.loadbalancer.algorithm == next.loadbalancer.algorithm &&
              running.loadbalancer.maglev_table_size == next.loadbalancer.maglev_table_size &&
              running.loadbalancer.maglev_hash_seed == next.loadbalancer.maglev_hash_seed &&
              running.loadbalancer.nodeport_mode == next.loadbalancer.nodeport_mode,
          "loadbalancer");
    check(running.bgp.bird == next.bgp.bird && running.bgp.run_dir == next.bgp.run_dir, "bgp (bird, run_dir)");
    return out;
}

} // namespace

struct FileSource::Impl {
    Config running;
    std::string path;
    uint32_t poll_ms;
    Sink sink;
    std::unique_ptr<boost::asio::steady_timer> timer;
    FileStamp last;
    SourceStatus status;
    bool stopped = true;

    void arm() {
        timer->expires_after(std::chrono::milliseconds(poll_ms));
        timer->async_wait([this](const boost::system::error_code& ec) {
            if (ec || stopped)
                return;
            poll();
            arm();
        });
    }

    void poll() {
        const FileStamp now = stamp_of(path);
        if (now == last)
            return;
        last = now;
        load(/*first=*/false);
    }

    void load(bool first) {
        const auto received = std::chrono::steady_clock::now();
        auto cfg = load_config_file(path);
        if (!cfg) {
            status.state = SourceState::Error;
            status.last_error = cfg.error().message + " (keeping the last good state)";
            std::fprintf(stderr, "podlaned: reload: %s\n", status.last_error.c_str());
            return;
        }
        if (!first) {
            const auto fixed = needs_restart(running, *cfg);
            for (const std::string& section : fixed)
                std::fprintf(stderr, "podlaned: reload: %s: %s changed; it takes effect after a restart\n",
                             path.c_str(), section.c_str());
        }
        ClusterDelta d;
        d.replace = true;
        d.upsert_nodes = std::move(cfg->nodes);
        d.upsert_services = std::move(cfg->services);
        // BGP instances and pools are reloaded too: the agent reconfigures
        // BIRD (no session reset unless a peer's settings changed) and runs LB IPAM.
        d.bgp_instances = std::move(cfg->bgp.instances);
        d.lb_ipam = std::move(cfg->lb_ipam);
        d.has_policies = true;
        d.policies = std::move(cfg->policies);
        d.received = received;
        status.state = SourceState::Synced;
        status.revision = std::to_string(last.mtime.tv_sec) + "." + std::to_string(last.mtime.tv_nsec / 1000000);
        if (!first)
            ++status.resyncs;
        ++status.events;
        sink(std::move(d));
    }
};

FileSource::FileSource(Config running, std::string path, uint32_t poll_ms) : impl_(std::make_unique<Impl>()) {
    impl_->running = std::move(running);
    impl_->path = std::move(path);
    impl_->poll_ms = poll_ms;
    impl_->status.kind = "file";
    impl_->status.endpoint = impl_->path;
}

FileSource::~FileSource() { stop(); }

Result<void> FileSource::start(boost::asio::io_context& io, Sink sink) {
    impl_->sink = std::move(sink);
    impl_->timer = std::make_unique<boost::asio::steady_timer>(io);
    impl_->stopped = false;
    impl_->last = stamp_of(impl_->path);
    // The agent already runs on this file's state: the first delta only marks
    // the source synced (it changes nothing unless the file moved meanwhile).
    impl_->load(/*first=*/true);
    impl_->arm();
    return {};
}

void FileSource::stop() {
    if (!impl_ || impl_->stopped)
        return;
    impl_->stopped = true;
    if (impl_->timer)
        impl_->timer->cancel();
}

SourceStatus FileSource::status() const { return impl_->status; }

void FileSource::reload() {
    impl_->last = stamp_of(impl_->path);
    impl_->load(/*first=*/false);
}

} // namespace podlane
