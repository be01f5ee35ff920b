#include "control/sources/etcd/source_etcd.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>
#include <utility> // before Boost 1.74 asio, whose awaitable.hpp needs std::exchange

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "control/sources/etcd/etcd_client.h"
#include "control/sources/etcd/etcd_objects.h"

namespace podlane {

struct EtcdSource::Impl {
    Config config;
    EtcdKeys keys;
    EtcdObjects objects;
    boost::asio::io_context* io = nullptr;
    Sink sink;
    std::thread thread; ///< lists and watches
    std::thread keeper; ///< this node's registration: lease, keep-alives, endpoint keys
    std::atomic<bool> stopping{false};
    std::mutex mu;
    std::condition_variable wake;
    SourceStatus st;           ///< under mu
    std::map<std::string, std::string> wanted_endpoints; ///< key -> value, under mu
    bool endpoints_dirty = false;                         ///< under mu
    std::map<std::string, std::string> written_endpoints; ///< what this thread last wrote
    struct RecordWrite {
        std::string key;
        std::optional<std::string> expected{}, next{};
    };
    std::vector<RecordWrite> record_writes;               ///< LB IPAM records to write, under mu
    std::shared_ptr<std::atomic<bool>> alive = std::make_shared<std::atomic<bool>>(true);

    explicit Impl(Config c)
        : config(std::move(c)), keys{config.source.etcd.prefix}, objects(config, config.source.etcd.prefix) {}

    void set(SourceState s, const std::string& error = "") {
        std::lock_guard lock(mu);
        st.state = s;
        if (!error.empty())
            st.last_error = error;
    }
    void note_error(const std::string& error) {
        std::fprintf(stderr, "podlaned: etcd: %s\n", error.c_str());
        std::lock_guard lock(mu);
        st.last_error = error;
    }
    /// Brings this node's endpoint keys in etcd to what the agent last
    /// published: puts (under `lease`) what is new or changed, deletes what
    /// is gone. "" or the failure.
    std::string sync_endpoints(EtcdClient& client, int64_t lease) {
        std::map<std::string, std::string> wanted;
        {
            std::lock_guard lock(mu);
            if (!endpoints_dirty)
                return "";
            wanted = wanted_endpoints;
            endpoints_dirty = false;
        }
        for (const auto& [key, value] : wanted) {
            auto it = written_endpoints.find(key);
            if (it != written_endpoints.end() && it->second == value)
                continue;
            if (auto p = client.put(key, value, lease); !p) {
                std::lock_guard lock(mu);
                endpoints_dirty = true;
                return p.error().message;
            }
            written_endpoints[key] = value;
        }
        for (auto it = written_endpoints.begin(); it != written_endpoints.end();) {
            if (wanted.count(it->first)) {
                ++it;
                continue;
            }
            if (auto d = client.delete_key(it->first); !d) {
                std::lock_guard lock(mu);
                endpoints_dirty = true;
                return d.error().message;
            }
            it = written_endpoints.erase(it);
        }
        return "";
    }
    /// Writes the LB IPAM records asked for, each a compare-and-swap: one
    /// that finds another value was written by another node first (its
    /// record arrives through the watch). "" or the failure.
    std::string write_records(EtcdClient& client) {
        std::vector<RecordWrite> writes;
        {
            std::lock_guard lock(mu);
            writes.swap(record_writes);
        }
        for (size_t i = 0; i < writes.size(); ++i) {
            auto r = client.swap_if(writes[i].key, writes[i].expected, writes[i].next);
            if (!r) {
                std::lock_guard lock(mu);
                record_writes.insert(record_writes.begin(), writes.begin() + static_cast<long>(i), writes.end());
                return r.error().message;
            }
            if (!*r)
                std::fprintf(stderr, "podlaned: etcd: %s: changed meanwhile (another node was first); its record comes through the watch\n",
                             writes[i].key.c_str());
        }
        return "";
    }
    /// Sleeps up to `ms`, or less when stopping (or, with `endpoints`, when they or the records change).
    void pause(uint32_t ms, bool endpoints = false) {
        std::unique_lock lock(mu);
        wake.wait_for(lock, std::chrono::milliseconds(ms), [&] {
            return stopping.load() || (endpoints && (endpoints_dirty || !record_writes.empty()));
        });
    }
    /// Hands a delta to the agent on the control thread.
    void deliver(ClusterDelta d) {
        {
            std::lock_guard lock(mu);
            ++st.events;
        }
        auto alive_flag = alive;
        boost::asio::post(*io, [this, alive_flag, d = std::move(d)]() mutable {
            if (alive_flag->load())
                sink(std::move(d));
        });
    }

    /// This node's registration value.
    std::string self_value() const {
        PeerNodeConfig me;
        me.name = config.node_name;
        me.ip = config.node_ip;
        me.pod_cidrs.push_back(config.network.pod_cidr);
        return EtcdObjects::node_value(me);
    }

