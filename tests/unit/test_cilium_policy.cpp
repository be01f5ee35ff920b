// Tests for Cilium's BGP and LB IPAM objects as podlane reads them
// (sources/cilium/cilium_policy.h), label selectors, ClusterIP advertisement
// under internalTrafficPolicy, and LB IPAM's recorded (sticky) assignments.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "control/bgp/bgp_routes.h"
#include "control/lbipam/lb_ipam.h"
#include "control/sources/cilium/cilium_policy.h"
#include "control/sources/etcd/etcd_objects.h"
#include "control/sources/k8s/k8s_cache.h"

using namespace podlane;
using Catch::Matchers::Contains;
using Json = nlohmann::json;

namespace {

Ipv4Addr ip(const char* s) { return *Ipv4Addr::parse(s); }

/// The seed lab's objects (CloudNet@ Cilium study, week 5): one cluster
/// config for nodes labelled enable-bgp=true, the peer config with 9/3 s
/// timers and graceful restart, PodCIDR and LoadBalancerIP advertisements,
/// and the 172.16.1.0/24 pool.
CiliumObjects lab_objects() {
    CiliumObjects o;
    o.of(CiliumKind::BgpClusterConfig)["cilium-bgp"] = Json::parse(R"({
      "apiVersion": "cilium.io/v2", "kind": "CiliumBGPClusterConfig", "metadata": {"name": "cilium-bgp"},
      "spec": {"nodeSelector": {"matchLabels": {"enable-bgp": "true"}},
               "bgpInstances": [{"name": "instance-65001", "localASN": 65001,
                 "peers": [{"name": "tor-switch", "peerASN": 65000, "peerAddress": "192.168.10.200",
                            "peerConfigRef": {"name": "cilium-peer"}}]}]}})");
    o.of(CiliumKind::BgpPeerConfig)["cilium-peer"] = Json::parse(R"({
      "metadata": {"name": "cilium-peer"},
      "spec": {"timers": {"holdTimeSeconds": 9, "keepAliveTimeSeconds": 3}, "ebgpMultihop": 2,
               "gracefulRestart": {"enabled": true, "restartTimeSeconds": 15},
               "families": [{"afi": "ipv4", "safi": "unicast", "advertisements": {"matchLabels": {"advertise": "bgp"}}}]}})");
    o.of(CiliumKind::BgpAdvertisement)["bgp-advertisements"] = Json::parse(R"({
      "metadata": {"name": "bgp-advertisements", "labels": {"advertise": "bgp"}},
      "spec": {"advertisements": [{"advertisementType": "PodCIDR"}]}})");
    o.of(CiliumKind::BgpAdvertisement)["bgp-advertisements-lb-exip-webpod"] = Json::parse(R"({
      "metadata": {"name": "bgp-advertisements-lb-exip-webpod", "labels": {"advertise": "bgp"}},
      "spec": {"advertisements": [{"advertisementType": "Service", "service": {"addresses": ["LoadBalancerIP"]},
               "selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["webpod"]}]}}]}})");
    o.of(CiliumKind::BgpAdvertisement)["other"] = Json::parse(R"({
      "metadata": {"name": "other", "labels": {"advertise": "elsewhere"}},
      "spec": {"advertisements": [{"advertisementType": "Service", "service": {"addresses": ["ClusterIP"]},
               "selector": {"matchLabels": {"app": "webpod"}}}]}})");
    o.of(CiliumKind::LoadBalancerIPPool)["cilium-pool"] = Json::parse(R"({
      "metadata": {"name": "cilium-pool"}, "spec": {"allowFirstLastIPs": "No", "blocks": [{"cidr": "172.16.1.0/24"}]}})");
    return o;
}

CiliumNodeFacts node1(LabelMap labels = {{"enable-bgp", "true"}}) {
    return CiliumNodeFacts{.name = "node1", .ip = ip("192.168.10.100"), .labels = std::move(labels)};
}

