// Cluster-state source benchmark (issue #16): what a source's own thread
// spends turning what etcd sends into a ClusterDelta, per service, before
// the agent sees it. No EAL, no network: the input is the text the etcd JSON
// gateway streams, built in memory.
//
//   etcd     N services of B backends (the values tests/integration/
//            etcd_put_services.py writes), in watch messages of --batch
//            events (a 128-put transaction of `podlane kvstore apply` is
//            one): the message's JSON parse and base64 decode
//            (parse_watch_message), then EtcdObjects::apply (validation,
//            ServiceConfig). Time per service for each part, and in all.
//
//   k8s      (--k8s DIR) the watch events of a data directory of
//            fake_kube_api.py (tests/integration/k8s_scale_data.py writes N
//            Services and N EndpointSlices ADDED): each line parsed and
//            applied to a K8sCache (convert, join), a delta taken every
//            --batch lines as the source takes one per read. Time per event.
//
//   bench_sources [--services N] [--backends B] [--batch K] [--runs R] [--k8s DIR] [--json]
//
// Under callgrind (--toggle-collect='*decode_all*'), instructions per
// service = Collected / N / R.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/config/config.h"
#include "control/sources/etcd/etcd_client.h"
#include "control/sources/etcd/etcd_objects.h"
#include "control/sources/k8s/k8s_cache.h"

#include <fstream>

