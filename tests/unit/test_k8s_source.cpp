// Tests for the Kubernetes source's conversion and watch handling, on the
// recorded API objects in tests/data/k8s (the lists a 3-node cluster's API
// server returns, and the watch events that follow them).
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "control/sources/k8s/k8s_cache.h"
#include "control/sources/k8s/k8s_convert.h"

#ifndef PODLANE_SOURCE_DIR
#error "PODLANE_SOURCE_DIR must be defined as the source tree's path, as a string literal"
#endif

using namespace podlane;
using Catch::Matchers::Contains;
using Json = nlohmann::json;

namespace {

std::string data_path(const std::string& name) { return PODLANE_SOURCE_DIR "/tests/data/k8s/" + name; }

Json load_json(const std::string& name) {
    std::ifstream f(data_path(name));
    REQUIRE(f);
    return Json::parse(f);
}

/// The recorded watch events of a resource, in order.
std::vector<Json> load_events(const std::string& name) {
    std::ifstream f(data_path(name));
    REQUIRE(f);
    std::vector<Json> out;
    for (std::string line; std::getline(f, line);)
        if (!line.empty())
            out.push_back(Json::parse(line));
    return out;
}

/// An item of a recorded list by "namespace/name" (or name).
Json item(const Json& list, const std::string& key) {
    for (const Json& obj : list["items"])
        if (object_key(obj) == key)
            return obj;
    FAIL("no " << key << " in the recorded list");
    return {};
}

/// This node as the recorded cluster knows it: node1, 192.168.50.11, 10.210.1.0/24.
ConvertSettings node1() {
    ConvertSettings s;
    s.node_name = "node1";
    s.node_ip = *Ipv4Addr::parse("192.168.50.11");
    s.pod_cidr = *Ipv4Prefix::parse("10.210.1.0/24");
    s.algorithm = LbAlgorithm::Maglev;
    return s;
}

Ipv4Addr ip(const char* text) { return *Ipv4Addr::parse(text); }

/// A cache with all three recorded lists applied (and no Cilium CRDs).
K8sCache synced_cache() {
    K8sCache cache(node1());
    REQUIRE(cache.apply_list(K8sResource::Nodes, load_json("nodes.json")));
    REQUIRE(cache.apply_list(K8sResource::Services, load_json("services.json")));
    REQUIRE(cache.apply_list(K8sResource::EndpointSlices, load_json("endpointslices.json")));
    for (K8sResource r : kK8sResources)
        if (cilium_kind(r))
            cache.apply_absent(r);
    return cache;
}

const ServiceConfig* find_service(const std::vector<ServiceConfig>& list, const std::string& name) {
    for (const ServiceConfig& s : list)
        if (s.name == name)
            return &s;
    return nullptr;
}

/// "ip state node" per backend, for compact comparisons.
std::vector<std::string> backends_of(const ServiceConfig& s) {
    std::vector<std::string> out;
    for (const BackendConfig& b : s.backends)
        out.push_back(b.ip.str() + (b.state == BackendState::Active ? " active " : " terminating ") + b.node);
    return out;
}

} // namespace