ServiceConfig service(const std::string& name, const char* cluster_ip, LabelMap labels = {}) {
    ServiceConfig s;
    s.name = name;
    s.type = ServiceType::LoadBalancer;
    s.cluster_ip = ip(cluster_ip);
    s.ports = {ServicePortConfig{.name = "", .port = 80}};
    s.labels = std::move(labels);
    return s;
}

} // namespace

TEST_CASE("cilium: the seed lab's objects become an instance, a peer, advertisements and a pool", "[cilium]") {
    const CiliumPolicy p = convert_cilium_objects(lab_objects(), node1());
    INFO((p.problems.empty() ? std::string() : p.problems[0]));
    CHECK(p.problems.empty());
    REQUIRE(p.bgp_instances.size() == 1);
    const BgpInstanceConfig& in = p.bgp_instances[0];
    CHECK(in.name == "instance-65001");
    CHECK(in.local_asn == 65001);
    CHECK(in.router_id == ip("192.168.10.100")); // the node IP
    REQUIRE(in.peers.size() == 1);
    const BgpPeerConfig& peer = in.peers[0];
    CHECK(peer.name == "tor-switch");
    CHECK(peer.address == ip("192.168.10.200"));
    CHECK(peer.peer_asn == 65000);
    CHECK(peer.hold_time_s == 9);
    CHECK(peer.keepalive_time_s == 3);
    CHECK(peer.ebgp_multihop == 2);
    CHECK(peer.graceful_restart);
    CHECK(peer.restart_time_s == 15);
    // advertise=bgp picks two advertisements; "other" is not selected.
    CHECK(in.advertise.pod_cidr);
    REQUIRE(in.advertise.services.size() == 1);
    CHECK(in.advertise.services[0].load_balancer_ips);
    CHECK_FALSE(in.advertise.services[0].cluster_ips);
    REQUIRE(p.lb_ipam.pools.size() == 1);
    CHECK(p.lb_ipam.pools[0].name == "cilium-pool");
    CHECK(p.lb_ipam.pools[0].blocks[0].text == "172.16.1.0/24");
    CHECK_FALSE(p.lb_ipam.pools[0].allow_first_last_ips);
}

TEST_CASE("cilium: a node the nodeSelector does not match gets no instance; pools apply everywhere", "[cilium]") {
    const CiliumPolicy p = convert_cilium_objects(lab_objects(), node1({{"enable-bgp", "false"}}));
    CHECK(p.bgp_instances.empty());
    CHECK(p.lb_ipam.pools.size() == 1);
}

TEST_CASE("cilium: bad objects are left out with the kind, name and key", "[cilium]") {
    CiliumObjects o = lab_objects();
    o.of(CiliumKind::BgpPeerConfig)["cilium-peer"]["spec"]["timers"]["holdTimeSeconds"] = 2;
    o.of(CiliumKind::LoadBalancerIPPool)["bad-pool"] =
        Json::parse(R"({"metadata": {"name": "bad-pool"}, "spec": {"blocks": [{"cidr": "172.16.300.0/24"}]}})");
    o.of(CiliumKind::BgpAdvertisement)["weird"] = Json::parse(
        R"({"metadata": {"name": "weird", "labels": {"advertise": "bgp"}}, "spec": {"advertisements": [{"advertisementType": "Interface"}]}})");
    const CiliumPolicy p = convert_cilium_objects(o, node1());
    std::string all;
    for (const std::string& s : p.problems)
        all += s + "\n";
    CHECK_THAT(all, Contains("CiliumBGPPeerConfig cilium-peer: spec.timers.holdTimeSeconds: 2 is out of range: expected 3..65535"));
    CHECK_THAT(all, Contains("CiliumBGPClusterConfig cilium-bgp: spec.bgpInstances[0].peers[0].peerConfigRef.name: "
                             "CiliumBGPPeerConfig cilium-peer: spec.timers.holdTimeSeconds"));
    CHECK_THAT(all, Contains("CiliumLoadBalancerIPPool bad-pool: spec.blocks[0].cidr: \"172.16.300.0/24\" is not an IPv4 CIDR"));
    CHECK_THAT(all, Contains("CiliumBGPAdvertisement weird: spec.advertisements[0].advertisementType: \"Interface\" is not supported"));
    CHECK(p.bgp_instances.empty()); // its only peer was left out
    REQUIRE(p.lb_ipam.pools.size() == 1);
    CHECK(p.lb_ipam.pools[0].name == "cilium-pool");
}

