// Tests for the Kubernetes source's pure parts: converting recorded API
// objects (tests/data/k8s) into services and nodes, and reading kubeconfigs.
#include <catch2/catch.hpp>

#include <cstdio>
#include <unistd.h>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/config.h"
#include "control/etcd_client.h"
#include "control/k8s_convert.h"
#include "control/kubeconfig.h"

#ifndef PODLANE_SOURCE_DIR
#error "PODLANE_SOURCE_DIR must be defined"
#endif

using namespace podlane;
using Catch::Matchers::Contains;
using Json = nlohmann::json;

namespace {

Json recorded(const std::string& name) {
    std::ifstream f(std::string(PODLANE_SOURCE_DIR) + "/tests/data/k8s/" + name);
    REQUIRE(f);
    return Json::parse(f);
}

Config node1() {
    auto c = parse_config("node: {name: node1, ip: 192.168.50.11}\n"
                          "uplinks: [{name: eth0, devargs: net_null0}]\n"
                          "network: {pod_cidr: 10.210.1.0/24, gateway_ip: 10.210.1.1}\n",
                          "test");
    REQUIRE(c);
    return *c;
}

const Json& item(const Json& list, const std::string& key) {
    for (const Json& o : list["items"])
        if (k8s_key(o) == key)
            return o;
    FAIL("no " << key);
    static Json none;
    return none;
}

std::vector<const Json*> slices_of(const Json& slices, const std::string& svc) {
    std::vector<const Json*> out;
    for (const Json& s : slices["items"])
        if (k8s_slice_service(s) == svc)
            out.push_back(&s);
    return out;
}

std::string write_temp(const std::string& text) {
    char path[] = "/tmp/podlane-kubeconfig-XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    close(fd);
    return path;
}

} // namespace

TEST_CASE("a recorded Service with its EndpointSlice: named targetPort, ready and terminating endpoints", "[k8s]") {
    const Json services = recorded("services.list.json"), slices = recorded("endpointslices.list.json");
    auto web = k8s_service(item(services, "default/web"), slices_of(slices, "default/web"), node1());
    REQUIRE(web);
    REQUIRE(*web);
    const ServiceConfig& s = **web;
    CHECK(s.name == "default/web");
    CHECK(s.cluster_ip.str() == "10.96.0.10");
    REQUIRE(s.ports.size() == 1);
    CHECK(s.ports[0].port == 80);
    CHECK(s.ports[0].target_port == 8080); // "http-web", resolved through the slice's port named "http"
    REQUIRE(s.backends.size() == 3);       // 10.210.3.12 neither ready nor serving: left out
    CHECK(s.backends[0].ip.str() == "10.210.1.11");
    CHECK(s.backends[0].node == "node1");
    CHECK(s.backends[0].state == BackendState::Active);
    CHECK(s.backends[2].ip.str() == "10.210.2.12");
    CHECK(s.backends[2].state == BackendState::Terminating);
}

TEST_CASE("recorded NodePort and LoadBalancer services keep their policies, affinity and addresses", "[k8s]") {
    const Json services = recorded("services.list.json"), slices = recorded("endpointslices.list.json");
    auto api = k8s_service(item(services, "shop/api"), slices_of(slices, "shop/api"), node1());
    REQUIRE(api);
    REQUIRE(*api);
    CHECK((*api)->type == ServiceType::NodePort);
    CHECK((*api)->external_traffic_policy == TrafficPolicy::Local);
    CHECK((*api)->session_affinity);
    CHECK((*api)->session_affinity_timeout_s == 600);
    REQUIRE((*api)->ports.size() == 2);
    CHECK((*api)->ports[1].protocol == L4Proto::Udp);
    CHECK((*api)->ports[1].target_port == 5353);
    CHECK((*api)->ports[1].node_port == 30053);
    auto front = k8s_service(item(services, "shop/front"), slices_of(slices, "shop/front"), node1());
    REQUIRE(front);
    REQUIRE(*front);
    CHECK((*front)->type == ServiceType::LoadBalancer);
    REQUIRE((*front)->load_balancer_ips.size() == 1);
    CHECK((*front)->load_balancer_ips[0].str() == "192.168.70.30");
    CHECK((*front)->external_ips[0].str() == "192.168.60.30");
}

TEST_CASE("headless services are not load-balanced; bad ones are refused with their name", "[k8s]") {
    const Json services = recorded("services.list.json"), slices = recorded("endpointslices.list.json");
    auto headless = k8s_service(item(services, "default/headless"), slices_of(slices, "default/headless"), node1());
    REQUIRE(headless);
    CHECK_FALSE(*headless);
    Json bad = item(services, "default/web");
    bad["spec"]["ports"][0]["nodePort"] = 80; // ignored for ClusterIP; now a NodePort outside the range
    bad["spec"]["type"] = "NodePort";
    auto r = k8s_service(bad, {}, node1());
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("kubernetes default/web") && Contains("node_port"));
}

TEST_CASE("recorded Nodes become other nodes; this node is left out", "[k8s]") {
    const Json nodes = recorded("nodes.list.json");
    auto self = k8s_node(item(nodes, "node1"), node1());
    REQUIRE(self);
    CHECK_FALSE(*self);
    auto n2 = k8s_node(item(nodes, "node2"), node1());
    REQUIRE(n2);
    REQUIRE(*n2);
    CHECK((*n2)->ip.str() == "192.168.50.12");
    CHECK((*n2)->pod_cidrs.at(0).str() == "10.210.2.0/24");
    Json no_cidr = item(nodes, "node3");
    no_cidr["spec"] = Json::object();
    auto r = k8s_node(no_cidr, node1());
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("node3") && Contains("podCIDR"));
}

TEST_CASE("kubeconfig: current context, CA data, token and client certificates", "[k8s]") {
    const std::string path = write_temp(
        "apiVersion: v1\nkind: Config\ncurrent-context: b\n"
        "clusters:\n"
        "  - {name: ca, cluster: {server: https://10.0.0.1:6443, certificate-authority-data: " + base64_encode("CA-PEM") + "}}\n"
        "  - {name: cb, cluster: {server: https://10.0.0.2:6443, insecure-skip-tls-verify: true}}\n"
        "users:\n"
        "  - {name: ua, user: {token: tok-a}}\n"
        "  - {name: ub, user: {client-certificate-data: " + base64_encode("CERT") + ", client-key-data: " + base64_encode("KEY") + "}}\n"
        "contexts:\n"
        "  - {name: a, context: {cluster: ca, user: ua}}\n"
        "  - {name: b, context: {cluster: cb, user: ub}}\n");
    KubernetesSourceConfig c;
    c.kubeconfig = path;
    auto a = kube_access(c);
    REQUIRE(a);
    CHECK(a->server == "https://10.0.0.2:6443");
    CHECK(a->tls.insecure);
    CHECK(a->tls.client_cert_pem == "CERT");
    CHECK(a->tls.client_key_pem == "KEY");
    CHECK(a->token.empty());
    c.server = "https://127.0.0.1:7443";
    CHECK(kube_access(c)->server == "https://127.0.0.1:7443");
    std::remove(path.c_str());

    const std::string bad = write_temp("current-context: nope\ncontexts: []\n");
    c.kubeconfig = bad;
    auto r = kube_access(c);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("current-context \"nope\""));
    std::remove(bad.c_str());
}
