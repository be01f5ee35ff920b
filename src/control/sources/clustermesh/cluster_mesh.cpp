#include "control/sources/clustermesh/cluster_mesh.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <utility> // before Boost 1.74 asio, whose awaitable.hpp needs std::exchange

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "control/sources/etcd/etcd_client.h"

namespace podlane {

namespace {
constexpr uint32_t kDialTimeoutMs = 2000;
const std::string kCiliumPrefix = "cilium/";
bool is_canary(const std::string& key) { return key.rfind("cilium/synced/", 0) == 0; }
} // namespace

struct ClusterMesh::Impl {
    Config config;
    boost::asio::io_context* io = nullptr;
    Sink sink;
    std::vector<std::thread> threads;
    std::atomic<bool> stopping{false};
    mutable std::mutex mu;
    std::condition_variable wake;
    std::vector<MeshRemoteStatus> remotes;        ///< under mu, one per config.clustermesh.clusters
    MeshExportStatus exp;                         ///< under mu
    std::map<std::string, std::string> wanted;    ///< under mu: what to export
    bool wanted_dirty = false;                    ///< under mu
    std::shared_ptr<std::atomic<bool>> alive = std::make_shared<std::atomic<bool>>(true);

    explicit Impl(Config c) : config(std::move(c)) {}