    /// This node's registration, on a thread of its own so that nothing the
    /// watch does (a burst of events, a reconnect) delays a keep-alive: grants
    /// the lease, registers the node and its pods under it, keeps it alive
    /// every TTL/3, and registers again if it expired anyway.
    void keep() {
        const EtcdSourceConfig& e = config.source.etcd;
        auto tls = tls_from_files(e.ca_file, e.cert_file, e.key_file);
        if (!tls)
            return; // run() reports it
        EtcdClient client(e.endpoints, e.dial_timeout_ms, std::move(*tls));
        int64_t lease = 0;
        auto last_keepalive = std::chrono::steady_clock::now();
        const auto keepalive_every = std::chrono::milliseconds(e.lease_ttl_s * 1000 / 3);
        uint32_t retry_ms = 100;
        const bool registers = !config.node_ip.is_zero();
        while (!stopping) {
            std::string failure;
            if (registers && lease == 0) {
                auto l = client.lease_grant(e.lease_ttl_s);
                auto p = l ? client.put(keys.node(config.node_name), self_value(), *l) : Result<int64_t>(l.error());
                if (!p) {
                    failure = p.error().message;
                } else {
                    lease = *l;
                    last_keepalive = std::chrono::steady_clock::now();
                    // The pods' keys went with an expired lease: write them all again.
                    written_endpoints.clear();
                    std::lock_guard lock(mu);
                    endpoints_dirty = true;
                }
            }
            if (failure.empty() && lease != 0 && std::chrono::steady_clock::now() - last_keepalive >= keepalive_every) {
                auto k = client.lease_keepalive(lease);
                if (!k) {
                    failure = k.error().message; // the lease may live on: try again soon
                } else if (!*k) {
                    lease = 0;
                    failure = "this node's lease expired; registering again";
                    std::lock_guard lock(mu);
                    ++st.lease_expiries;
                } else {
                    last_keepalive = std::chrono::steady_clock::now();
                }
            }
            if (failure.empty() && lease != 0)
                failure = sync_endpoints(client, lease);
            if (failure.empty())
                failure = write_records(client);
            if (!failure.empty()) {
                note_error("registration: " + failure);
                pause(retry_ms);
                retry_ms = std::min(retry_ms * 2, 1000u);
                continue;
            }
            retry_ms = 100;
            pause(100, true); // endpoint changes wake it sooner
        }
    }

