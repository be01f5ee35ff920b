#include "control/source_k8s.h"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility> // before Boost 1.74 asio, whose awaitable.hpp needs std::exchange

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "control/http_client.h"
#include "control/k8s_convert.h"
#include "control/kubeconfig.h"

namespace podlane {

using Json = nlohmann::json;

namespace {

enum Resource { kNodes, kServices, kSlices, kResources };
constexpr const char* kPaths[kResources] = {"/api/v1/nodes", "/api/v1/services",
                                            "/apis/discovery.k8s.io/v1/endpointslices"};
constexpr const char* kNames[kResources] = {"nodes", "services", "endpointslices"};

/// A request's outcome that is not a plain failure: 410 Gone.
struct Gone {};

} // namespace

struct KubernetesSource::Impl {
    Config config;
    KubeAccess access;
    HttpUrl url;
    boost::asio::io_context* io = nullptr;
    Sink sink;
    std::thread threads[kResources];
    std::atomic<bool> stopping{false};
    std::shared_ptr<std::atomic<bool>> alive = std::make_shared<std::atomic<bool>>(true);
    mutable std::mutex mu;
    std::condition_variable wake;
    // Under mu:
    std::map<std::string, Json> objects[kResources]; ///< by namespace/name
    bool listed[kResources] = {false, false, false};
    bool synced_once = false;
    bool down[kResources] = {false, false, false};
    SourceStatus st;
    std::map<std::string, std::string> bad; ///< object -> why it is left out

    explicit Impl(Config c) : config(std::move(c)) {}

    std::vector<std::string> headers() const {
        std::vector<std::string> h{"Accept: application/json"};
        if (!access.token.empty())
            h.push_back("Authorization: Bearer " + access.token);
        return h;
    }

