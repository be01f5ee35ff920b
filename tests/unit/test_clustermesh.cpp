// Cluster Mesh: Cilium's kvstore formats against golden values written from
// Cilium's source and documentation (docs/clustermesh.md cites them), the
// decoding of a remote cluster's state, the identity layout, the config keys
// and the affinity rule.
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "control/config/config.h"
#include "control/sources/clustermesh/mesh_kvstore.h"
#include "control/sources/clustermesh/mesh_state.h"
#include "control/sources/k8s/k8s_convert.h"
#include "control/tables/identity.h"

using namespace podlane;

namespace {

Ipv4Addr ip(const char* t) { return *Ipv4Addr::parse(t); }
Ipv4Prefix prefix(const char* t) { return *Ipv4Prefix::parse(t); }

const std::string kBase = "network: {pod_cidr: 10.210.1.0/24, gateway_ip: 10.210.1.1}\n";

std::string error_of(const std::string& yaml) {
    auto r = parse_config(kBase + yaml, "c.yaml");
    return r.ok() ? "" : r.error().message;
}

} // namespace

TEST_CASE("keys are Cilium's", "[clustermesh]") {
    CHECK(mesh::cluster_config_key("east") == "cilium/cluster-config/east");
    CHECK(mesh::synced_key("east", mesh::kNodesPrefix) == "cilium/synced/east/cilium/state/nodes/v1");
    CHECK(mesh::node_key("east", "east-1") == "cilium/state/nodes/v1/east/east-1");
    CHECK(mesh::service_key("east", "default", "webpod") == "cilium/state/services/v1/east/default/webpod");
    CHECK(mesh::ip_key(ip("10.1.1.144")) == "cilium/state/ip/v1/default/10.1.1.144");
    CHECK(mesh::identity_key(131328) == "cilium/state/identities/v1/id/131328");
}

TEST_CASE("net.IPMask is base64 as Go writes it", "[clustermesh]") {
    CHECK(mesh::ipv4_mask_base64(24) == "////AA==");
    CHECK(mesh::ipv4_mask_base64(16) == "//8AAA==");
    CHECK(mesh::ipv4_mask_base64(32) == "/////w==");
}

TEST_CASE("cluster config: encode and decode CiliumClusterConfig", "[clustermesh]") {
    CHECK(mesh::encode_cluster_config({2, true, 255}) ==
          R"({"id":2,"capabilities":{"syncedCanaries":true,"maxConnectedClusters":255}})");
    // What a kvstoremesh of Cilium 1.14 writes (no maxConnectedClusters yet).
    auto c = mesh::decode_cluster_config(R"({"id":1,"capabilities":{"syncedCanaries":true,"cached":true}})");
    REQUIRE(c.ok());
    CHECK(c->id == 1);
    CHECK(c->synced_canaries);
    CHECK(c->max_connected_clusters == 0);
    CHECK(!mesh::decode_cluster_config("{\"id\":\"one\"}").ok());
    CHECK(!mesh::decode_cluster_config("not json").ok());
}

TEST_CASE("remote cluster config checks: id, range, own id, identity layout", "[clustermesh]") {
    ClusterInfoConfig west{"west", 1, 255};
    CHECK(check_remote_config({2, true, 255}, west).empty());
    CHECK(check_remote_config({2, true, 0}, west).empty()); // not given: 255
    CHECK(check_remote_config({0, true, 255}, west).find("no cluster id") != std::string::npos);
    CHECK(check_remote_config({1, true, 255}, west).find("own id") != std::string::npos);
    CHECK(check_remote_config({300, true, 511}, west).find("max_connected_clusters 511") != std::string::npos);
}