TEST_CASE("cilium: the config file's instances and pools come first; clashing cluster ones are left out", "[cilium]") {
    Config file;
    file.bgp.instances.push_back(BgpInstanceConfig{.name = "instance-65001", .local_asn = 65001});
    file.lb_ipam.pools.push_back(LbIpamPoolConfig{.name = "local"});
    CiliumPolicy p = convert_cilium_objects(lab_objects(), node1());
    add_file_policy(file, p);
    REQUIRE(p.bgp_instances.size() == 1);
    CHECK(p.bgp_instances[0].peers.empty()); // the file's
    REQUIRE(p.lb_ipam.pools.size() == 2);
    CHECK(p.lb_ipam.pools[0].name == "local");
    CHECK(p.lb_ipam.pools[1].name == "cilium-pool");
    REQUIRE(p.problems.size() == 1);
    CHECK_THAT(p.problems[0], Contains("instance instance-65001 is also in the config file's bgp.instances"));
}

TEST_CASE("cilium: label selectors (matchLabels, In, NotIn, Exists, DoesNotExist)", "[cilium]") {
    auto sel = parse_json_label_selector(Json::parse(R"({"matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]},
                             {"key": "env", "operator": "NotIn", "values": ["prod"]},
                             {"key": "team", "operator": "Exists"},
                             {"key": "legacy", "operator": "DoesNotExist"}]})"),
                                         "spec.serviceSelector");
    REQUIRE(sel.ok());
    CHECK(sel->matches({{"app", "web"}, {"tier", "a"}, {"team", "x"}}));
    CHECK_FALSE(sel->matches({{"app", "web"}, {"tier", "c"}, {"team", "x"}}));
    CHECK_FALSE(sel->matches({{"app", "web"}, {"tier", "a"}, {"team", "x"}, {"env", "prod"}}));
    CHECK_FALSE(sel->matches({{"app", "web"}, {"tier", "a"}}));
    CHECK_FALSE(sel->matches({{"app", "web"}, {"tier", "a"}, {"team", "x"}, {"legacy", "1"}}));
    CHECK(LabelSelector{}.matches({}));
    auto bad = parse_json_label_selector(Json::parse(R"({"matchExpressions": [{"key": "a", "operator": "Near"}]})"),
                                         "spec.selector");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message == "spec.selector.matchExpressions[0].operator: \"Near\" is not In, NotIn, Exists or DoesNotExist");
}

TEST_CASE("cilium: a pool's serviceSelector picks services by label and by Cilium's namespace label", "[cilium]") {
    CiliumObjects o;
    o.of(CiliumKind::LoadBalancerIPPool)["web"] = Json::parse(
        R"({"metadata": {"name": "web"}, "spec": {"blocks": [{"start": "172.16.2.10", "stop": "172.16.2.11"}],
            "serviceSelector": {"matchLabels": {"app": "web"}}}})");
    o.of(CiliumKind::LoadBalancerIPPool)["shop"] = Json::parse(
        R"({"metadata": {"name": "shop"}, "spec": {"blocks": [{"cidr": "172.16.3.0/30"}], "allowFirstLastIPs": "Yes",
            "serviceSelector": {"matchLabels": {"io.kubernetes.service.namespace": "shop"}}}})");
    const CiliumPolicy p = convert_cilium_objects(o, node1());
    REQUIRE(p.problems.empty());
    std::vector<ServiceConfig> services = {service("default/other", "10.96.0.3"),
                                           service("default/web", "10.96.0.1", {{"app", "web"}}),
                                           service("shop/cart", "10.96.0.2")};
    const LbIpamResult r = assign_lb_ips(p.lb_ipam, services);
    apply_lb_ipam(r, services);
    CHECK(services[0].lb_ipam.pending == "no pool selects this service");
    CHECK(services[1].lb_ipam.ips == std::vector<Ipv4Addr>{ip("172.16.2.10")});
    CHECK(services[2].lb_ipam.ips == std::vector<Ipv4Addr>{ip("172.16.3.0")}); // allowFirstLastIPs: Yes
}