    void pause(uint32_t ms) {
        std::unique_lock lock(mu);
        wake.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping.load(); });
    }

    void deliver(ClusterDelta d) {
        ++st.events; // under mu
        auto alive_flag = alive;
        boost::asio::post(*io, [this, alive_flag, d = std::move(d)]() mutable {
            if (alive_flag->load())
                sink(std::move(d));
        });
    }

    /// The slices of service `key` (under mu).
    std::vector<const Json*> slices_of(const std::string& key) const {
        std::vector<const Json*> out;
        for (const auto& [k, s] : objects[kSlices])
            if (k8s_slice_service(s) == key)
                out.push_back(&s);
        return out;
    }

    /// Adds service `key`'s current version (or its removal) to `d` (under mu).
    void service_into(const std::string& key, ClusterDelta& d) {
        auto it = objects[kServices].find(key);
        if (it == objects[kServices].end()) {
            d.delete_services.push_back(key);
            return;
        }
        auto s = k8s_service(it->second, slices_of(key), config);
        if (!s) {
            bad[key] = s.error().message;
            st.last_error = s.error().message;
            d.delete_services.push_back(key);
        } else if (!*s) {
            bad.erase(key);
            d.delete_services.push_back(key); // headless or the like
        } else {
            bad.erase(key);
            d.upsert_services.push_back(std::move(**s));
        }
    }

    void node_into(const std::string& key, ClusterDelta& d) {
        auto it = objects[kNodes].find(key);
        if (it == objects[kNodes].end()) {
            d.delete_nodes.push_back(key);
            return;
        }
        auto n = k8s_node(it->second, config);
        if (!n) {
            bad[key] = n.error().message;
            st.last_error = n.error().message;
            d.delete_nodes.push_back(key);
        } else if (*n) {
            bad.erase(key);
            d.upsert_nodes.push_back(std::move(**n));
        }
    }

    /// The whole state as a replace delta (under mu).
    ClusterDelta everything() {
        ClusterDelta d;
        d.replace = true;
        for (const auto& [key, n] : objects[kNodes])
            node_into(key, d);
        for (const auto& [key, s] : objects[kServices])
            service_into(key, d);
        d.delete_nodes.clear();
        d.delete_services.clear();
        return d;
    }

    /// After `r` was (re)listed: the first full state once all three are, a
    /// replace delta on a relist.
    void after_list(Resource r) {
        std::lock_guard lock(mu);
        const bool relist = listed[r];
        listed[r] = true;
        if (!(listed[kNodes] && listed[kServices] && listed[kSlices]))
            return;
        if (synced_once && !relist)
            return;
        if (synced_once)
            ++st.resyncs;
        synced_once = true;
        deliver(everything());
        update_state();
    }

    void update_state() { // under mu
        bool any_down = false;
        for (bool d : down)
            any_down = any_down || d;
        st.state = any_down ? (synced_once ? SourceState::Disconnected : SourceState::Connecting)
                            : (synced_once ? SourceState::Synced : SourceState::Connecting);
    }

    /// GET `path`: the JSON answer; Gone on 410; errors otherwise.
    Result<Json> get(const std::string& path, bool& gone) {
        HttpConnection c;
        auto r = c.connect(url, config.source.kubernetes.timeout_ms, &access.tls);
        if (r)
            r = c.send("GET", path, "", headers(), config.source.kubernetes.timeout_ms);
        if (r)
            r = c.read_head(config.source.kubernetes.timeout_ms);
        if (!r)
            return r.error();
        auto body = c.body(config.source.kubernetes.timeout_ms);
        if (!body)
            return body.error();
        gone = c.status() == 410;
        if (c.status() != 200 && !gone) {
            Json j = Json::parse(*body, nullptr, false);
            return make_error("GET " + path + ": HTTP " + std::to_string(c.status()) +
                              (j.is_object() ? " " + j.value("message", std::string()) : ""));
        }
        Json j = Json::parse(*body, nullptr, false);
        if (j.is_discarded())
            return make_error("GET " + path + ": the answer is not JSON");
        return j;
    }

    /// Lists resource `r`; returns its resourceVersion.
    Result<std::string> list(Resource r) {
        bool gone = false;
        auto j = get(kPaths[r], gone);
        if (!j)
            return j.error();
        std::map<std::string, Json> items;
        for (const Json& item : j->value("items", Json::array()))
            items[k8s_key(item)] = item;
        {
            std::lock_guard lock(mu);
            objects[r] = std::move(items);
        }
        after_list(r);
        return j->value("metadata", Json::object()).value("resourceVersion", std::string());
    }

    /// Applies one watch event of resource `r`; "gone" on a 410 ERROR event.
    Result<bool> apply_event(Resource r, const Json& ev, std::string& rv) {
        const std::string type = ev.value("type", "");
        const Json& obj = ev.value("object", Json::object());
        if (type == "ERROR") {
            if (obj.value("code", 0) == 410)
                return true;
            return make_error("watch " + std::string(kNames[r]) + ": " + obj.value("message", std::string("error")));
        }
        const std::string new_rv = obj.value("metadata", Json::object()).value("resourceVersion", std::string());
        if (!new_rv.empty())
            rv = new_rv;
        if (type == "BOOKMARK")
            return false;
        const std::string key = k8s_key(obj);
        std::lock_guard lock(mu);
        std::set<std::string> services;
        if (r == kSlices) {
            auto old = objects[r].find(key);
            if (old != objects[r].end())
                services.insert(k8s_slice_service(old->second));
        }
        if (type == "DELETED")
            objects[r].erase(key);
        else if (type == "ADDED" || type == "MODIFIED")
            objects[r][key] = obj;
        else
            return false;
        if (r == kSlices)
            services.insert(k8s_slice_service(obj));
        if (r == kServices)
            services.insert(key);
        if (!synced_once)
            return false; // the first full state carries it
        ClusterDelta d;
        if (r == kNodes)
            node_into(key, d);
        for (const std::string& s : services)
            if (!s.empty())
                service_into(s, d);
        if (!d.empty())
            deliver(std::move(d));
        st.revision = rv;
        return false;
    }

    /// Watches `r` from `rv` until the stream ends; true if it must relist (410).
    Result<bool> watch(Resource r, std::string& rv) {
        HttpConnection c;
        const std::string path = std::string(kPaths[r]) + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=300" +
                                 "&resourceVersion=" + rv;
        auto ok = c.connect(url, config.source.kubernetes.timeout_ms, &access.tls);
        if (ok)
            ok = c.send("GET", path, "", headers(), config.source.kubernetes.timeout_ms);
        if (ok)
            ok = c.read_head(config.source.kubernetes.timeout_ms);
        if (!ok)
            return ok.error();
        if (c.status() == 410)
            return true;
        if (c.status() != 200)
            return make_error("watch " + std::string(kNames[r]) + ": HTTP " + std::to_string(c.status()));
        {
            std::lock_guard lock(mu);
            if (down[r]) {
                down[r] = false;
                ++st.reconnects;
            }
            update_state();
        }
        std::string pending;
        while (!stopping) {
            auto chunk = c.chunk(200);
            if (!chunk)
                return chunk.error();
            if (!*chunk)
                continue;
            if ((*chunk)->empty())
                return false; // the server ended the watch (timeoutSeconds): watch again
            pending += **chunk;
            for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
                const std::string line = pending.substr(0, nl);
                pending.erase(0, nl + 1);
                if (line.find_first_not_of(" \r\t") == std::string::npos)
                    continue;
                Json ev = Json::parse(line, nullptr, false);
                if (ev.is_discarded())
                    return make_error("watch " + std::string(kNames[r]) + ": an event is not JSON");
                auto gone = apply_event(r, ev, rv);
                if (!gone)
                    return gone.error();
                if (*gone)
                    return true;
            }
        }
        return false;
    }

    void run(Resource r) {
        std::string rv;
        uint32_t backoff_ms = 100;
        while (!stopping) {
            std::string failure;
            if (rv.empty()) {
                auto listed_rv = list(r);
                if (!listed_rv)
                    failure = listed_rv.error().message;
                else
                    rv = *listed_rv;
            }
            if (failure.empty()) {
                auto w = watch(r, rv);
                if (!w)
                    failure = w.error().message;
                else if (*w) {
                    std::fprintf(stderr, "podlaned: kubernetes: %s: resourceVersion %s is gone (410): listing again\n",
                                 kNames[r], rv.c_str());
                    rv.clear();
                    continue;
                } else {
                    backoff_ms = 100;
                    continue;
                }
            }
            if (stopping)
                break;
            {
                std::lock_guard lock(mu);
                down[r] = true;
                st.last_error = std::string(kNames[r]) + ": " + failure + " (keeping the last good state; retrying)";
                update_state();
            }
            std::fprintf(stderr, "podlaned: kubernetes: %s: %s; retrying in %u ms\n", kNames[r], failure.c_str(), backoff_ms);
            pause(backoff_ms);
            backoff_ms = std::min(backoff_ms * 2, 5000u);
        }
    }
};