    void pause(uint32_t ms, bool on_export = false) {
        std::unique_lock lock(mu);
        wake.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping.load() || (on_export && wanted_dirty); });
    }

    void deliver(size_t i, MeshClusterState st) {
        {
            std::lock_guard lock(mu);
            MeshRemoteStatus& r = remotes[i];
            r.synced_nodes = st.nodes_synced;
            r.synced_services = st.services_synced;
            r.synced_ipcache = st.ipcache_synced;
            r.synced_identities = st.identities_synced;
            r.ready = r.connected && st.ready();
            r.nodes = st.nodes.size();
            r.endpoints = st.endpoints.size();
            r.identities = st.identities;
            r.services = st.services.size();
            r.refused = st.refused;
            ++r.updates;
            if (!st.errors.empty())
                r.last_error = st.errors.back();
        }
        for (const std::string& e : st.errors)
            std::fprintf(stderr, "podlaned: clustermesh %s: %s\n", st.cluster.c_str(), e.c_str());
        auto flag = alive;
        boost::asio::post(*io, [this, flag, st = std::move(st)]() mutable {
            if (flag->load())
                sink(std::move(st));
        });
    }

    /// Reads remote cluster i until stopped.
    void watch_remote(size_t i) {
        const MeshClusterConfig& rc = config.clustermesh.clusters[i];
        auto tls = tls_from_files(rc.ca_file, rc.cert_file, rc.key_file);
        if (!tls) {
            std::lock_guard lock(mu);
            remotes[i].last_error = "TLS: " + tls.error().message;
            return;
        }
        EtcdClient client(rc.endpoints, kDialTimeoutMs, std::move(*tls));
        const std::string config_key = mesh::cluster_config_key(rc.name);
        bool was_connected = false;
        uint32_t backoff_ms = 200;
        while (!stopping) {
            std::string failure;
            do {
                auto cfg_range = client.range_prefix(config_key);
                if (!cfg_range) { failure = cfg_range.error().message; break; }
                const EtcdKv* cfg_kv = nullptr;
                for (const EtcdKv& kv : cfg_range->kvs)
                    if (kv.key == config_key)
                        cfg_kv = &kv;
                if (cfg_kv == nullptr) {
                    failure = "no cluster configuration at " + config_key + " (is the cluster's name right?)";
                    break;
                }
                auto cfg = mesh::decode_cluster_config(cfg_kv->value);
                if (!cfg) { failure = config_key + ": " + cfg.error().message; break; }
                if (std::string why = check_remote_config(*cfg, config.cluster); !why.empty()) {
                    failure = config_key + ": " + why;
                    break;
                }
                auto range = client.range_prefix(kCiliumPrefix);
                if (!range) { failure = range.error().message; break; }
                std::map<std::string, std::string> kvs;
                for (EtcdKv& kv : range->kvs)
                    kvs.emplace(std::move(kv.key), std::move(kv.value));
                {
                    std::lock_guard lock(mu);
                    if (was_connected && !remotes[i].connected)
                        ++remotes[i].reconnects;
                    remotes[i].connected = true;
                    remotes[i].cluster_id = cfg->id;
                    remotes[i].last_error.clear(); // connected: what went wrong before is over

                }
                was_connected = true;
                backoff_ms = 200;
                deliver(i, decode_mesh_state(rc.name, *cfg, config.cluster.max_connected_clusters, kvs));
                int64_t revision = range->revision;
                auto watch = client.watch_prefix(kCiliumPrefix, revision + 1);
                if (!watch) { failure = watch.error().message; break; }
                bool relist = false;
                while (!stopping && !relist) {
                    auto msg = (*watch)->next(200);
                    if (!msg) { failure = msg.error().message; break; }
                    if (!*msg)
                        continue;
                    if ((*msg)->compact_revision > 0 || (*msg)->canceled) { relist = true; break; }
                    if ((*msg)->events.empty())
                        continue;
                    for (EtcdWatchEvent& ev : (*msg)->events) {
                        if (ev.kv.key == config_key)
                            relist = true; // its id or capabilities may have changed: check again
                        if (ev.deleted)
                            kvs.erase(ev.kv.key);
                        else
                            kvs[ev.kv.key] = std::move(ev.kv.value);
                    }
                    if (!relist)
                        deliver(i, decode_mesh_state(rc.name, *cfg, config.cluster.max_connected_clusters, kvs));
                }
            } while (false);
            if (stopping)
                break;
            if (!failure.empty()) {
                {
                    std::lock_guard lock(mu);
                    remotes[i].connected = false;
                    remotes[i].ready = false;
                    remotes[i].last_error = failure;
                }
                std::fprintf(stderr, "podlaned: clustermesh %s: %s (keeping its last state; retrying in %u ms)\n",
                             rc.name.c_str(), failure.c_str(), backoff_ms);
                pause(backoff_ms);
                backoff_ms = std::min(backoff_ms * 2, 2000u);
            }
        }
    }

    /// Keeps this node's share of the cluster's state written in its etcd.
    void export_loop() {
        const MeshExportConfig& e = config.clustermesh.export_to;
        auto tls = tls_from_files(e.ca_file, e.cert_file, e.key_file);
        if (!tls) {
            std::lock_guard lock(mu);
            exp.last_error = "TLS: " + tls.error().message;
            return;
        }
        EtcdClient client(e.endpoints, kDialTimeoutMs, std::move(*tls));
        int64_t lease = 0;
        std::map<std::string, std::string> written;
        auto last_keepalive = std::chrono::steady_clock::now();
        auto last_check = last_keepalive - std::chrono::seconds(10);
        const auto keepalive_every = std::chrono::milliseconds(e.lease_ttl_s * 1000 / 3);
        while (!stopping) {
            std::string failure;
            do {
                if (lease == 0) {
                    auto l = client.lease_grant(e.lease_ttl_s);
                    if (!l) { failure = l.error().message; break; }
                    lease = *l;
                    written.clear();
                    last_keepalive = std::chrono::steady_clock::now();
                }
                if (std::chrono::steady_clock::now() - last_keepalive >= keepalive_every) {
                    auto k = client.lease_keepalive(lease);
                    if (!k) { failure = k.error().message; break; }
                    if (!*k) { lease = 0; failure = "the export lease expired; writing again"; break; }
                    last_keepalive = std::chrono::steady_clock::now();
                }
                std::map<std::string, std::string> want;
                bool dirty;
                {
                    std::lock_guard lock(mu);
                    want = wanted;
                    dirty = wanted_dirty;
                    wanted_dirty = false;
                }
                // Other nodes of this cluster write some of the same keys
                // (services, identities, canaries) under their own leases: look
                // at what etcd holds every 2 s, so a key that went with another
                // node's lease is written again.
                const bool check = std::chrono::steady_clock::now() - last_check >= std::chrono::seconds(2);
                if (!dirty && !check)
                    break;
                std::map<std::string, std::string> current = written;
                if (check) {
                    auto range = client.range_prefix(kCiliumPrefix);
                    if (!range) { failure = range.error().message; break; }
                    current.clear();
                    for (const EtcdKv& kv : range->kvs)
                        current[kv.key] = kv.value;
                    last_check = std::chrono::steady_clock::now();
                }
                // State first, the sync canaries last (they say the rest is there).
                for (int pass = 0; pass < 2 && failure.empty(); ++pass)
                    for (const auto& [key, value] : want) {
                        if (is_canary(key) != (pass == 1))
                            continue;
                        auto it = current.find(key);
                        if (it != current.end() && it->second == value && written.count(key))
                            continue;
                        if (auto p = client.put(key, value, lease); !p) { failure = p.error().message; break; }
                        written[key] = value;
                    }
                for (auto it = written.begin(); failure.empty() && it != written.end();) {
                    if (want.count(it->first)) { ++it; continue; }
                    if (auto d = client.delete_key(it->first); !d) { failure = d.error().message; break; }
                    it = written.erase(it);
                }
                if (!failure.empty()) {
                    std::lock_guard lock(mu);
                    wanted_dirty = true;
                }
            } while (false);
            {
                std::lock_guard lock(mu);
                exp.connected = failure.empty();
                exp.keys = written.size();
                if (!failure.empty())
                    exp.last_error = failure;
            }
            if (!failure.empty()) {
                std::fprintf(stderr, "podlaned: clustermesh export: %s; retrying\n", failure.c_str());
                pause(1000);
            } else {
                pause(200, true);
            }
        }
        if (lease != 0)
            for (const auto& [key, value] : written)
                (void)client.delete_key(key); // leaving: what this node wrote goes now, not at lease expiry
    }
};