TEST_CASE("the recorded cluster converts into the nodes and services podlane serves", "[k8s]") {
    K8sCache cache = synced_cache();
    CHECK(cache.all_listed());
    const ClusterDelta d = cache.take_delta(/*replace=*/true);
    CHECK(d.replace);
    CHECK(cache.take_problems().empty()); // headless and ExternalName are skipped quietly

    // node1 is this node: only node2 and node3, with their InternalIP and podCIDRs.
    REQUIRE(d.upsert_nodes.size() == 2);
    CHECK(d.upsert_nodes[0] == PeerNodeConfig{.name = "node2", .ip = ip("192.168.50.12"),
                                              .pod_cidrs = {*Ipv4Prefix::parse("10.210.2.0/24")},
                                              .tunnel_mac = {}});
    CHECK(d.upsert_nodes[1].name == "node3");
    CHECK(d.upsert_nodes[1].ip == ip("192.168.50.13"));

    std::vector<std::string> names;
    for (const ServiceConfig& s : d.upsert_services)
        names.push_back(s.name);
    CHECK(names == std::vector<std::string>{"default/kubernetes", "default/web", "kube-system/kube-dns",
                                            "monitoring/prometheus", "shop/checkout", "shop/frontend"});

    // A named targetPort ("http") resolved through the slice; internalTrafficPolicy Local.
    const ServiceConfig* web = find_service(d.upsert_services, "default/web");
    REQUIRE(web);
    const ServiceConfig want_web{
        .name = "default/web",
        .type = ServiceType::ClusterIP,
        .cluster_ip = ip("10.96.100.10"),
        .external_ips = {},
        .load_balancer_ips = {},
        .ports = {{.name = "http", .protocol = L4Proto::Tcp, .port = 80, .target_port = 8080}},
        .internal_traffic_policy = TrafficPolicy::Local,
        .algorithm = LbAlgorithm::Maglev,
        .backends = {{.ip = ip("10.210.1.12"), .node = "node1"}, {.ip = ip("10.210.2.11"), .node = "node2"}},
        .labels = {{"app", "web"}},
    };
    CHECK(*web == want_web);

    // LoadBalancer: ingress IP, externalIPs, nodePort, ClientIP affinity with its
    // timeout; not-ready and not-serving endpoints are left out.
    const ServiceConfig* checkout = find_service(d.upsert_services, "shop/checkout");
    REQUIRE(checkout);
    CHECK(checkout->type == ServiceType::LoadBalancer);
    CHECK(checkout->load_balancer_ips.empty());
    CHECK(checkout->lbipam_recorded == std::vector<Ipv4Addr>{ip("192.168.70.10")}); // status.loadBalancer
    CHECK(checkout->external_ips == std::vector<Ipv4Addr>{ip("192.168.60.10")});
    REQUIRE(checkout->ports.size() == 1);
    CHECK(checkout->ports[0].port == 443);
    CHECK(checkout->ports[0].target_port == 8443);
    CHECK(checkout->ports[0].node_port == 31443);
    CHECK(checkout->session_affinity);
    CHECK(checkout->session_affinity_timeout_s == 600);
    CHECK(backends_of(*checkout) == std::vector<std::string>{"10.210.2.30 active node2"});

    // NodePort with externalTrafficPolicy Local, joined from two slices, one
    // endpoint terminating but still serving.
    const ServiceConfig* frontend = find_service(d.upsert_services, "shop/frontend");
    REQUIRE(frontend);
    CHECK(frontend->type == ServiceType::NodePort);
    CHECK(frontend->external_traffic_policy == TrafficPolicy::Local);
    CHECK(frontend->ports[0].node_port == 30080);
    CHECK(backends_of(*frontend) == std::vector<std::string>{"10.210.1.20 active node1", "10.210.2.20 active node2",
                                                             "10.210.3.20 terminating node3"});

    // Several ports, TCP and UDP; an endpoint without nodeName or serving/terminating conditions.
    const ServiceConfig* dns = find_service(d.upsert_services, "kube-system/kube-dns");
    REQUIRE(dns);
    REQUIRE(dns->ports.size() == 3);
    CHECK(dns->ports[0].protocol == L4Proto::Udp);
    CHECK(dns->ports[1].protocol == L4Proto::Tcp);
    CHECK(dns->ports[2].target_port == 9153);
    const ServiceConfig* api = find_service(d.upsert_services, "default/kubernetes");
    REQUIRE(api);
    CHECK(backends_of(*api) == std::vector<std::string>{"192.168.50.11 active "});
    CHECK(api->ports[0].target_port == 6443);
    const ServiceConfig* prom = find_service(d.upsert_services, "monitoring/prometheus");
    REQUIRE(prom);
    CHECK(prom->session_affinity_timeout_s == 10800);
    CHECK(prom->ports[0].target_port == 9090);
}