namespace {

using namespace podlane;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

struct Options {
    uint32_t services = 10000;
    uint32_t backends = 10;
    uint32_t batch = 128;
    uint32_t runs = 3;
    std::string k8s_dir;
    bool json = false;
};

[[noreturn]] void usage(const char* msg) {
    std::fprintf(stderr,
                 "bench_sources: %s\nusage: bench_sources [--services N] [--backends B] [--batch K] [--runs R] [--json]\n",
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
        else if (a == "--batch") o.batch = next();
        else if (a == "--runs") o.runs = std::max(1u, next());
        else if (a == "--json") o.json = true;
        else if (a == "--k8s" && i + 1 < argc) o.k8s_dir = argv[++i];
        else usage(("unknown argument " + a).c_str());
    }
    if (o.services == 0 || o.services > 62500 || o.backends == 0 || o.backends > 100 || o.batch == 0)
        usage("--services 1..62500, --backends 1..100, --batch 1..");
    return o;
}

/// Service i as etcd_put_services.py writes it (json.dumps of the same object).
std::string service_value(uint32_t i, uint32_t backends) {
    char name[32];
    std::snprintf(name, sizeof name, "scale/apply-%05u", i);
    Json backend_list = Json::array();
    for (uint32_t k = 0; k < backends; ++k) {
        const uint32_t n = i * backends + k;
        backend_list.push_back(Json{{"ip", "10.211." + std::to_string(n / 250 % 250) + "." + std::to_string(n % 250 + 1)}});
    }
    Json svc = Json::object();
    svc["name"] = name;
    svc["cluster_ip"] = "10.96." + std::to_string(128 + i / 250) + "." + std::to_string(i % 250 + 1);
    svc["ports"] = Json::array({Json{{"name", "http"}, {"port", 80}, {"target_port", 8080}}});
    svc["backends"] = std::move(backend_list);
    return svc.dump();
}

/// The watch messages (one JSON text each) carrying every service, `batch` a message.
std::vector<std::string> watch_messages(const Options& o) {
    std::vector<std::string> out;
    Json events = Json::array();
    int64_t revision = 100;
    for (uint32_t i = 0; i < o.services; ++i) {
        char key[64];
        std::snprintf(key, sizeof key, "/podlane/services/scale/apply-%05u", i);
        events.push_back(Json{{"kv",
                               {{"key", base64_encode(key)},
                                {"value", base64_encode(service_value(i, o.backends))},
                                {"mod_revision", std::to_string(revision)}}}});
        if (events.size() == o.batch || i + 1 == o.services) {
            out.push_back(Json{{"result", {{"header", {{"revision", std::to_string(revision)}}}, {"events", events}}}}.dump());
            events = Json::array();
            ++revision;
        }
    }
    return out;
}

struct Times {
    double decode_s = 0; ///< JSON parse + base64 (parse_watch_message)
    double objects_s = 0; ///< EtcdObjects::apply
    size_t services = 0;
    size_t errors = 0;
};

/// Decodes every message and makes its delta, as the etcd source's watch thread does.
__attribute__((noinline)) Times decode_all(const std::vector<std::string>& messages, EtcdObjects& objects) {
    Times t;
    for (const std::string& text : messages) {
        const auto t0 = Clock::now();
        auto r = parse_watch_message(Json::parse(text));
        const auto t1 = Clock::now();
        if (!r) {
            std::fprintf(stderr, "bench_sources: %s\n", r.error().message.c_str());
            std::exit(1);
        }
        std::vector<std::string> errors;
        ClusterDelta d = objects.apply(r->events, errors);
        const auto t2 = Clock::now();
        t.decode_s += std::chrono::duration<double>(t1 - t0).count();
        t.objects_s += std::chrono::duration<double>(t2 - t1).count();
        t.services += d.upsert_services.size();
        t.errors += errors.size();
        for (const std::string& e : errors)
            std::fprintf(stderr, "bench_sources: %s\n", e.c_str());
    }
    return t;
}

std::vector<std::string> lines_of(const std::string& path) {
    std::ifstream f(path);
    if (!f) {
        std::fprintf(stderr, "bench_sources: cannot read %s\n", path.c_str());
        std::exit(1);
    }
    std::vector<std::string> out;
    for (std::string line; std::getline(f, line);)
        if (!line.empty())
            out.push_back(line);
    return out;
}

/// The k8s scenario: every recorded Service, then every EndpointSlice, event.
int run_k8s(const Options& o, const Config& cfg) {
    const std::vector<std::string> services = lines_of(o.k8s_dir + "/services.watch.jsonl");
    const std::vector<std::string> slices = lines_of(o.k8s_dir + "/endpointslices.watch.jsonl");
    std::vector<double> us;
    size_t upserts = 0, deltas = 0;
    for (uint32_t run = 0; run < o.runs; ++run) {
        K8sCache cache(ConvertSettings::from(cfg));
        upserts = deltas = 0;
        const auto t0 = Clock::now();
        for (const auto* list : {&services, &slices}) {
            const K8sResource r = list == &services ? K8sResource::Services : K8sResource::EndpointSlices;
            for (size_t i = 0; i < list->size(); ++i) {
                cache.apply_event(r, Json::parse((*list)[i], nullptr, false));
                if ((i + 1) % o.batch == 0 || i + 1 == list->size()) {
                    ClusterDelta d = cache.take_delta(false);
                    upserts += d.upsert_services.size();
                    ++deltas;
                }
            }
        }
        us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count() /
                     static_cast<double>(services.size() + slices.size()));
    }
    std::sort(us.begin(), us.end());
    const double per_event = us[us.size() / 2];
    if (o.json)
        std::printf("{\"source\": \"kubernetes\", \"events\": %zu, \"batch\": %u, \"deltas\": %zu, "
                    "\"service_upserts\": %zu, \"us_per_event\": %.2f}\n",
                    services.size() + slices.size(), o.batch, deltas, upserts, per_event);
    else
        std::printf("kubernetes: %zu Service and %zu EndpointSlice events, a delta every %u: %zu deltas, %zu service "
                    "upserts\n  per event (JSON parse, convert, join, delta): %.2f us (median of %u runs): %.0f events a second\n",
                    services.size(), slices.size(), o.batch, deltas, upserts, per_event, o.runs, 1e6 / per_event);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    auto cfg = parse_config("node: {name: bench, ip: 192.168.50.11}\n"
                            "network: {pod_cidr: 10.210.1.0/24, gateway_ip: 10.210.1.1}\n"
                            "source: {kind: etcd, etcd: {endpoints: ['http://192.168.50.2:2379']}}\n",
                            "bench_sources");
    if (!cfg) {
        std::fprintf(stderr, "bench_sources: %s\n", cfg.error().message.c_str());
        return 1;
    }
    if (!o.k8s_dir.empty())
        return run_k8s(o, *cfg);
    EtcdObjects objects(*cfg, "/podlane/");
    const std::vector<std::string> messages = watch_messages(o);
    size_t bytes = 0;
    for (const std::string& m : messages)
        bytes += m.size();
    std::vector<double> decode_us, objects_us, total_us;
    for (uint32_t run = 0; run < o.runs; ++run) {
        const Times t = decode_all(messages, objects);
        if (t.services != o.services || t.errors != 0) {
            std::fprintf(stderr, "bench_sources: %zu of %u services, %zu errors\n", t.services, o.services, t.errors);
            return 1;
        }
        decode_us.push_back(t.decode_s * 1e6 / o.services);
        objects_us.push_back(t.objects_s * 1e6 / o.services);
        total_us.push_back((t.decode_s + t.objects_s) * 1e6 / o.services);
    }
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    const double total = median(total_us);
    if (o.json) {
        std::printf("{\"source\": \"etcd\", \"services\": %u, \"backends_per_service\": %u, \"batch\": %u, "
                    "\"messages\": %zu, \"bytes\": %zu, \"decode_us_per_service\": %.2f, "
                    "\"objects_us_per_service\": %.2f, \"total_us_per_service\": %.2f, \"services_per_s\": %.0f}\n",
                    o.services, o.backends, o.batch, messages.size(), bytes, median(decode_us), median(objects_us),
                    total, 1e6 / total);
    } else {
        std::printf("etcd: %u services x %u backends in %zu watch messages of %u events (%.1f MB)\n", o.services,
                    o.backends, messages.size(), o.batch, static_cast<double>(bytes) / 1e6);
        std::printf("  per service: decode (JSON, base64) %.2f us, objects (validate, ServiceConfig) %.2f us, "
                    "total %.2f us (median of %u runs): %.0f services a second\n",
                    median(decode_us), median(objects_us), total, o.runs, 1e6 / total);
    }
    return 0;
}
