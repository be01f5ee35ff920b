// Tests for network policy: the policies section (config_policies.cpp) and
// the compiler (control/policy) against the semantics of Kubernetes
// NetworkPolicy and CiliumNetworkPolicy, checked through the very lookup
// the workers do (dataplane/policy_table.h).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "control/config/config.h"
#include "control/policy/policy_compiler.h"
#include "control/tables/identity.h"
#include "dataplane/policy_table.h"

using namespace podlane;
using Catch::Matchers::Contains;

namespace {

const std::string kNet = "network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.1}\n";

using Labels = std::map<std::string, std::string>;

Labels pod(const std::string& app, const std::string& ns = "default", const Labels& ns_labels = {}) {
    Labels l{{"app", app}, {kPodNamespaceLabel, ns}};
    for (const auto& [k, v] : ns_labels)
        l[std::string(kNamespaceLabelPrefix) + k] = v;
    return l;
}

/// A small cluster: local endpoints server (10.200.0.10, named port http=8080)
/// and client (10.200.0.11) in "default"; remote identities other (default)
/// and client in namespace "prod" (labelled team=a) and "dev".
struct World {
    Config config;
    CompiledPolicy compiled;

    explicit World(const std::string& policies) {
        auto c = parse_config(kNet + "policies:\n" + policies, "test.yaml");
        if (!c)
            FAIL(c.error().message);
        config = *c;
        std::vector<EndpointConfig> eps(2);
        eps[0].id = "default/server";
        eps[0].ip = *Ipv4Addr::parse("10.200.0.10");
        eps[0].labels = pod("server");
        eps[0].named_ports["http"] = {6, 8080};
        eps[1].id = "default/client";
        eps[1].ip = *Ipv4Addr::parse("10.200.0.11");
        eps[1].labels = pod("client");
        config.remote_endpoints.push_back(remote("10.200.1.5", pod("other")));
        config.remote_endpoints.push_back(remote("10.200.1.6", pod("client", "prod", {{"team", "a"}})));
        config.remote_endpoints.push_back(remote("10.200.1.7", pod("client", "dev", {{"team", "b"}})));
        compiled = compile_policy(policy_inputs(config, eps), 1);
    }
    static RemoteEndpointConfig remote(const char* ip, const Labels& l) {
        RemoteEndpointConfig r;
        r.name = std::string("node2/") + ip;
        r.ip = *Ipv4Addr::parse(ip);
        r.node = "node2";
        r.labels = l;
        r.identity = identity_for_labels(l);
        return r;
    }
    const PolicyDirTable& table(const char* ip, PolicyDirection d) const {
        const uint32_t i = compiled.tables->endpoint_index.lookup(*Ipv4Addr::parse(ip));
        REQUIRE(i != kNotFound);
        return compiled.tables->endpoints[i].dir[static_cast<int>(d)];
    }
    /// Would `ep` accept a new flow from a peer with `labels` (or identity `id`) at `peer_ip`?
    bool ingress(const char* ep, const Labels& from, uint8_t proto, uint16_t port, const char* peer_ip = "10.200.1.99") const {
        return policy_allows(table(ep, PolicyDirection::Ingress), identity_for_labels(from),
                             Ipv4Addr::parse(peer_ip)->host(), proto, port);
    }
    bool ingress_id(const char* ep, uint32_t id, const char* peer_ip, uint8_t proto, uint16_t port) const {
        return policy_allows(table(ep, PolicyDirection::Ingress), id, Ipv4Addr::parse(peer_ip)->host(), proto, port);
    }
    bool egress(const char* ep, uint32_t id, const char* peer_ip, uint8_t proto, uint16_t port) const {
        return policy_allows(table(ep, PolicyDirection::Egress), id, Ipv4Addr::parse(peer_ip)->host(), proto, port);
    }
};

constexpr uint8_t kTcp = 6, kUdp = 17;

std::string np(const std::string& name, const std::string& spec, const std::string& ns = "default") {
    return "  - apiVersion: networking.k8s.io/v1\n    kind: NetworkPolicy\n    metadata: {name: " + name +
           ", namespace: " + ns + "}\n    spec: " + spec + "\n";
}
std::string cnp(const std::string& name, const std::string& spec, const std::string& ns = "default") {
    return "  - apiVersion: cilium.io/v2\n    kind: CiliumNetworkPolicy\n    metadata: {name: " + name +
           ", namespace: " + ns + "}\n    spec: " + spec + "\n";
}

std::string parse_error(const std::string& policies) {
    auto c = parse_config(kNet + "policies:\n" + policies, "test.yaml");
    REQUIRE_FALSE(c);
    return c.error().message;
}

} // namespace

