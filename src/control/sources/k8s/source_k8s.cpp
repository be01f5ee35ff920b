#include "control/sources/k8s/source_k8s.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <exception>
#include <random>
#include <utility> // before Boost 1.74 asio, whose awaitable.hpp needs std::exchange

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "control/sources/k8s/k8s_cache.h"
#include "control/sources/k8s/k8s_client.h"

namespace podlane {

namespace asio = boost::asio;
using asio::awaitable;
using Json = nlohmann::json;

namespace {

/// Retry delays after a failure: 250 ms doubling to 4 s, +-20% so that the
/// nodes of a cluster do not come back to the API server in step.
class Backoff {
public:
    std::chrono::milliseconds next(std::minstd_rand& rng) {
        const auto base = delay_;
        delay_ = std::min(delay_ * 2, std::chrono::milliseconds(4000));
        std::uniform_int_distribution<int64_t> jitter(-base.count() / 5, base.count() / 5);
        return base + std::chrono::milliseconds(jitter(rng));
    }
    void reset() { delay_ = std::chrono::milliseconds(250); }

private:
    std::chrono::milliseconds delay_{250};
};

/// What an HTTP error from the API server means, with the Status message it sent.
std::string http_problem(const HttpReply& r, const std::string& origin) {
    std::string message;
    const Json status = Json::parse(r.body, nullptr, false);
    if (status.is_object() && status.contains("message") && status["message"].is_string())
        message = status["message"].get<std::string>();
    else
        message = r.body.substr(0, 200);
    std::string out = "HTTP " + std::to_string(r.status) + " " + r.reason;
    if (!message.empty() && message != r.reason)
        out += ": " + message;
    if (r.status == 401)
        out += " (the API server refused the credentials of " + origin + ": check its token or client certificate)";
    else if (r.status == 403)
        out += " (podlaned needs RBAC permission to list and watch nodes, services, endpointslices.discovery.k8s.io "
               "and cilium.io's BGP and LB IPAM objects, and to patch services/status: deploy/kubernetes/rbac.yaml)";
    return out;
}

} // namespace

/// How often a cilium.io resource the server does not have is listed again.
constexpr auto kAbsentRelist = std::chrono::seconds(10);

struct KubernetesSource::Impl {
    Impl(const Config& config, KubeAccess a) : access(std::move(a)), cache(ConvertSettings::from(config), config),
                                                 timeout(config.source.kubernetes.timeout_ms) {}

    KubeAccess access;
    K8sCache cache;
    std::chrono::milliseconds timeout;
    std::shared_ptr<K8sClient> client;
    Sink sink;
    SourceStatus status;
    bool stopped = true;
    bool synced = false;               ///< the first replace delta went out
    std::array<bool, kK8sResourceCount> healthy{};     ///< the resource's last request succeeded
    std::array<bool, kK8sResourceCount> listed_once{}; ///< a later list is a relist
    std::array<bool, kK8sResourceCount> absent{};      ///< an optional resource the server does not have (404)
    std::array<std::string, kK8sResourceCount> failure; ///< the resource's current failure, logged once
    std::array<std::unique_ptr<asio::steady_timer>, kK8sResourceCount> timers;
    std::minstd_rand rng{std::random_device{}()};

    static size_t at(K8sResource r) { return static_cast<size_t>(r); }

    void update_state() {
        if (!synced)
            status.state = SourceState::Connecting;
        else
            status.state = std::all_of(healthy.begin(), healthy.end(), [](bool h) { return h; }) ? SourceState::Synced
                                                                                                   : SourceState::Disconnected;
    }

    /// The resource cannot reach the API server (or was refused).
    void failed(K8sResource r, const std::string& why) {
        healthy[at(r)] = false;
        const std::string text = std::string(resource_name(r)) + ": " + why;
        status.last_error = text;
        if (failure[at(r)] != text)
            std::fprintf(stderr, "podlaned: kubernetes: %s%s\n", text.c_str(),
                         synced ? " (keeping the last good state; retrying)" : " (retrying)");
        failure[at(r)] = text;
        update_state();
    }