TEST_CASE("endpoint conditions decide a backend's state", "[k8s]") {
    const auto svc = convert_service(item(load_json("services.json"), "default/web"), node1());
    REQUIRE(svc);
    REQUIRE(*svc);
    Json slice = item(load_json("endpointslices.json"), "default/web-7xk2p");
    auto endpoint = [](const char* addr, Json conditions) {
        return Json{{"addresses", {addr}}, {"conditions", std::move(conditions)}};
    };
    slice["endpoints"] = Json::array({
        endpoint("10.210.1.31", {{"ready", true}, {"serving", true}, {"terminating", false}}),
        endpoint("10.210.1.32", {{"ready", false}, {"serving", true}, {"terminating", true}}),   // draining
        endpoint("10.210.1.33", {{"ready", false}, {"serving", false}, {"terminating", true}}),  // gone
        endpoint("10.210.1.34", {{"ready", false}, {"serving", false}, {"terminating", false}}), // not ready yet
        endpoint("10.210.1.35", Json::object()),                                                 // unknown: ready
        endpoint("10.210.1.36", {{"ready", false}}),                                             // not ready
    });
    const auto converted = convert_endpoint_slice(slice);
    REQUIRE(converted);
    std::vector<std::string> notes;
    const auto joined = join_service(**svc, {&*converted}, notes);
    REQUIRE(joined);
    CHECK(backends_of(*joined) == std::vector<std::string>{"10.210.1.31 active ", "10.210.1.32 terminating ",
                                                           "10.210.1.35 active "});
    CHECK(notes.empty());
}

TEST_CASE("a named targetPort takes the port the slices list under the service port's name", "[k8s]") {
    const auto svc = convert_service(item(load_json("services.json"), "default/web"), node1());
    REQUIRE(svc);
    REQUIRE(*svc);
    CHECK((*svc)->target_port_names == std::vector<std::string>{"http"});
    Json slice = item(load_json("endpointslices.json"), "default/web-7xk2p");
    std::vector<std::string> notes;

    SECTION("resolved by the slice") {
        slice["ports"][0]["port"] = 9000;
        const auto s = convert_endpoint_slice(slice);
        REQUIRE(s);
        auto joined = join_service(**svc, {&*s}, notes);
        REQUIRE(joined);
        CHECK(joined->ports[0].target_port == 9000);
    }
    SECTION("no slice yet: the port stays, without backends") {
        auto joined = join_service(**svc, {}, notes);
        REQUIRE(joined);
        REQUIRE(joined->ports.size() == 1);
        CHECK(joined->backends.empty());
        CHECK(notes.empty());
    }
    SECTION("backends but no port of that name: the port cannot be served") {
        slice["ports"][0]["name"] = "metrics";
        const auto s = convert_endpoint_slice(slice);
        REQUIRE(s);
        auto joined = join_service(**svc, {&*s}, notes);
        REQUIRE_FALSE(joined);
        CHECK_THAT(joined.error().message, Contains("default/web"));
        REQUIRE(notes.size() == 1);
        CHECK_THAT(notes[0], Contains("targetPort \"http\"") && Contains("no EndpointSlice lists a port named \"http\""));
    }
}

TEST_CASE("headless and ExternalName services are not load-balanced", "[k8s]") {
    const Json services = load_json("services.json");
    for (const char* name : {"shop/cart", "shop/payments-gateway"}) {
        auto r = convert_service(item(services, name), node1());
        REQUIRE(r);
        CHECK_FALSE(*r);
    }
}

TEST_CASE("unsupported parts of a service are left out and noted", "[k8s]") {
    Json svc = item(load_json("services.json"), "shop/frontend");
    svc["spec"]["ports"].push_back({{"name", "diameter"}, {"protocol", "SCTP"}, {"port", 3868}, {"targetPort", 3868},
                                    {"nodePort", 30868}});
    svc["spec"]["ports"][0]["nodePort"] = 29080; // outside podlane's nodeport_range
    auto r = convert_service(svc, node1());
    REQUIRE(r);
    REQUIRE(*r);
    const K8sService& k = **r;
    REQUIRE(k.base.ports.size() == 1);
    CHECK(k.base.ports[0].node_port == 0);
    REQUIRE(k.notes.size() == 2);
    CHECK_THAT(k.notes[0], Contains("spec.ports[0].nodePort 29080") && Contains("nodeport_range 30000-32767"));
    CHECK_THAT(k.notes[1], Contains("spec.ports[1]") && Contains("SCTP"));
}