TEST_CASE("policy: an endpoint no policy selects allows everything, both ways", "[policy]") {
    World w(np("web", "{podSelector: {matchLabels: {app: server}}}"));
    CHECK_FALSE(w.table("10.200.0.11", PolicyDirection::Ingress).enforce);
    CHECK_FALSE(w.table("10.200.0.11", PolicyDirection::Egress).enforce);
    CHECK(w.ingress("10.200.0.11", pod("anything"), kUdp, 53));
    // The policy has no egress rules and no policyTypes: Ingress only.
    CHECK(w.table("10.200.0.10", PolicyDirection::Ingress).enforce);
    CHECK_FALSE(w.table("10.200.0.10", PolicyDirection::Egress).enforce);
    CHECK(w.compiled.tables->any_enforced);
}

TEST_CASE("policy: allow by pod label, in the policy's namespace only", "[policy]") {
    World w(np("allow-client", "{podSelector: {matchLabels: {app: server}}, ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]}"));
    CHECK(w.ingress("10.200.0.10", pod("client"), kTcp, 80));
    CHECK(w.ingress("10.200.0.10", pod("client"), kUdp, 5353)); // no ports: every port
    CHECK_FALSE(w.ingress("10.200.0.10", pod("other"), kTcp, 80));
    CHECK_FALSE(w.ingress("10.200.0.10", pod("client", "prod", {{"team", "a"}}), kTcp, 80)); // another namespace
    CHECK_FALSE(w.ingress_id("10.200.0.10", kIdentityWorld, "192.0.2.1", kTcp, 80));
}

TEST_CASE("policy: allow by namespace selector, and pod and namespace together", "[policy]") {
    World w(np("by-ns", "{podSelector: {matchLabels: {app: server}}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: a}}}]}]}") +
            np("by-ns-name", "{podSelector: {matchLabels: {app: client}}, ingress: [{from: [{namespaceSelector: "
                             "{matchLabels: {kubernetes.io/metadata.name: dev}}, podSelector: {matchLabels: {app: client}}}]}]}"));
    CHECK(w.ingress("10.200.0.10", pod("client", "prod", {{"team", "a"}}), kTcp, 80));
    CHECK_FALSE(w.ingress("10.200.0.10", pod("client", "dev", {{"team", "b"}}), kTcp, 80));
    CHECK_FALSE(w.ingress("10.200.0.10", pod("client"), kTcp, 80)); // default has no team=a
    CHECK(w.ingress("10.200.0.11", pod("client", "dev", {{"team", "b"}}), kTcp, 80));
    CHECK_FALSE(w.ingress("10.200.0.11", pod("other"), kTcp, 80));
}

TEST_CASE("policy: deny all ingress, deny all egress", "[policy]") {
    World w(np("deny-in", "{podSelector: {}, policyTypes: [Ingress]}") +
            np("deny-out", "{podSelector: {matchLabels: {app: client}}, policyTypes: [Egress]}"));
    CHECK(w.table("10.200.0.10", PolicyDirection::Ingress).enforce);
    CHECK_FALSE(w.ingress("10.200.0.10", pod("client"), kTcp, 80));
    CHECK_FALSE(w.ingress_id("10.200.0.10", kIdentityWorld, "192.0.2.1", kUdp, 53));
    CHECK_FALSE(w.table("10.200.0.10", PolicyDirection::Egress).enforce);
    CHECK(w.table("10.200.0.11", PolicyDirection::Egress).enforce);
    CHECK_FALSE(w.egress("10.200.0.11", identity_for_labels(pod("server")), "10.200.0.10", kTcp, 80));
}