    /// The resource's list or watch request succeeded.
    void reached(K8sResource r) {
        healthy[at(r)] = true;
        if (!failure[at(r)].empty())
            std::fprintf(stderr, "podlaned: kubernetes: %s: reachable again\n", resource_name(r));
        failure[at(r)].clear();
        update_state();
    }

    /// Objects skipped or partly converted: logged, the latest kept as last_error.
    void report_problems() {
        for (const std::string& p : cache.take_problems()) {
            std::fprintf(stderr, "podlaned: kubernetes: %s\n", p.c_str());
            status.last_error = p;
        }
    }

    /// Hands the agent what changed (everything, with `replace`).
    void deliver(bool replace, std::chrono::steady_clock::time_point received) {
        if (stopped || !sink)
            return;
        ClusterDelta d = cache.take_delta(replace);
        d.received = received;
        if (d.empty())
            return;
        ++status.events;
        sink(std::move(d));
    }

    awaitable<void> pause(K8sResource r, Backoff& backoff) {
        boost::system::error_code ec;
        timers[at(r)]->expires_after(backoff.next(rng));
        co_await timers[at(r)]->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }

    /// Lists the resource into the cache; false (and the failure recorded) when it could not.
    awaitable<bool> list(K8sResource r) {
        const auto reply = co_await client->get(resource_path(r));
        if (stopped)
            co_return false;
        const std::string what = std::string("list ") + resource_path(r) + ": ";
        if (!reply) {
            failed(r, what + reply.error().message);
            co_return false;
        }
        absent[at(r)] = reply->status == 404 && cilium_kind(r).has_value();
        if (absent[at(r)]) { // Cilium's CRD is not installed: no such objects
            cache.apply_absent(r);
            co_return true;
        }
        if (reply->status != 200) {
            failed(r, what + http_problem(*reply, access.origin));
            co_return false;
        }
        const Json body = Json::parse(reply->body, nullptr, false);
        if (body.is_discarded()) {
            failed(r, what + "the response is not JSON");
            co_return false;
        }
        if (auto applied = cache.apply_list(r, body); !applied) {
            failed(r, what + applied.error().message);
            co_return false;
        }
        co_return true;
    }

    /// After a successful list: the first complete sync, or a relist's correction.
    void listed(K8sResource r, std::chrono::steady_clock::time_point received) {
        const bool relist = listed_once[at(r)];
        listed_once[at(r)] = true;
        reached(r);
        report_problems();
        if (!cache.all_listed())
            return;
        if (synced && relist)
            ++status.resyncs;
        if (!synced || relist) {
            synced = true;
            update_state();
            deliver(/*replace=*/true, received);
        }
    }

    /// The list+watch loop of one resource, until stop(). The loop holds
    /// `self`: a handler still queued after stop() finds its Impl alive.
    static awaitable<void> run(std::shared_ptr<Impl> self, K8sResource r) { co_await self->loop(r); }