ClusterMesh::ClusterMesh(Config config) : impl_(std::make_shared<Impl>(std::move(config))) {
    for (const MeshClusterConfig& rc : impl_->config.clustermesh.clusters) {
        MeshRemoteStatus s;
        s.name = rc.name;
        for (const std::string& u : rc.endpoints)
            s.endpoint += (s.endpoint.empty() ? "" : ",") + u;
        impl_->remotes.push_back(std::move(s));
    }
    impl_->exp.enabled = !impl_->config.clustermesh.export_to.endpoints.empty();
}

ClusterMesh::~ClusterMesh() { stop(); }

Result<void> ClusterMesh::start(boost::asio::io_context& io, Sink sink) {
    for (const MeshClusterConfig& rc : impl_->config.clustermesh.clusters)
        for (const std::string& u : rc.endpoints)
            if (auto ep = parse_etcd_url(u); !ep)
                return make_error("clustermesh.clusters " + rc.name + ": " + ep.error().message);
    impl_->io = &io;
    impl_->sink = std::move(sink);
    for (size_t i = 0; i < impl_->remotes.size(); ++i)
        impl_->threads.emplace_back([impl = impl_, i] { impl->watch_remote(i); });
    if (impl_->exp.enabled)
        impl_->threads.emplace_back([impl = impl_] { impl->export_loop(); });
    return {};
}

void ClusterMesh::stop() {
    if (!impl_)
        return;
    impl_->alive->store(false);
    {
        std::lock_guard lock(impl_->mu);
        impl_->stopping = true;
    }
    impl_->wake.notify_all();
    for (std::thread& t : impl_->threads)
        if (t.joinable())
            t.join();
    impl_->threads.clear();
}

std::vector<MeshRemoteStatus> ClusterMesh::status() const {
    std::lock_guard lock(impl_->mu);
    return impl_->remotes;
}

MeshExportStatus ClusterMesh::export_status() const {
    std::lock_guard lock(impl_->mu);
    return impl_->exp;
}

void ClusterMesh::set_export(std::map<std::string, std::string> kvs) {
    {
        std::lock_guard lock(impl_->mu);
        if (impl_->wanted == kvs)
            return;
        impl_->wanted = std::move(kvs);
        impl_->wanted_dirty = true;
    }
    impl_->wake.notify_all();
}

} // namespace podlane