TEST_CASE("policy: policies add up; an empty from is every source, world included", "[policy]") {
    World w(np("deny-in", "{podSelector: {}, policyTypes: [Ingress]}") +
            np("web-80", "{podSelector: {matchLabels: {app: server}}, ingress: [{ports: [{port: 80}]}]}"));
    CHECK(w.ingress_id("10.200.0.10", kIdentityWorld, "192.0.2.1", kTcp, 80));
    CHECK(w.ingress("10.200.0.10", pod("other"), kTcp, 80));
    CHECK_FALSE(w.ingress("10.200.0.10", pod("other"), kTcp, 81));
    CHECK_FALSE(w.ingress("10.200.0.10", pod("other"), kUdp, 80)); // protocol defaults to TCP
}

TEST_CASE("policy: ports, endPort and named ports", "[policy]") {
    World w(np("range", "{podSelector: {matchLabels: {app: server}}, ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], "
                        "ports: [{protocol: UDP, port: 5000, endPort: 5010}, {protocol: TCP, port: 20000, endPort: 30000}, {port: http}]}]}"));
    CHECK(w.ingress("10.200.0.10", pod("client"), kUdp, 5000));
    CHECK(w.ingress("10.200.0.10", pod("client"), kUdp, 5010));
    CHECK_FALSE(w.ingress("10.200.0.10", pod("client"), kUdp, 5011));
    CHECK_FALSE(w.ingress("10.200.0.10", pod("client"), kTcp, 5005));
    CHECK(w.ingress("10.200.0.10", pod("client"), kTcp, 25000)); // a wide range: scanned, not expanded
    CHECK(w.ingress("10.200.0.10", pod("client"), kTcp, 8080));  // http is the server's 8080
    CHECK_FALSE(w.ingress("10.200.0.10", pod("client"), kTcp, 80));
    CHECK_FALSE(w.ingress("10.200.0.10", pod("other"), kUdp, 5000));
}

TEST_CASE("policy: egress to a CIDR with an except", "[policy]") {
    World w(np("out", "{podSelector: {matchLabels: {app: client}}, policyTypes: [Egress], egress: [{to: [{ipBlock: "
                      "{cidr: 192.168.50.0/24, except: [192.168.50.1/32]}}], ports: [{protocol: TCP, port: 80}]}]}"));
    CHECK(w.egress("10.200.0.11", kIdentityWorld, "192.168.50.20", kTcp, 80));
    CHECK_FALSE(w.egress("10.200.0.11", kIdentityWorld, "192.168.50.1", kTcp, 80));
    CHECK_FALSE(w.egress("10.200.0.11", kIdentityWorld, "192.168.50.20", kTcp, 81));
    CHECK_FALSE(w.egress("10.200.0.11", kIdentityWorld, "192.168.51.20", kTcp, 80));
}

TEST_CASE("policy: CiliumNetworkPolicy endpoints, entities, CIDRs and toPorts", "[policy]") {
    World w(cnp("l3", "{endpointSelector: {matchLabels: {app: server}}, ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}, "
                      "{fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: prod}}], toPorts: [{ports: [{port: '53', protocol: ANY}]}]}, "
                      "{fromEntities: [host, remote-node]}, {fromCIDR: [192.0.2.0/24]}]}") +
            cnp("deny-out", "{endpointSelector: {matchLabels: {app: client}}, egress: [{}]}") +
            cnp("l4-only", "{endpointSelector: {matchLabels: {app: client}}, ingress: [{toPorts: [{ports: [{port: '9000', protocol: TCP}]}]}]}"));
    CHECK(w.ingress("10.200.0.10", pod("client"), kTcp, 1));
    CHECK_FALSE(w.ingress("10.200.0.10", pod("client", "dev", {{"team", "b"}}), kTcp, 1));
    CHECK(w.ingress("10.200.0.10", pod("client", "prod", {{"team", "a"}}), kUdp, 53)); // ANY: TCP and UDP
    CHECK(w.ingress("10.200.0.10", pod("client", "prod", {{"team", "a"}}), kTcp, 53));
    CHECK_FALSE(w.ingress("10.200.0.10", pod("client", "prod", {{"team", "a"}}), kTcp, 54));
    CHECK(w.ingress_id("10.200.0.10", kIdentityRemoteNode, "192.168.50.12", kTcp, 22));
    CHECK(w.ingress_id("10.200.0.10", kIdentityWorld, "192.0.2.7", kTcp, 22));
    CHECK_FALSE(w.ingress_id("10.200.0.10", kIdentityWorld, "198.51.100.7", kTcp, 22));
    // egress: [{}] selects the endpoint and allows nothing.
    CHECK(w.table("10.200.0.11", PolicyDirection::Egress).enforce);
    CHECK_FALSE(w.egress("10.200.0.11", kIdentityWorld, "192.0.2.1", kTcp, 80));
    // An L4-only rule allows every peer on its ports, world too.
    CHECK(w.ingress_id("10.200.0.11", kIdentityWorld, "192.0.2.1", kTcp, 9000));
    CHECK_FALSE(w.ingress_id("10.200.0.11", kIdentityWorld, "192.0.2.1", kTcp, 9001));
}