    awaitable<void> loop(K8sResource r) {
        Backoff backoff;
        bool need_list = true;
        bool dropped = false; // the watch broke: the next one is a reconnect
        const auto idle = std::chrono::seconds(kWatchTimeoutS + 60);
        while (!stopped) {
            if (need_list) {
                if (!co_await list(r)) {
                    if (stopped)
                        co_return;
                    co_await pause(r, backoff);
                    continue;
                }
                need_list = false;
                if (absent[at(r)] && listed_once[at(r)]) {
                    // Looked again and still (or now) absent: not a relist. A
                    // CRD removed meanwhile took its objects: that goes out.
                    reached(r);
                    if (synced)
                        deliver(/*replace=*/false, std::chrono::steady_clock::now());
                } else {
                    listed(r, std::chrono::steady_clock::now());
                }
                if (absent[at(r)]) { // look again later: the CRD may be installed
                    boost::system::error_code ec;
                    timers[at(r)]->expires_after(kAbsentRelist);
                    co_await timers[at(r)]->async_wait(asio::redirect_error(asio::use_awaitable, ec));
                    need_list = true;
                    continue;
                }
            }
            const std::string target = watch_target(r, cache.resource_version(r), kWatchTimeoutS);
            auto opened = co_await client->watch(target, idle);
            if (stopped)
                co_return;
            if (!opened) {
                failed(r, "watch: " + opened.error().message);
                dropped = true;
                co_await pause(r, backoff);
                continue;
            }
            std::unique_ptr<WatchStream> stream = std::move(*opened);
            if (stream->status() == 410) { // the resourceVersion was compacted away
                std::fprintf(stderr, "podlaned: kubernetes: %s: resourceVersion %s expired (HTTP 410): relisting\n",
                             resource_name(r), cache.resource_version(r).c_str());
                need_list = true;
                continue;
            }
            if (stream->status() != 200) {
                failed(r, "watch: " + http_problem(stream->error_reply(), access.origin));
                dropped = true;
                co_await pause(r, backoff);
                continue;
            }
            if (dropped)
                ++status.reconnects;
            dropped = false;
            backoff.reset();
            reached(r);
            const auto started = std::chrono::steady_clock::now();
            co_await follow(r, *stream, need_list, dropped);
            // A server that ends every watch at once is not asked again at once.
            if (!stopped && !need_list && std::chrono::steady_clock::now() - started < std::chrono::seconds(1))
                co_await pause(r, backoff);
        }
    }

    /// Applies a running watch's events until it ends, breaks or expires.
    awaitable<void> follow(K8sResource r, WatchStream& stream, bool& need_list, bool& dropped) {
        for (;;) {
            auto lines = co_await stream.read_lines();
            if (stopped)
                co_return;
            const auto received = std::chrono::steady_clock::now();
            if (!lines) {
                std::fprintf(stderr, "podlaned: kubernetes: %s: the watch broke (%s): resuming from resourceVersion %s\n",
                             resource_name(r), lines.error().message.c_str(), cache.resource_version(r).c_str());
                dropped = true;
                co_return;
            }
            if (lines->empty()) // the server ended the watch (timeoutSeconds): resume it
                co_return;
            bool restart = false;
            for (const std::string& line : *lines) {
                const WatchOutcome out = cache.apply_event(r, Json::parse(line, nullptr, false));
                if (out.kind == WatchOutcome::Kind::Expired) {
                    std::fprintf(stderr, "podlaned: kubernetes: %s: %s (410 Gone): relisting\n", resource_name(r),
                                 out.message.c_str());
                    need_list = restart = true;
                    break;
                }
                if (out.kind == WatchOutcome::Kind::Failed) {
                    std::fprintf(stderr, "podlaned: kubernetes: %s: %s: restarting the watch\n", resource_name(r),
                                 out.message.c_str());
                    status.last_error = std::string(resource_name(r)) + ": " + out.message;
                    dropped = restart = true;
                    break;
                }
            }
            report_problems();
            if (synced)
                deliver(/*replace=*/false, received);
            if (restart)
                co_return;
        }
    }