KubernetesSource::KubernetesSource(Config node_config) : impl_(std::make_shared<Impl>(std::move(node_config))) {
    impl_->st.kind = "kubernetes";
}

KubernetesSource::~KubernetesSource() { stop(); }

Result<void> KubernetesSource::start(boost::asio::io_context& io, Sink sink) {
    auto access = kube_access(impl_->config.source.kubernetes);
    if (!access)
        return access.error();
    impl_->access = std::move(*access);
    impl_->url = *parse_http_url(impl_->access.server);
    impl_->st.endpoint = impl_->access.server;
    impl_->io = &io;
    impl_->sink = std::move(sink);
    for (int r = 0; r < kResources; ++r)
        impl_->threads[r] = std::thread([impl = impl_, r] { impl->run(static_cast<Resource>(r)); });
    return {};
}

void KubernetesSource::stop() {
    if (!impl_ || !impl_->threads[0].joinable())
        return;
    impl_->alive->store(false);
    {
        std::lock_guard lock(impl_->mu);
        impl_->stopping = true;
    }
    impl_->wake.notify_all();
    for (auto& t : impl_->threads)
        t.join();
}

SourceStatus KubernetesSource::status() const {
    std::lock_guard lock(impl_->mu);
    return impl_->st;
}

} // namespace podlane