TEST_CASE("policy: toEntities cluster and all, world", "[policy]") {
    World w(cnp("c", "{endpointSelector: {matchLabels: {app: client}}, egress: [{toEntities: [cluster]}]}") +
            cnp("w", "{endpointSelector: {matchLabels: {app: server}}, egress: [{toEntities: [world]}], ingress: [{fromEntities: [all]}]}"));
    CHECK(w.egress("10.200.0.11", identity_for_labels(pod("other")), "10.200.1.5", kTcp, 80));
    CHECK(w.egress("10.200.0.11", kIdentityRemoteNode, "192.168.50.12", kTcp, 80));
    CHECK_FALSE(w.egress("10.200.0.11", kIdentityWorld, "192.0.2.1", kTcp, 80));
    CHECK(w.egress("10.200.0.10", kIdentityWorld, "192.0.2.1", kTcp, 80));
    CHECK_FALSE(w.egress("10.200.0.10", identity_for_labels(pod("other")), "10.200.1.5", kTcp, 80));
    CHECK(w.ingress("10.200.0.10", pod("anything", "x"), kUdp, 1));
}

TEST_CASE("policy: bad policies are refused with the key", "[policy]") {
    CHECK_THAT(parse_error(np("x", "{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]}")),
               Contains("policies[0].spec.ingress[0].from[0].ipBlock.cidr"));
    CHECK_THAT(parse_error(np("x", "{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}]}]}")),
               Contains("policies[0].spec.ingress[0].from[0].ipBlock.except[0]"));
    CHECK_THAT(parse_error(np("x", "{podSelector: {}, ingress: [{ports: [{port: http, endPort: 90}]}]}")),
               Contains("policies[0].spec.ingress[0].ports[0].endPort"));
    CHECK_THAT(parse_error(np("x", "{podSelector: {}, ingress: [{ports: [{protocol: ICMP}]}]}")),
               Contains("policies[0].spec.ingress[0].ports[0].protocol"));
    CHECK_THAT(parse_error(np("x", "{podSelecter: {}}")), Contains("policies[0].spec.podSelecter: unknown key"));
    CHECK_THAT(parse_error(np("x", "{podSelector: {}, policyTypes: [Both]}")), Contains("policies[0].spec.policyTypes[0]"));
    CHECK_THAT(parse_error(np("x", "{podSelector: {}}") + np("x", "{podSelector: {}}")), Contains("is used twice"));
    CHECK_THAT(parse_error(cnp("x", "{endpointSelector: {}, egress: [{toFQDNs: [{matchName: a.b}]}]}")),
               Contains("policies[0].spec.egress[0].toFQDNs: not supported"));
    CHECK_THAT(parse_error(cnp("x", "{endpointSelector: {}, ingress: [{fromEntities: [galaxy]}]}")),
               Contains("policies[0].spec.ingress[0].fromEntities[0]"));
    CHECK_THAT(parse_error("  - {apiVersion: cilium.io/v2, kind: NetworkPolicy, metadata: {name: a}, spec: {}}\n"),
               Contains("policies[0].apiVersion"));
}

TEST_CASE("policy: objects from the Kubernetes API parse as JSON", "[policy]") {
    auto p = parse_policy_objects(R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
        "metadata":{"name":"a","namespace":"lab","uid":"u","resourceVersion":"7","managedFields":[]},
        "spec":{"podSelector":{},"policyTypes":["Ingress","Egress"]}})", "k8s");
    REQUIRE(p);
    REQUIRE(p->size() == 1);
    CHECK((*p)[0].key() == "lab/a");
    CHECK((*p)[0].ingress);
    CHECK((*p)[0].egress);
}