TEST_CASE("objects that cannot be converted are skipped and reported by name, once", "[k8s]") {
    K8sCache cache = synced_cache();
    (void)cache.take_delta(true);
    auto services = load_events("services.watch.jsonl");
    Json bad = services[0]; // ADDED default/api
    bad["object"]["spec"]["clusterIP"] = "10.96.100.300";
    bad["object"]["spec"]["clusterIPs"] = {"10.96.100.300"};
    CHECK(cache.apply_event(K8sResource::Services, bad).kind == WatchOutcome::Kind::Applied);
    auto problems = cache.take_problems();
    REQUIRE(problems.size() == 1);
    CHECK_THAT(problems[0], Contains("Service default/api") && Contains("spec.clusterIP") &&
                                Contains("10.96.100.300") && Contains("skipped"));
    CHECK(cache.take_delta(false).empty());
    bad["object"]["metadata"]["resourceVersion"] = "48241";
    cache.apply_event(K8sResource::Services, bad); // the same problem again: not repeated
    CHECK(cache.take_problems().empty());

    Json node = load_events("nodes.watch.jsonl")[1]; // ADDED node4
    node["object"]["spec"]["podCIDRs"] = {"10.210.1.0/25"};
    cache.apply_event(K8sResource::Nodes, node);
    problems = cache.take_problems();
    REQUIRE(problems.size() == 1);
    CHECK_THAT(problems[0], Contains("Node node4") && Contains("spec.podCIDRs[0]") && Contains("overlaps this node's PodCIDR"));
    node["object"]["status"]["addresses"] = Json::array();
    cache.apply_event(K8sResource::Nodes, node);
    problems = cache.take_problems();
    REQUIRE(problems.size() == 1);
    CHECK_THAT(problems[0], Contains("Node node4") && Contains("no IPv4 InternalIP"));
    CHECK(cache.take_delta(false).empty());
}

TEST_CASE("watch events change the state; bookmarks only advance the resourceVersion", "[k8s]") {
    K8sCache cache = synced_cache();
    (void)cache.take_delta(true);
    CHECK(cache.resource_version(K8sResource::EndpointSlices) == "48213");
    const auto slices = load_events("endpointslices.watch.jsonl");

    // A web pod starts terminating, another starts on node3.
    CHECK(cache.apply_event(K8sResource::EndpointSlices, slices[0]).kind == WatchOutcome::Kind::Applied);
    CHECK(cache.resource_version(K8sResource::EndpointSlices) == "48230");
    ClusterDelta d = cache.take_delta(false);
    CHECK_FALSE(d.replace);
    REQUIRE(d.upsert_services.size() == 1);
    CHECK(backends_of(d.upsert_services[0]) == std::vector<std::string>{"10.210.1.12 active node1",
                                                                        "10.210.2.11 terminating node2",
                                                                        "10.210.3.12 active node3"});
    // The bookmark: a new resourceVersion, nothing else.
    CHECK(cache.apply_event(K8sResource::EndpointSlices, slices[1]).kind == WatchOutcome::Kind::Bookmark);
    CHECK(cache.resource_version(K8sResource::EndpointSlices) == "48236");
    CHECK(cache.take_delta(false).empty());
    // The terminating pod is gone; a frontend slice is deleted.
    cache.apply_event(K8sResource::EndpointSlices, slices[2]);
    cache.apply_event(K8sResource::EndpointSlices, slices[3]);
    d = cache.take_delta(false);
    REQUIRE(d.upsert_services.size() == 2);
    CHECK(d.upsert_services[0].name == "default/web");
    CHECK(d.upsert_services[0].backends.size() == 2);
    CHECK(d.upsert_services[1].name == "shop/frontend");
    CHECK(backends_of(d.upsert_services[1]) == std::vector<std::string>{"10.210.1.20 active node1",
                                                                        "10.210.2.20 active node2"});

    // A new service, first without endpoints, then with its slice.
    const auto services = load_events("services.watch.jsonl");
    cache.apply_event(K8sResource::Services, services[0]);
    d = cache.take_delta(false);
    REQUIRE(d.upsert_services.size() == 1);
    CHECK(d.upsert_services[0].name == "default/api");
    CHECK(d.upsert_services[0].ports[0].node_port == 30090);
    CHECK(d.upsert_services[0].backends.empty());
    cache.apply_event(K8sResource::EndpointSlices, slices[4]);
    d = cache.take_delta(false);
    REQUIRE(d.upsert_services.size() == 1);
    CHECK(backends_of(d.upsert_services[0]) == std::vector<std::string>{"10.210.1.11 active node1"});
    // A deleted service.
    CHECK(cache.apply_event(K8sResource::Services, services[1]).kind == WatchOutcome::Kind::Bookmark);
    cache.apply_event(K8sResource::Services, services[2]);
    d = cache.take_delta(false);
    CHECK(d.upsert_services.empty());
    CHECK(d.delete_services == std::vector<std::string>{"monitoring/prometheus"});

    // A node status update changes nothing podlane uses; a new node does.
    const auto nodes = load_events("nodes.watch.jsonl");
    CHECK(cache.apply_event(K8sResource::Nodes, nodes[0]).kind == WatchOutcome::Kind::Applied);
    CHECK(cache.resource_version(K8sResource::Nodes) == "48233");
    CHECK(cache.take_delta(false).empty());
    cache.apply_event(K8sResource::Nodes, nodes[1]);
    d = cache.take_delta(false);
    REQUIRE(d.upsert_nodes.size() == 1);
    CHECK(d.upsert_nodes[0].name == "node4");
    CHECK(d.upsert_nodes[0].pod_cidrs == std::vector<Ipv4Prefix>{*Ipv4Prefix::parse("10.210.4.0/24")});
}