TEST_CASE("lb-ipam: a recorded assignment stays when a service sorting first arrives", "[cilium][lbipam]") {
    LbIpamConfig cfg;
    cfg.pools.push_back(LbIpamPoolConfig{.name = "blue",
                                         .blocks = {LbIpamBlock{.first = ip("172.16.1.0"), .last = ip("172.16.1.255"),
                                                                .cidr = true, .text = "172.16.1.0/24"}}});
    std::vector<ServiceConfig> services = {service("default/b", "10.96.0.2")};
    apply_lb_ipam(assign_lb_ips(cfg, services), services);
    REQUIRE(services[0].lb_ipam.ips == std::vector<Ipv4Addr>{ip("172.16.1.1")});
    // Without a record, default/a (sorting first) would take .1 and move b.
    std::vector<ServiceConfig> unrecorded = {service("default/a", "10.96.0.1"), service("default/b", "10.96.0.2")};
    apply_lb_ipam(assign_lb_ips(cfg, unrecorded), unrecorded);
    CHECK(unrecorded[1].lb_ipam.ips == std::vector<Ipv4Addr>{ip("172.16.1.2")});
    // With b's record (etcd's key, or its Service status), b keeps .1 and a gets .2.
    std::vector<ServiceConfig> recorded = unrecorded;
    recorded[1].lbipam_recorded = {ip("172.16.1.1")};
    apply_lb_ipam(assign_lb_ips(cfg, recorded), recorded);
    CHECK(recorded[0].lb_ipam.ips == std::vector<Ipv4Addr>{ip("172.16.1.2")});
    CHECK(recorded[1].lb_ipam.ips == std::vector<Ipv4Addr>{ip("172.16.1.1")});
    // Two records of one address (two nodes raced): the first by name keeps it.
    recorded[0].lbipam_recorded = {ip("172.16.1.1")};
    apply_lb_ipam(assign_lb_ips(cfg, recorded), recorded);
    CHECK(recorded[0].lb_ipam.ips == std::vector<Ipv4Addr>{ip("172.16.1.1")});
    CHECK(recorded[1].lb_ipam.ips == std::vector<Ipv4Addr>{ip("172.16.1.2")});
    // A record outside every pool is not kept.
    recorded[0].lbipam_recorded = {ip("10.1.1.1")};
    recorded[1].lbipam_recorded = {};
    apply_lb_ipam(assign_lb_ips(cfg, recorded), recorded);
    CHECK(recorded[0].lb_ipam.ips == std::vector<Ipv4Addr>{ip("172.16.1.1")});
}