TEST_CASE("node: decode types.Node as Cilium releases write it", "[clustermesh]") {
    // Cilium's kvstore documentation (cilium kvstore get --recursive cilium/state/nodes/).
    auto n = mesh::decode_node(
        R"({"Name":"runtime1","IPAddresses":[{"AddressType":"InternalIP","IP":"10.0.2.15"}],"IPv4AllocCIDR":{"IP":"10.11.0.0","Mask":"//8AAA=="},"IPv6AllocCIDR":{"IP":"f00d::a0f:0:0:0","Mask":"//////////////////8AAA=="},"IPv4HealthIP":"","IPv6HealthIP":""})");
    REQUIRE(n.ok());
    CHECK(n->name == "runtime1");
    CHECK(n->ip == ip("10.0.2.15"));
    REQUIRE(n->pod_cidrs.size() == 1);
    CHECK(n->pod_cidrs[0] == prefix("10.11.0.0/16"));
    // A 1.x agent: the CiliumInternalIP is not the node IP; secondary CIDRs follow the primary.
    auto m = mesh::decode_node(
        R"({"Name":"k8s-node1","Cluster":"east","IPAddresses":[{"Type":"CiliumInternalIP","IP":"10.6.6.71"},{"Type":"InternalIP","IP":"10.5.1.132"}],"IPv4AllocCIDR":{"IP":"10.6.6.0","Mask":"////AA=="},"IPv4SecondaryAllocCIDRs":[{"IP":"10.244.2.0","Mask":"////AA=="}],"IPv6AllocCIDR":null,"ClusterID":2,"Source":"local"})");
    REQUIRE(m.ok());
    CHECK(m->cluster == "east");
    CHECK(m->cluster_id == 2);
    CHECK(m->ip == ip("10.5.1.132"));
    REQUIRE(m->pod_cidrs.size() == 2);
    CHECK(m->pod_cidrs[1] == prefix("10.244.2.0/24"));
    // CIDRs as text are taken too.
    auto t = mesh::decode_node(R"({"Name":"a","IPAddresses":[{"Type":"ExternalIP","IP":"1.2.3.4"}],"IPv4AllocCIDR":"10.9.0.0/24"})");
    REQUIRE(t.ok());
    CHECK(t->pod_cidrs.at(0) == prefix("10.9.0.0/24"));
    CHECK(!mesh::decode_node(R"({"Name":"a","IPAddresses":[]})").ok());
    CHECK(!mesh::decode_node(R"({"IPAddresses":[]})").ok());
}

TEST_CASE("node: encode as Go marshals types.Node", "[clustermesh]") {
    const std::string text = mesh::encode_node({"west-1", "west", 1, ip("192.168.50.11"), {prefix("10.244.1.0/24")}});
    CHECK(text ==
          R"({"Name":"west-1","Cluster":"west","IPAddresses":[{"Type":"InternalIP","IP":"192.168.50.11"}],)"
          R"("IPv4AllocCIDR":{"IP":"10.244.1.0","Mask":"////AA=="},"IPv4SecondaryAllocCIDRs":null,"IPv6AllocCIDR":null,)"
          R"("IPv6SecondaryAllocCIDRs":null,"IPv4HealthIP":"","IPv6HealthIP":"","IPv4IngressIP":"","IPv6IngressIP":"",)"
          R"("ClusterID":1,"Source":"local","EncryptionKey":0,"Labels":null,"NodeIdentity":0,"WireguardPubKey":""})");
    auto back = mesh::decode_node(text);
    REQUIRE(back.ok());
    CHECK(back->pod_cidrs.at(0) == prefix("10.244.1.0/24"));
}

TEST_CASE("service: ClusterService JSON both ways", "[clustermesh]") {
    ServiceConfig s;
    s.name = "default/webpod";
    s.cluster_ip = ip("10.96.0.20");
    s.ports.push_back({"http", L4Proto::Tcp, 80, 8080, 0});
    s.backends.push_back({ip("10.211.3.11"), "", BackendState::Active, 1});
    s.backends.push_back({ip("10.211.3.12"), "", BackendState::Terminating, 1});
    s.global = true;
    const std::string text = mesh::encode_service(mesh::cluster_service(s, "east", 2));
    CHECK(text == R"({"cluster":"east","namespace":"default","name":"webpod",)"
                  R"("frontends":{"10.96.0.20":{"http":{"Protocol":"TCP","Port":80}}},)"
                  R"("backends":{"10.211.3.11":{"http":{"Protocol":"TCP","Port":8080}}},)"
                  R"("labels":{},"selector":{},"includeExternal":false,"shared":true,"clusterID":2})");
    auto d = mesh::decode_service(text);
    REQUIRE(d.ok());
    CHECK(d->ns == "default");
    CHECK(d->shared);
    CHECK(d->backends.count("10.211.3.11") == 1);
    CHECK(d->backends.at("10.211.3.11").at(0).port == 8080);
    // ClusterService.validate: cluster, namespace and name are required.
    CHECK(mesh::decode_service(R"({"namespace":"a","name":"b"})").error().message == "cluster is unset");
    CHECK(!mesh::decode_service(R"({"cluster":"e","namespace":"a","name":"b","backends":{"x":{}}})").ok());
}

TEST_CASE("ipcache: IPIdentityPair JSON both ways", "[clustermesh]") {
    CHECK(mesh::encode_ip_identity({ip("10.211.3.11"), 32, ip("192.168.50.13"), 131328, "lab", "n3p1"}) ==
          R"({"IP":"10.211.3.11","Mask":null,"HostIP":"192.168.50.13","ID":131328,"Key":0,"Metadata":"","K8sNamespace":"lab","K8sPodName":"n3p1"})");
    // As a Cilium agent writes it (etcdctl get cilium/state/ip/v1/default/...).
    auto p = mesh::decode_ip_identity(
        R"({"IP":"10.6.6.92","Mask":null,"HostIP":"10.5.1.132","ID":432,"Key":0,"Metadata":"cilium-global:default:k8s-node1:432","K8sNamespace":"istio-system","K8sPodName":"gw"})");
    REQUIRE(p.ok());
    CHECK(p->ip == ip("10.6.6.92"));
    CHECK(p->host_ip == ip("10.5.1.132"));
    CHECK(p->id == 432);
    CHECK(p->mask_len == 32);
    auto cidr = mesh::decode_ip_identity(R"({"IP":"10.0.0.0","Mask":"////AA==","HostIP":"","ID":16777217})");
    REQUIRE(cidr.ok());
    CHECK(cidr->mask_len == 24);
}

TEST_CASE("identity labels as the kvstore keeps them", "[clustermesh]") {
    CHECK(mesh::encode_identity_labels({{"app", "web"}, {"io.kubernetes.pod.namespace", "lab"}}) ==
          "k8s:app=web;k8s:io.kubernetes.pod.namespace=lab;");
    auto l = mesh::decode_identity_labels("k8s:app=web;k8s:io.cilium.k8s.policy.cluster=east;reserved:host=;");
    REQUIRE(l.ok());
    CHECK(l->at("app") == "web");
    CHECK(l->at("io.cilium.k8s.policy.cluster") == "east");
    CHECK(l->count("reserved:host") == 1);
    CHECK(!mesh::decode_identity_labels("k8s:app=web").ok());
}

TEST_CASE("identities carry the cluster id as Cilium lays it out", "[clustermesh][identity]") {
    const std::map<std::string, std::string> labels{{"app", "web"}};
    const uint32_t west = identity_for_labels(labels, 1, 255);
    CHECK(west >= (1u << 16));
    CHECK(west < (2u << 16));
    const uint32_t east = identity_for_labels(labels, 2, 255);
    CHECK(east >> 16 == 2);
    CHECK((east & 0xffff) == (west & 0xffff)); // same label set, same local part
    CHECK(identity_for_labels(labels, 300, 511) >> 15 == 300);
    CHECK(identity_for_labels(labels, 0, 255) == identity_for_labels(labels));
    CHECK(identity_in_cluster_range(east, 2, 255));
    CHECK(!identity_in_cluster_range(east, 1, 255));
    CHECK(identity_in_cluster_range(6, 1, 255)); // reserved: shared by every cluster
    CHECK(!identity_in_cluster_range((1u << 24) | 5, 1, 255));
}

TEST_CASE("a remote cluster's state: canaries gate, foreign identities are refused", "[clustermesh]") {
    std::map<std::string, std::string> kvs;
    kvs[mesh::node_key("east", "east-1")] = mesh::encode_node({"east-1", "east", 2, ip("192.168.50.13"), {prefix("10.211.3.0/24")}});
    kvs[mesh::ip_key(ip("10.211.3.11"))] =
        mesh::encode_ip_identity({ip("10.211.3.11"), 32, ip("192.168.50.13"), (2u << 16) + 7, "lab", "n3p1"});
    kvs[mesh::ip_key(ip("10.211.3.12"))] = // west's range: refused
        mesh::encode_ip_identity({ip("10.211.3.12"), 32, ip("192.168.50.13"), (1u << 16) + 7, "lab", "n3p2"});
    kvs[mesh::identity_key((2u << 16) + 7)] = "k8s:app=web;";
    kvs[mesh::node_key("other", "x")] = "{}"; // another cluster's prefix: not east's business
    ServiceConfig s;
    s.name = "lab/web";
    s.cluster_ip = ip("10.96.0.20");
    s.ports.push_back({"", L4Proto::Tcp, 80, 80, 0});
    s.backends.push_back({ip("10.211.3.11"), "", BackendState::Active, 1});
    kvs[mesh::service_key("east", "lab", "web")] = mesh::encode_service(mesh::cluster_service(s, "east", 2));

    const mesh::ClusterConfig cfg{2, true, 255};
    MeshClusterState st = decode_mesh_state("east", cfg, 255, kvs);
    CHECK(!st.ready());
    CHECK(!st.nodes_synced);
    for (const char* p : mesh::kSyncedPrefixes)
        kvs[mesh::synced_key("east", p)] = "2026-12-07T22:00:00Z";
    st = decode_mesh_state("east", cfg, 255, kvs);
    CHECK(st.ready());
    REQUIRE(st.nodes.size() == 1);
    CHECK(st.nodes[0].name == "east/east-1");
    CHECK(st.nodes[0].pod_cidrs.at(0) == prefix("10.211.3.0/24"));
    REQUIRE(st.endpoints.size() == 1);
    CHECK(st.endpoints[0].name == "east/east-1/10.211.3.11");
    CHECK(st.endpoints[0].node == "east/east-1");
    CHECK(st.endpoints[0].labels.at("app") == "web");
    CHECK(st.refused == 1);
    CHECK(st.identities == 1);
    REQUIRE(st.services.size() == 1);
    CHECK(st.services[0].name == "lab/web");
    CHECK(st.services[0].backends.at(0).ip == ip("10.211.3.11"));
    // Without canaries (an older cluster): everything counts as synced.
    CHECK(decode_mesh_state("east", {2, false, 0}, 255, {}).ready());
}

TEST_CASE("affinity: preferred backends while any is active, all otherwise", "[clustermesh][services]") {
    ServiceConfig s;
    s.global = true;
    s.backends.push_back({ip("10.210.1.11"), "", BackendState::Active, 1});
    s.mesh.list.push_back({"east", {ip("10.211.3.11"), "", BackendState::Active, 1}});
    CHECK(s.balanced_backends().size() == 2); // none: both clusters
    s.mesh_affinity = MeshAffinity::Local;
    REQUIRE(s.balanced_backends().size() == 1);
    CHECK(s.balanced_backends()[0].ip == ip("10.210.1.11"));
    s.backends[0].state = BackendState::Terminating; // no active local one: the remote ones too
    CHECK(s.balanced_backends().size() == 2);
    s.backends.clear();
    CHECK(s.balanced_backends().size() == 1);
    s.backends.push_back({ip("10.210.1.11"), "", BackendState::Active, 1});
    s.mesh_affinity = MeshAffinity::Remote;
    REQUIRE(s.balanced_backends().size() == 1);
    CHECK(s.balanced_backends()[0].ip == ip("10.211.3.11"));
}

TEST_CASE("config: cluster name and id, max_connected_clusters, clustermesh", "[clustermesh][config]") {
    const std::string mesh = "clustermesh: {clusters: [{name: east, endpoints: [http://192.168.50.3:2379]}]}\n";
    auto ok = parse_config(kBase + "cluster: {name: west, id: 1}\n" + mesh, "c.yaml");
    REQUIRE(ok.ok());
    CHECK(ok->cluster.name == "west");
    CHECK(ok->clustermesh.clusters.at(0).endpoints.at(0) == "http://192.168.50.3:2379");
    CHECK(error_of("cluster: {name: West, id: 1}\n").find("cluster.name") != std::string::npos);
    CHECK(error_of("cluster: {name: -west, id: 1}\n").find("[a-z0-9-]") != std::string::npos);
    CHECK(error_of("cluster: {name: " + std::string(33, 'a') + ", id: 1}\n").find("cluster.name") != std::string::npos);
    CHECK(error_of("cluster: {name: west, id: 256}\n").find("cluster.id: 256 is out of range: expected 0..255") !=
          std::string::npos);
    CHECK(error_of("max_connected_clusters: 511\ncluster: {name: west, id: 300}\n").empty());
    CHECK(error_of("max_connected_clusters: 300\n").find("max_connected_clusters") != std::string::npos);
    CHECK(error_of("cluster: {name: west}\n" + mesh).find("cluster.id") != std::string::npos);
    CHECK(error_of("cluster: {name: west, id: 0}\n" + mesh).find("cluster.id") != std::string::npos);
    CHECK(error_of("cluster: {name: east, id: 1}\n" + mesh).find("clustermesh.clusters[0].name") != std::string::npos);
    CHECK(error_of("cluster: {name: west, id: 1}\nclustermesh: {clusters: [{name: east, endpoints: [192.168.50.3]}]}\n")
              .find("clustermesh.clusters[0].endpoints[0]") != std::string::npos);
}

TEST_CASE("config: the service keys global, shared and affinity", "[clustermesh][config]") {
    auto r = parse_config(kBase + "services:\n  - {name: lab/web, cluster_ip: 10.96.0.20, ports: [{port: 80}], "
                                  "global: true, shared: false, affinity: local}\n",
                          "c.yaml");
    REQUIRE(r.ok());
    CHECK(r->services.at(0).global);
    CHECK(!r->services.at(0).shared);
    CHECK(r->services.at(0).mesh_affinity == MeshAffinity::Local);
    CHECK(error_of("services:\n  - {name: a/b, cluster_ip: 10.96.0.20, ports: [{port: 80}], affinity: near}\n")
              .find("services[0].affinity") != std::string::npos);
}

TEST_CASE("kubernetes: Cilium's service.cilium.io annotations", "[clustermesh][k8s]") {
    ConvertSettings cs;
    cs.node_name = "node1";
    auto service = [&](nlohmann::json annotations) {
        nlohmann::json obj = {{"metadata", {{"namespace", "lab"}, {"name", "web"}, {"annotations", annotations}}},
                              {"spec", {{"type", "ClusterIP"}, {"clusterIP", "10.96.0.50"},
                                        {"ports", {{{"port", 80}, {"protocol", "TCP"}}}}}}};
        auto r = convert_service(obj, cs);
        REQUIRE(r.ok());
        REQUIRE(r->has_value());
        return (*r)->base;
    };
    const ServiceConfig plain = service(nlohmann::json::object());
    CHECK(!plain.global);
    CHECK(plain.shared);
    CHECK(plain.mesh_affinity == MeshAffinity::None);
    const ServiceConfig g = service({{"service.cilium.io/global", "true"}, {"service.cilium.io/shared", "false"},
                                     {"service.cilium.io/affinity", "remote"}});
    CHECK(g.global);
    CHECK(!g.shared);
    CHECK(g.mesh_affinity == MeshAffinity::Remote);
    CHECK(service({{"service.cilium.io/global", "True"}, {"service.cilium.io/affinity", "Local"}}).mesh_affinity ==
          MeshAffinity::Local);
    CHECK(service({{"service.cilium.io/affinity", "nearby"}}).mesh_affinity == MeshAffinity::None);
}