TEST_CASE("an ERROR 410 asks for a relist, whose replace delta corrects the state", "[k8s]") {
    K8sCache cache = synced_cache();
    (void)cache.take_delta(true);
    const Json gone = {{"type", "ERROR"},
                       {"object", {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", Json::object()},
                                   {"status", "Failure"}, {"message", "too old resource version: 48213 (48263)"},
                                   {"reason", "Expired"}, {"code", 410}}}};
    const WatchOutcome out = cache.apply_event(K8sResource::EndpointSlices, gone);
    CHECK(out.kind == WatchOutcome::Kind::Expired);
    CHECK(out.message == "too old resource version: 48213 (48263)");
    CHECK(cache.resource_version(K8sResource::EndpointSlices) == "48213"); // unchanged until the relist

    // Meanwhile a frontend slice was deleted (the events the watch missed).
    Json list = load_json("endpointslices.json");
    list["metadata"]["resourceVersion"] = "48263";
    auto& items = list["items"];
    items.erase(std::remove_if(items.begin(), items.end(),
                               [](const Json& o) { return object_key(o) == "shop/frontend-h8w4q"; }),
                items.end());
    REQUIRE(cache.apply_list(K8sResource::EndpointSlices, list));
    CHECK(cache.resource_version(K8sResource::EndpointSlices) == "48263");
    const ClusterDelta d = cache.take_delta(/*replace=*/true);
    CHECK(d.replace);
    CHECK(d.upsert_services.size() == 6);
    const ServiceConfig* frontend = find_service(d.upsert_services, "shop/frontend");
    REQUIRE(frontend);
    CHECK(frontend->backends.size() == 2);

    const Json other = {{"type", "ERROR"}, {"object", {{"kind", "Status"}, {"code", 500}, {"message", "etcd timeout"}}}};
    const WatchOutcome failed = cache.apply_event(K8sResource::Services, other);
    CHECK(failed.kind == WatchOutcome::Kind::Failed);
    CHECK_THAT(failed.message, Contains("500") && Contains("etcd timeout"));
    CHECK(cache.apply_event(K8sResource::Services, Json("garbage")).kind == WatchOutcome::Kind::Failed);
}

TEST_CASE("a list that is not a list is refused", "[k8s]") {
    K8sCache cache(node1());
    CHECK_FALSE(cache.apply_list(K8sResource::Nodes, Json{{"kind", "Status"}, {"code", 403}}));
    CHECK_FALSE(cache.apply_list(K8sResource::Nodes, Json{{"items", Json::array()}})); // no resourceVersion
    CHECK_FALSE(cache.listed(K8sResource::Nodes));
}

TEST_CASE("watch requests resume from a resourceVersion with bookmarks", "[k8s]") {
    CHECK(watch_target(K8sResource::EndpointSlices, "48236", 300) ==
          "/apis/discovery.k8s.io/v1/endpointslices?watch=1&resourceVersion=48236&allowWatchBookmarks=true&timeoutSeconds=300");
    CHECK(resource_path(K8sResource::Nodes) == "/api/v1/nodes");
    CHECK(resource_path(K8sResource::Services) == "/api/v1/services");
}