TEST_CASE("bgp: ClusterIPs follow internalTrafficPolicy; selectors pick services by label", "[cilium][bgp]") {
    Config c;
    c.node_name = "node1";
    c.network.pod_cidr = *Ipv4Prefix::parse("10.210.1.0/24");
    BgpInstanceConfig in{.name = "tor"};
    in.advertise.pod_cidr = false;
    LabelSelector web;
    web.match_labels = {{"app", "web"}};
    in.advertise.services.push_back(BgpServiceAdvertisement{.cluster_ips = true, .selector = web});
    ServiceConfig local = service("default/local", "10.96.0.1", {{"app", "web"}});
    local.type = ServiceType::ClusterIP;
    local.internal_traffic_policy = TrafficPolicy::Local;
    local.backends = {BackendConfig{.ip = ip("10.210.2.11"), .node = ""}}; // another node's pod
    ServiceConfig cluster = service("default/cluster", "10.96.0.2", {{"app", "web"}});
    cluster.type = ServiceType::ClusterIP;
    ServiceConfig unlabelled = service("default/db", "10.96.0.3");
    c.services = {local, cluster, unlabelled};
    auto names = [&] {
        std::vector<std::string> out;
        for (const BgpRoute& r : bgp_routes(in, c))
            out.push_back(r.prefix.str() + " " + bgp_route_kind_name(r.kind));
        return out;
    };
    CHECK(names() == std::vector<std::string>{"10.96.0.2/32 ClusterIP"});
    c.services[0].backends.push_back(BackendConfig{.ip = ip("10.210.1.12"), .node = ""}); // a local backend comes
    CHECK(names() == std::vector<std::string>{"10.96.0.1/32 ClusterIP", "10.96.0.2/32 ClusterIP"});
    c.services[0].backends[1].state = BackendState::Terminating;
    CHECK(names() == std::vector<std::string>{"10.96.0.2/32 ClusterIP"});
}

TEST_CASE("etcd: Cilium objects and LB IPAM records under the prefix", "[cilium][etcd]") {
    Config node;
    node.node_name = "node1";
    node.node_ip = ip("192.168.10.100");
    node.node_labels = {{"enable-bgp", "true"}};
    EtcdObjects objects(node, "/podlane/");
    std::vector<EtcdKv> kvs;
    const CiliumObjects lab = lab_objects();
    for (CiliumKind k : kCiliumKinds)
        for (const auto& [name, obj] : lab.of(k))
            kvs.push_back(EtcdKv{"/podlane/cilium.io/v2/" + std::string(cilium_kind_plural(k)) + "/" + name, obj.dump()});
    kvs.push_back(EtcdKv{"/podlane/lbipam/services/default/web", R"({"ips": ["172.16.1.1"]})"});
    kvs.push_back(EtcdKv{"/podlane/cilium.io/v2/ciliumnodes/x", "{}"});
    std::vector<std::string> errors;
    ClusterDelta d = objects.load(kvs, errors);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Contains("etcd /podlane/cilium.io/v2/ciliumnodes/x: not a key of a Cilium kind"));
    REQUIRE(d.bgp_instances);
    REQUIRE(d.bgp_instances->size() == 1);
    CHECK((*d.bgp_instances)[0].peers.at(0).hold_time_s == 9);
    REQUIRE(d.lb_ipam);
    CHECK(d.lb_ipam->pools.size() == 1);
    REQUIRE(d.upsert_lb_records.size() == 1);
    CHECK(d.upsert_lb_records[0].first == "default/web");
    CHECK(d.upsert_lb_records[0].second == std::vector<Ipv4Addr>{ip("172.16.1.1")});
    // Deleting the pool object: the next delta carries no pool.
    d = objects.apply({EtcdWatchEvent{true, EtcdKv{"/podlane/cilium.io/v2/ciliumloadbalancerippools/cilium-pool", ""}}},
                      errors);
    REQUIRE(d.lb_ipam);
    CHECK(d.lb_ipam->pools.empty());
    // A service change alone carries no policy.
    d = objects.apply({EtcdWatchEvent{true, EtcdKv{"/podlane/services/default/web", ""}}}, errors);
    CHECK_FALSE(d.lb_ipam);
    CHECK(EtcdObjects::lb_record_value({ip("172.16.1.1")}) == R"({"ips":["172.16.1.1"]})");
    CHECK_FALSE(EtcdObjects::parse_lb_record(R"({"ips": ["nope"]})").ok());
}