    /// Writes LB IPAM's assignment into the Service's status.loadBalancer
    /// (PATCH .../status with the resourceVersion this node saw: if another
    /// node wrote first, the API server answers 409 and its record arrives
    /// through the watch). A 409 for an unrelated change is retried with the
    /// newer resourceVersion while the status still holds `recorded`.
    static awaitable<void> record(std::shared_ptr<Impl> self, std::string key, std::vector<Ipv4Addr> ips,
                                  std::vector<Ipv4Addr> recorded) {
        const size_t slash = key.find('/');
        const std::string target = "/api/v1/namespaces/" + key.substr(0, slash) + "/services/" +
                                   key.substr(slash + 1) + "/status";
        Json ingress = Json::array();
        for (Ipv4Addr ip : ips)
            ingress.push_back(Json{{"ip", ip.str()}});
        for (int attempt = 0; attempt < 5 && !self->stopped; ++attempt) {
            const K8sService* now = self->cache.service(key);
            if (!now || now->base.lbipam_recorded != recorded)
                co_return; // gone, or recorded by another node meanwhile
            const Json patch{{"metadata", {{"resourceVersion", self->cache.service_resource_version(key)}}},
                             {"status", {{"loadBalancer", {{"ingress", ingress}}}}}};
            auto reply = co_await self->client->patch(target, patch.dump());
            if (self->stopped)
                co_return;
            if (reply && reply->status == 200)
                co_return;
            const std::string why = reply ? http_problem(*reply, self->access.origin) : reply.error().message;
            if (!reply || reply->status != 409) {
                std::fprintf(stderr, "podlaned: kubernetes: PATCH %s: %s\n", target.c_str(), why.c_str());
                self->status.last_error = "PATCH " + target + ": " + why;
            }
            boost::system::error_code ec;
            asio::steady_timer wait(self->client->io(), std::chrono::milliseconds(300 << attempt));
            co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
    }
};

KubernetesSource::KubernetesSource(const Config& config, KubeAccess access)
    : impl_(std::make_shared<Impl>(config, std::move(access))) {
    impl_->status.kind = "kubernetes";
    impl_->status.endpoint = impl_->access.server;
}

KubernetesSource::~KubernetesSource() { stop(); }

Result<void> KubernetesSource::start(asio::io_context& io, Sink sink) {
    auto client = K8sClient::create(io, impl_->access, impl_->timeout);
    if (!client)
        return client.error();
    impl_->client = std::move(*client);
    impl_->sink = std::move(sink);
    impl_->stopped = false;
    for (K8sResource r : kK8sResources) {
        impl_->timers[Impl::at(r)] = std::make_unique<asio::steady_timer>(io);
        std::weak_ptr<Impl> weak = impl_;
        asio::co_spawn(io, Impl::run(impl_, r), [weak, r](std::exception_ptr e) {
            if (!e)
                return;
            std::string what = "unknown exception";
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                what = ex.what();
            } catch (...) {
            }
            std::fprintf(stderr, "podlaned: kubernetes: %s: the watch loop failed: %s\n", resource_name(r), what.c_str());
            if (auto impl = weak.lock()) {
                impl->status.state = SourceState::Error;
                impl->status.last_error = std::string(resource_name(r)) + ": the watch loop failed: " + what;
            }
        });
    }
    return {};
}

void KubernetesSource::stop() {
    if (!impl_ || impl_->stopped)
        return;
    impl_->stopped = true;
    impl_->sink = nullptr;
    if (impl_->client)
        impl_->client->cancel();
    for (auto& timer : impl_->timers)
        if (timer)
            timer->cancel();
}

void KubernetesSource::record_lb_ips(const std::string& service, const std::vector<Ipv4Addr>& ips,
                                     const std::vector<Ipv4Addr>& recorded) {
    if (!impl_ || impl_->stopped || !impl_->client)
        return;
    asio::co_spawn(impl_->client->io(), Impl::record(impl_, service, ips, recorded), asio::detached);
}

SourceStatus KubernetesSource::status() const {
    SourceStatus s = impl_->status;
    s.revision.clear();
    for (K8sResource r : kK8sResources) {
        const std::string& rv = impl_->cache.resource_version(r);
        if (cilium_kind(r) && rv.empty())
            continue; // Cilium's objects, absent or not listed yet: nothing to say
        s.revision += (s.revision.empty() ? "" : " ") + std::string(resource_name(r)) + "=" + (rv.empty() ? "-" : rv);
    }
    return s;
}

} // namespace podlane
