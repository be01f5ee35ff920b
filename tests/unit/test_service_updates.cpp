// Tests for ServiceCompiler's incremental updates (src/control/tables/service_compiler.cpp):
// a change to one service recompiles that service only, ids stay stable,
// shared backends stay, and a failing service keeps its previous version.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include <rte_byteorder.h>

#include "control/config/config.h"
#include "control/tables/service_compiler.h"

using namespace podlane;
using Catch::Matchers::Contains;

namespace {

const std::string kNode = "node: {name: node1, ip: 192.168.50.11}\n"
                          "uplinks:\n  - {name: eth0, devargs: net_null0}\n"
                          "network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.1}\n"
                          "loadbalancer: {algorithm: maglev, maglev_table_size: 251}\n";

std::string service(const std::string& name, const std::string& vip, const std::vector<std::string>& backends) {
    std::string y = "  - {name: " + name + ", cluster_ip: " + vip + ", ports: [{port: 80, target_port: 8080}], backends: [";
    for (size_t i = 0; i < backends.size(); ++i)
        y += (i ? ", " : "") + std::string("{ip: ") + backends[i] + "}";
    return y + "]}\n";
}

Config config_of(const std::string& services) {
    auto r = parse_config(kNode + "services:\n" + services, "test.yaml");
    INFO((r.ok() ? "" : r.error().message));
    REQUIRE(r.ok());
    Config c = *r;
    std::sort(c.services.begin(), c.services.end(), [](auto& a, auto& b) { return a.name < b.name; });
    return c;
}

ServiceCompileInputs inputs_of(const Config& c) {
    ServiceCompileInputs in;
    in.config = &c;
    in.node_ip = c.node_ip;
    in.local_pod_cidr = c.network.pod_cidr;
    return in;
}

Ipv4Addr ip(const char* s) { return *Ipv4Addr::parse(s); }

/// The entry of ClusterIP vip:80/TCP, or nullptr.
const LbService* entry(const LbTables& t, const char* vip) {
    const uint32_t fe = t.frontend_by_key.lookup(frontend_key(ip(vip).be, rte_cpu_to_be_16(80), 6));
    return fe == kNotFound ? nullptr : &t.services.at(t.frontends.at(fe).internal);
}

std::vector<std::string> picks(const LbTables& t, const LbService& s) {
    std::vector<std::string> out;
    for (uint32_t i = 0; i < s.backends_n; ++i)
        out.push_back(t.backends.at(s.backends[i]).ip.str());
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

TEST_CASE("a change to one service recompiles that service only", "[services]") {
    const std::string a = service("a/a", "10.96.0.1", {"10.200.0.11", "10.200.0.12"});
    const std::string b = service("a/b", "10.96.0.2", {"10.200.0.21", "10.200.0.22"});
    const std::string b2 = service("a/b", "10.96.0.2", {"10.200.0.22", "10.200.0.23"});
    Config c1 = config_of(a + b);
    ServiceCompiler sc;
    REQUIRE(sc.compile_all(inputs_of(c1)));
    const auto t1 = sc.assemble(inputs_of(c1));
    const LbService* a1 = entry(*t1, "10.96.0.1");
    const LbService* b1 = entry(*t1, "10.96.0.2");
    REQUIRE(a1);
    REQUIRE(b1);
    const uint32_t id_22 = *sc.ids().backend_id(ip("10.200.0.22"), 8080, L4Proto::Tcp);
    const uint32_t id_21 = *sc.ids().backend_id(ip("10.200.0.21"), 8080, L4Proto::Tcp);

    Config c2 = config_of(a + b2);
    REQUIRE(sc.compile_changed(inputs_of(c2), {"a/b"}));
    const auto t2 = sc.assemble(inputs_of(c2));
    const LbService* a2 = entry(*t2, "10.96.0.1");
    const LbService* b2e = entry(*t2, "10.96.0.2");
    REQUIRE(a2);
    REQUIRE(b2e);
    // a was not recompiled: its backend list and Maglev table are the very same memory.
    CHECK(a2->backends == a1->backends);
    CHECK(a2->maglev == a1->maglev);
    CHECK(b2e->backends != b1->backends);
    CHECK(picks(*t2, *b2e) == std::vector<std::string>{"10.200.0.22", "10.200.0.23"});
    // Ids: the kept backend and both frontends keep theirs; the removed one is gone.
    CHECK(sc.ids().backend_id(ip("10.200.0.22"), 8080, L4Proto::Tcp) == id_22);
    CHECK_FALSE(sc.ids().backend_id(ip("10.200.0.21"), 8080, L4Proto::Tcp));
    CHECK_FALSE(t2->backends.at(id_21).present);
    CHECK(a2->rev_nat_id == a1->rev_nat_id);
    CHECK(b2e->rev_nat_id == b1->rev_nat_id);
    // The tables published before still read as they were.
    CHECK(picks(*t1, *b1) == std::vector<std::string>{"10.200.0.21", "10.200.0.22"});
}

TEST_CASE("services come and go through compile_changed", "[services]") {
    const std::string a = service("a/a", "10.96.0.1", {"10.200.0.11"});
    const std::string b = service("a/b", "10.96.0.2", {"10.200.0.11", "10.200.0.12"});
    ServiceCompiler sc;
    Config c1 = config_of(a);
    REQUIRE(sc.compile_all(inputs_of(c1)));
    Config c2 = config_of(a + b);
    REQUIRE(sc.compile_changed(inputs_of(c2), {"a/b"}));
    auto t = sc.assemble(inputs_of(c2));
    REQUIRE(entry(*t, "10.96.0.2"));
    CHECK(sc.services() == 2);
    CHECK(t->backend_ips.contains(ip("10.200.0.12")));

    // b goes: 10.200.0.11 stays (a still has it), 10.200.0.12 goes.
    Config c3 = config_of(a);
    REQUIRE(sc.compile_changed(inputs_of(c3), {"a/b"}));
    t = sc.assemble(inputs_of(c3));
    CHECK_FALSE(entry(*t, "10.96.0.2"));
    CHECK(sc.services() == 1);
    CHECK(sc.ids().frontend_count() == 1);
    CHECK(sc.ids().backend_count() == 1);
    const uint32_t id_11 = *sc.ids().backend_id(ip("10.200.0.11"), 8080, L4Proto::Tcp);
    CHECK(t->backends.at(id_11).present);
    CHECK(t->backend_ips.contains(ip("10.200.0.11")));
    CHECK(!t->backend_ips.contains(ip("10.200.0.12")));
    CHECK(t->frontend_ips.lookup(ip("10.96.0.2")) == kNotFound);
}

TEST_CASE("a backend terminating in one service and active in another stays selectable there", "[services]") {
    const std::string a = service("a/a", "10.96.0.1", {"10.200.0.11"});
    std::string b = "  - {name: a/b, cluster_ip: 10.96.0.2, ports: [{port: 80, target_port: 8080}],"
                    " backends: [{ip: 10.200.0.11, state: terminating}, {ip: 10.200.0.12}]}\n";
    ServiceCompiler sc;
    Config c = config_of(a + b);
    REQUIRE(sc.compile_all(inputs_of(c)));
    auto t = sc.assemble(inputs_of(c));
    const uint32_t id = *sc.ids().backend_id(ip("10.200.0.11"), 8080, L4Proto::Tcp);
    CHECK(t->backends.at(id).state == BackendState::Active);
    CHECK(picks(*t, *entry(*t, "10.96.0.2")) == std::vector<std::string>{"10.200.0.12"});
    // a goes: now only b knows it, as terminating.
    Config c2 = config_of(b);
    REQUIRE(sc.compile_changed(inputs_of(c2), {"a/a"}));
    t = sc.assemble(inputs_of(c2));
    CHECK(t->backends.at(id).present);
    CHECK(t->backends.at(id).state == BackendState::Terminating);
}

TEST_CASE("a service that fails to compile keeps its previous version", "[services]") {
    const std::string a = service("a/a", "10.96.0.1", {"10.200.0.11"});
    ServiceCompiler sc(2); // backend ids 0..1
    Config c1 = config_of(a);
    REQUIRE(sc.compile_all(inputs_of(c1)));
    Config c2 = config_of(service("a/a", "10.96.0.1", {"10.200.0.21", "10.200.0.22", "10.200.0.23"}));
    auto r = sc.compile_changed(inputs_of(c2), {"a/a"});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("no free backend id") && Contains("service a/a keeps its previous version"));
    auto t = sc.assemble(inputs_of(c2));
    CHECK(picks(*t, *entry(*t, "10.96.0.1")) == std::vector<std::string>{"10.200.0.11"});
    CHECK(sc.ids().backend_count() == 1); // what the failed compile took is given back
}

TEST_CASE("the first service by name serves a frontend two services claim", "[services]") {
    const std::string a = service("a/a", "10.96.0.1", {"10.200.0.11"});
    const std::string z = service("z/z", "10.96.0.1", {"10.200.0.99"});
    ServiceCompiler sc;
    // The loader refuses two services on one frontend in a file; sources may
    // still send them (e.g. two Kubernetes services racing for an IP).
    Config c = config_of(a);
    c.services.push_back(config_of(z).services.at(0));
    REQUIRE(sc.compile_all(inputs_of(c)));
    auto t = sc.assemble(inputs_of(c));
    CHECK(t->frontends.size() == 1);
    CHECK(picks(*t, *entry(*t, "10.96.0.1")) == std::vector<std::string>{"10.200.0.11"});
    // a goes: z serves it now, with the same rev_nat id (the frontend never went away).
    const uint16_t rev = entry(*t, "10.96.0.1")->rev_nat_id;
    Config c2 = config_of(z);
    REQUIRE(sc.compile_changed(inputs_of(c2), {"a/a"}));
    t = sc.assemble(inputs_of(c2));
    CHECK(picks(*t, *entry(*t, "10.96.0.1")) == std::vector<std::string>{"10.200.0.99"});
    CHECK(entry(*t, "10.96.0.1")->rev_nat_id == rev);
}