TEST_CASE("k8s: Cilium objects and this node's labels become the delta's instances and pools", "[cilium][k8s]") {
    Config node;
    node.node_name = "node1";
    node.node_ip = ip("192.168.10.100");
    K8sCache cache(ConvertSettings::from(node), node);
    auto list = [](const char* kind, Json items) {
        return Json{{"kind", kind}, {"metadata", {{"resourceVersion", "10"}}}, {"items", std::move(items)}};
    };
    const CiliumObjects lab = lab_objects();
    auto items = [&](CiliumKind k) {
        Json out = Json::array();
        for (const auto& [name, obj] : lab.of(k))
            out.push_back(obj);
        return out;
    };
    REQUIRE(cache.apply_list(K8sResource::Nodes, list("NodeList", Json::array({Json::parse(
        R"({"metadata": {"name": "node1", "resourceVersion": "5", "labels": {"enable-bgp": "true"}}})")}))));
    REQUIRE(cache.apply_list(K8sResource::Services, list("ServiceList", Json::array())));
    REQUIRE(cache.apply_list(K8sResource::EndpointSlices, list("EndpointSliceList", Json::array())));
    REQUIRE(cache.apply_list(K8sResource::CiliumBgpClusterConfigs, list("L", items(CiliumKind::BgpClusterConfig))));
    REQUIRE(cache.apply_list(K8sResource::CiliumBgpPeerConfigs, list("L", items(CiliumKind::BgpPeerConfig))));
    REQUIRE(cache.apply_list(K8sResource::CiliumBgpAdvertisements, list("L", items(CiliumKind::BgpAdvertisement))));
    CHECK_FALSE(cache.all_listed());
    cache.apply_absent(K8sResource::CiliumLoadBalancerIPPools); // no such CRD: no pools
    CHECK(cache.all_listed());
    CHECK(resource_path(K8sResource::CiliumBgpPeerConfigs) == "/apis/cilium.io/v2/ciliumbgppeerconfigs");
    ClusterDelta d = cache.take_delta(true);
    REQUIRE(d.bgp_instances);
    REQUIRE(d.bgp_instances->size() == 1);
    CHECK((*d.bgp_instances)[0].peers.at(0).keepalive_time_s == 3);
    REQUIRE(d.lb_ipam);
    CHECK(d.lb_ipam->pools.empty());
    // The node loses its label: the instance goes.
    const auto ev = cache.apply_event(K8sResource::Nodes, Json::parse(
        R"({"type": "MODIFIED", "object": {"metadata": {"name": "node1", "resourceVersion": "11", "labels": {}}}})"));
    CHECK(ev.kind == WatchOutcome::Kind::Applied);
    d = cache.take_delta(false);
    REQUIRE(d.bgp_instances);
    CHECK(d.bgp_instances->empty());
    // Nothing changed since: no policy in the delta.
    CHECK_FALSE(cache.take_delta(false).bgp_instances);
}

TEST_CASE("config: ipam kubernetes with the Kubernetes source may leave pod_cidr to the Node object", "[cilium][config]") {
    const std::string src = "source: {kind: kubernetes, kubernetes: {server: https://127.0.0.1:6443}}\n";
    auto r = parse_config("node: {name: node1, labels: {enable-bgp: \"true\"}}\n" + src, "c.yaml");
    INFO((r.ok() ? "" : r.error().message));
    REQUIRE(r.ok());
    CHECK(r->network.pod_cidr_from_node);
    CHECK(r->node_labels == LabelMap{{"enable-bgp", "true"}});
    auto bad = parse_config("network: {gateway_ip: 10.0.0.1}\n" + src, "c.yaml");
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error().message, Contains("network.gateway_ip: \"10.0.0.1\" is not valid: expected no gateway_ip without pod_cidr"));
    auto file = parse_config("node: {name: node1}\n", "c.yaml"); // the file source still needs it
    REQUIRE_FALSE(file.ok());
    CHECK_THAT(file.error().message, Contains("network.pod_cidr: required key is missing"));
}