    void run() {
        const EtcdSourceConfig& e = config.source.etcd;
        auto tls = tls_from_files(e.ca_file, e.cert_file, e.key_file);
        if (!tls) {
            note_error("TLS: " + tls.error().message); // the files went away after the config check
            set(SourceState::Disconnected);
            return;
        }
        EtcdClient client(e.endpoints, e.dial_timeout_ms, std::move(*tls));
        int64_t revision = 0;   ///< the last revision the agent has; 0: list first
        bool was_synced = false;
        uint32_t backoff_ms = 100;
        while (!stopping) {
            std::string failure;
            do {
                if (revision == 0) {
                    auto range = client.range_prefix(keys.prefix);
                    if (!range) { failure = range.error().message; break; }
                    std::vector<std::string> errors;
                    deliver(objects.load(range->kvs, errors));
                    for (const std::string& e : errors)
                        note_error(e);
                    if (was_synced) {
                        std::lock_guard lock(mu);
                        ++st.resyncs;
                    }
                    revision = range->revision;
                }
                auto watch = client.watch_prefix(keys.prefix, revision + 1);
                if (!watch) { failure = watch.error().message; break; }
                {
                    std::lock_guard lock(mu);
                    if (was_synced && st.state != SourceState::Synced)
                        ++st.reconnects;
                    st.state = SourceState::Synced;
                    st.endpoint = client.current_url();
                    st.revision = std::to_string(revision);
                }
                was_synced = true;
                backoff_ms = 100;
                while (!stopping) {
                    auto msg = (*watch)->next(200);
                    if (!msg) { failure = msg.error().message; break; }
                    if (!*msg)
                        continue;
                    if ((*msg)->compact_revision > 0) {
                        note_error("etcd compacted revision " + std::to_string(revision + 1) + ": listing again");
                        revision = 0;
                        break;
                    }
                    if ((*msg)->canceled) { failure = "etcd canceled the watch"; break; }
                    if (!(*msg)->events.empty()) {
                        std::vector<std::string> errors;
                        ClusterDelta d = objects.apply((*msg)->events, errors);
                        for (const std::string& e : errors)
                            note_error(e);
                        if (!d.empty())
                            deliver(std::move(d));
                    }
                    if ((*msg)->revision > revision) {
                        revision = (*msg)->revision;
                        std::lock_guard lock(mu);
                        st.revision = std::to_string(revision);
                    }
                }
            } while (false);
            if (stopping)
                break;
            if (!failure.empty()) {
                {
                    std::lock_guard lock(mu);
                    st.state = was_synced ? SourceState::Disconnected : SourceState::Connecting;
                    st.last_error = failure + " (keeping the last good state; retrying)";
                }
                std::fprintf(stderr, "podlaned: etcd: %s; retrying in %u ms\n", failure.c_str(), backoff_ms);
                pause(backoff_ms);
                backoff_ms = std::min(backoff_ms * 2, 5000u);
            }
        }
    }
};

EtcdSource::EtcdSource(Config node_config) : impl_(std::make_shared<Impl>(std::move(node_config))) {
    impl_->st.kind = "etcd";
    for (const std::string& u : impl_->config.source.etcd.endpoints)
        impl_->st.endpoint += (impl_->st.endpoint.empty() ? "" : ",") + u;
}

EtcdSource::~EtcdSource() { stop(); }

Result<void> EtcdSource::start(boost::asio::io_context& io, Sink sink) {
    for (const std::string& u : impl_->config.source.etcd.endpoints)
        if (auto ep = parse_etcd_url(u); !ep)
            return make_error("source.etcd.endpoints: " + ep.error().message);
    impl_->io = &io;
    impl_->sink = std::move(sink);
    impl_->thread = std::thread([impl = impl_] { impl->run(); });
    // The keeper writes LB IPAM's records, and registers the node. A node
    // without an uplink has no address other nodes could use: it does not register.
    impl_->keeper = std::thread([impl = impl_] { impl->keep(); });
    return {};
}

void EtcdSource::stop() {
    if (!impl_ || !impl_->thread.joinable())
        return;
    impl_->alive->store(false);
    {
        std::lock_guard lock(impl_->mu);
        impl_->stopping = true;
    }
    impl_->wake.notify_all();
    impl_->thread.join();
    if (impl_->keeper.joinable())
        impl_->keeper.join();
}

void EtcdSource::publish_endpoints(std::vector<RemoteEndpointConfig> local) {
    std::map<std::string, std::string> wanted;
    for (const RemoteEndpointConfig& e : local)
        wanted[impl_->keys.endpoint(e.name)] = EtcdObjects::endpoint_value(e);
    {
        std::lock_guard lock(impl_->mu);
        impl_->wanted_endpoints = std::move(wanted);
        impl_->endpoints_dirty = true;
    }
    impl_->wake.notify_all(); // the keeper writes them now
}

void EtcdSource::record_lb_ips(const std::string& service, const std::vector<Ipv4Addr>& ips,
                               const std::vector<Ipv4Addr>& recorded) {
    Impl::RecordWrite w{.key = impl_->keys.lb_record(service)};
    if (!recorded.empty())
        w.expected = EtcdObjects::lb_record_value(recorded);
    if (!ips.empty())
        w.next = EtcdObjects::lb_record_value(ips);
    if (!w.expected && !w.next)
        return;
    {
        std::lock_guard lock(impl_->mu);
        impl_->record_writes.push_back(std::move(w));
    }
    impl_->wake.notify_all();
}

SourceStatus EtcdSource::status() const {
    std::lock_guard lock(impl_->mu);
    return impl_->st;
}

Result<Ipv4Prefix> etcd_claim_pod_cidr(const Config& config) {
    const IpamConfig& ipam = config.ipam;
    const EtcdSourceConfig& e = config.source.etcd;
    auto tls = tls_from_files(e.ca_file, e.cert_file, e.key_file);
    if (!tls)
        return make_error("ipam cluster-pool through etcd: TLS: " + tls.error().message);
    EtcdClient client(e.endpoints, e.dial_timeout_ms, std::move(*tls));
    const EtcdKeys keys{config.source.etcd.prefix};
    auto owned = client.range_prefix(keys.blocks());
    if (!owned)
        return make_error("ipam cluster-pool through etcd: " + owned.error().message);
    const uint32_t blocks = 1u << (ipam.mask_size - ipam.cluster_pool_cidr.len);
    auto block = [&](uint32_t i) {
        return Ipv4Prefix{Ipv4Addr::from_host(ipam.cluster_pool_cidr.addr.host() + (i << (32 - ipam.mask_size))),
                          ipam.mask_size};
    };
    for (uint32_t i = 0; i < blocks; ++i) // a block this node holds already
        for (const EtcdKv& kv : owned->kvs)
            if (kv.key == keys.block(block(i)) && kv.value == config.node_name)
                return block(i);
    for (uint32_t i = 0; i < blocks; ++i) {
        auto created = client.create_if_absent(keys.block(block(i)), config.node_name);
        if (!created)
            return make_error("ipam cluster-pool through etcd: " + created.error().message);
        if (*created)
            return block(i);
    }
    return make_error("ipam cluster-pool through etcd: every /" + std::to_string(ipam.mask_size) + " block of " +
                      ipam.cluster_pool_cidr.str() + " is taken");
}

} // namespace podlane
