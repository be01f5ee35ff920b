// Tests for LB IPAM: the lb_ipam section and the lbipam_* service keys
// (config_lb_ipam.cpp, config_services.cpp) and the assignment rule
// (control/lbipam/lb_ipam.h).
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "cli/format.h"
#include "control/config/config.h"
#include "control/lbipam/lb_ipam.h"

using namespace podlane;
using Catch::Matchers::Contains;

namespace {

const std::string kNet = "network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.1}\n";

/// A LoadBalancer service item with one TCP port (and a node port derived from it).
std::string lb(const std::string& name, int n, int port = 80, const std::string& extra = "") {
    return "  - {name: " + name + ", type: LoadBalancer, cluster_ip: 10.96.0." + std::to_string(n) +
           ", ports: [{port: " + std::to_string(port) + ", node_port: " + std::to_string(30000 + n) + "}]" +
           (extra.empty() ? "" : ", " + extra) + "}\n";
}

std::string config(const std::string& pools, const std::string& services) {
    return kNet + "lb_ipam:\n  pools:\n" + pools + (services.empty() ? "" : "services:\n" + services);
}

std::string error_of(const std::string& yaml) {
    auto r = parse_config(yaml, "config.yaml");
    return r.ok() ? "(parsed without error)" : r.error().message;
}

/// Parses, assigns and applies, as the agent does (services sorted by name).
struct Assigned {
    Config config;
    LbIpamResult result;

    const LbIpamStatus& of(const std::string& name) const {
        for (const ServiceConfig& s : config.services)
            if (s.name == name)
                return s.lb_ipam;
        FAIL("no service " << name);
        throw;
    }
    std::string ip(const std::string& name) const {
        const LbIpamStatus& st = of(name);
        return st.ips.empty() ? "pending: " + st.pending : st.ips[0].str();
    }
    const LbIpamPoolStatus& pool(const std::string& name) const {
        for (const LbIpamPoolStatus& p : result.pools)
            if (p.name == name)
                return p;
        FAIL("no pool " << name);
        throw;
    }
};

Assigned assigned(const std::string& yaml) {
    auto r = parse_config(yaml, "config.yaml");
    INFO(yaml << (r.ok() ? "" : r.error().message));
    REQUIRE(r.ok());
    Assigned a{*r, {}};
    std::sort(a.config.services.begin(), a.config.services.end(),
              [](const ServiceConfig& x, const ServiceConfig& y) { return x.name < y.name; });
    a.result = assign_lb_ips(a.config.lb_ipam, a.config.services);
    apply_lb_ipam(a.result, a.config.services);
    return a;
}

const std::string kBlue = "    - {name: blue, blocks: [172.16.1.0/24]}\n";

} // namespace

TEST_CASE("lb_ipam: pools are read with every key", "[lbipam]") {
    const Config c = assigned(config("    - name: blue\n"
                                     "      blocks: [172.16.1.0/24, 172.16.2.10-172.16.2.20]\n"
                                     "      allow_first_last_ips: true\n"
                                     "      disabled: true\n"
                                     "      service_selector: {names: [default/web], namespaces: [default]}\n",
                                     ""))
                         .config;
    REQUIRE(c.lb_ipam.pools.size() == 1);
    const LbIpamPoolConfig& p = c.lb_ipam.pools[0];
    CHECK(p.name == "blue");
    REQUIRE(p.blocks.size() == 2);
    CHECK(p.blocks[0].cidr);
    CHECK(p.blocks[0].first.str() == "172.16.1.0");
    CHECK(p.blocks[0].last.str() == "172.16.1.255");
    CHECK_FALSE(p.blocks[1].cidr);
    CHECK(p.blocks[1].first.str() == "172.16.2.10");
    CHECK(p.blocks[1].last.str() == "172.16.2.20");
    CHECK(p.allow_first_last_ips);
    CHECK(p.disabled);
    CHECK(p.service_selector.names == std::vector<std::string>{"default/web"});
    CHECK(p.service_selector.namespaces == std::vector<std::string>{"default"});
}

TEST_CASE("lb_ipam: bad input names the key", "[lbipam]") {
    CHECK(error_of(config("    - {name: blue, blocks: [172.16.1.0/33]}\n", "")) ==
          "config.yaml:4: lb_ipam.pools[0].blocks[0]: \"172.16.1.0/33\" is not valid: expected an IPv4 prefix like 172.16.1.0/24");
    CHECK(error_of(config("    - {name: blue, blocks: [172.16.1.1/24]}\n", "")) ==
          "config.yaml:4: lb_ipam.pools[0].blocks[0]: \"172.16.1.1/24\" is not valid: expected a prefix with no host bits set, like 172.16.1.0/24");
    CHECK(error_of(config("    - {name: blue, blocks: [172.16.1.20-172.16.1.10]}\n", "")) ==
          "config.yaml:4: lb_ipam.pools[0].blocks[0]: \"172.16.1.20-172.16.1.10\" is not valid: expected a range whose "
          "start is not above its stop, like 172.16.2.10-172.16.2.20");
    CHECK(error_of(config("    - {name: blue, blocks: [banana]}\n", "")) ==
          "config.yaml:4: lb_ipam.pools[0].blocks[0]: \"banana\" is not valid: expected a CIDR or a start-stop range, "
          "like 172.16.1.0/24 or 172.16.2.10-172.16.2.20");
    CHECK(error_of(config("    - {name: blue, blocks: []}\n", "")) ==
          "config.yaml:4: lb_ipam.pools[0].blocks: an empty list is not valid: expected at least one block, like [172.16.1.0/24]");
    CHECK_THAT(error_of(config(kBlue + kBlue, "")), Contains("lb_ipam.pools[1].name: \"blue\" is not valid: expected a "
                                                             "unique name, but lb_ipam.pools[0] already uses it"));
    CHECK_THAT(error_of(config("    - {name: blue, blocks: [172.16.1.0/24, 172.16.1.128/25]}\n", "")),
               Contains("lb_ipam.pools[0].blocks[1]: \"172.16.1.128/25\" is not valid: expected a block that does not "
                        "overlap this pool's 172.16.1.0/24"));
    CHECK_THAT(error_of(config("    - {name: blue, blocks: [172.16.1.0/24], colour: blue}\n", "")),
               Contains("lb_ipam.pools[0].colour: unknown key"));
    CHECK_THAT(error_of(config(kBlue, lb("default/a", 1, 80, "load_balancer_ips: [172.16.9.1], lbipam_ips: [172.16.1.9]"))),
               Contains("services[0].lbipam_ips: a list is not valid: expected no lbipam_ips with load_balancer_ips"));
    CHECK_THAT(error_of(kNet + "services:\n  - {name: default/a, cluster_ip: 10.96.0.1, ports: [{port: 80}], "
                               "lbipam_sharing_key: k}\n"),
               Contains("services[0].lbipam_sharing_key: \"k\" is not valid: expected no lbipam_sharing_key unless type is "
                        "LoadBalancer"));
    // Overlapping pools are not an error: the later is conflicting.
    CHECK(error_of(config(kBlue + "    - {name: red, blocks: [172.16.1.128/25]}\n", "")) == "(parsed without error)");
}

TEST_CASE("lb_ipam: the first free address of the first matching pool, first and last excluded", "[lbipam]") {
    const Assigned a = assigned(config(kBlue, lb("default/a", 1) + lb("default/b", 2) + lb("default/c", 3, 80,
                                                                                           "load_balancer_ips: [172.16.1.2]")));
    CHECK(a.ip("default/a") == "172.16.1.1"); // not 172.16.1.0: the first address of a CIDR is reserved
    CHECK(a.of("default/a").pool == "blue");
    CHECK(a.ip("default/b") == "172.16.1.3"); // 172.16.1.2 is default/c's own load_balancer_ips
    CHECK_FALSE(a.of("default/c").managed);   // fixed addresses are not LB IPAM's
    CHECK(a.of("default/c").ips.empty());
    CHECK(a.pool("blue").total == 254);
    CHECK(a.pool("blue").used == 3);
    CHECK(a.pool("blue").available() == 251);
    // The service's LoadBalancer addresses are what it serves.
    for (const ServiceConfig& s : a.config.services)
        if (s.name == "default/a")
            CHECK(s.lb_ips() == std::vector<Ipv4Addr>{*Ipv4Addr::parse("172.16.1.1")});
}

TEST_CASE("lb_ipam: allow_first_last_ips, /32 blocks and ranges use every address", "[lbipam]") {
    const Assigned a = assigned(config("    - {name: blue, blocks: [172.16.1.0/30], allow_first_last_ips: true}\n",
                                       lb("default/a", 1)));
    CHECK(a.ip("default/a") == "172.16.1.0");
    CHECK(a.pool("blue").total == 4);
    const Assigned b = assigned(config("    - {name: one, blocks: [172.16.1.7/32, 172.16.2.10-172.16.2.11]}\n",
                                       lb("default/a", 1) + lb("default/b", 2) + lb("default/c", 3)));
    CHECK(a.pool("blue").total == 4);
    CHECK(b.pool("one").total == 3);
    CHECK(b.ip("default/a") == "172.16.1.7");
    CHECK(b.ip("default/b") == "172.16.2.10");
    CHECK(b.ip("default/c") == "172.16.2.11");
    const Assigned c = assigned(config("    - {name: small, blocks: [172.16.1.0/30]}\n", lb("default/a", 1) + lb("default/b", 2)));
    CHECK(c.pool("small").total == 2);
    CHECK(c.ip("default/a") == "172.16.1.1");
    CHECK(c.ip("default/b") == "172.16.1.2");
}

TEST_CASE("lb_ipam: the service selector picks the pool", "[lbipam]") {
    const Assigned a = assigned(config("    - {name: web, blocks: [172.16.1.0/24], service_selector: {names: [shop/web]}}\n"
                                       "    - {name: shop, blocks: [172.16.2.0/24], service_selector: {namespaces: [shop]}}\n",
                                       lb("shop/web", 1) + lb("shop/db", 2) + lb("default/x", 3)));
    CHECK(a.ip("shop/web") == "172.16.1.1");
    CHECK(a.ip("shop/db") == "172.16.2.1");
    CHECK(a.ip("default/x") == "pending: no pool selects this service");
}

TEST_CASE("lb_ipam: a requested address", "[lbipam]") {
    const Assigned a = assigned(config(kBlue, lb("default/a", 1) + lb("default/pinned", 2, 80, "lbipam_ips: [172.16.1.1]") +
                                                  lb("default/out", 3, 80, "lbipam_ips: [172.16.9.9]") +
                                                  lb("default/taken", 4, 80, "lbipam_ips: [172.16.1.1]")));
    // Requests go first: default/pinned keeps 172.16.1.1 although default/a sorts before it.
    CHECK(a.ip("default/pinned") == "172.16.1.1");
    CHECK(a.ip("default/a") == "172.16.1.2");
    CHECK(a.ip("default/out") ==
          "pending: requested 172.16.9.9 is in no enabled, non-conflicting pool that selects it");
    CHECK(a.ip("default/taken") == "pending: requested 172.16.1.1 is used by default/pinned");
}

TEST_CASE("lb_ipam: a sharing key shares an address when the ports do not clash", "[lbipam]") {
    const Assigned a = assigned(config(kBlue, lb("default/dns-tcp", 1, 53, "lbipam_sharing_key: dns") +
                                                  lb("default/dns-udp", 2, 80, "lbipam_sharing_key: dns") +
                                                  lb("default/dns-web", 3, 80, "lbipam_sharing_key: dns") +
                                                  lb("default/other", 4, 443, "lbipam_sharing_key: other")));
    CHECK(a.ip("default/dns-tcp") == "172.16.1.1");
    CHECK(a.ip("default/dns-udp") == "172.16.1.1"); // TCP 80 beside TCP 53: shared
    CHECK(a.ip("default/dns-web") == "172.16.1.2"); // TCP 80 clashes with default/dns-udp's: a new address
    CHECK(a.ip("default/other") == "172.16.1.3");   // another key never shares
    CHECK(a.pool("blue").used == 3);
    // A request for a shared address clashing on a port is pending with why.
    const Assigned b = assigned(config(kBlue, lb("default/a", 1, 80, "lbipam_sharing_key: k, lbipam_ips: [172.16.1.5]") +
                                                  lb("default/b", 2, 80, "lbipam_sharing_key: k, lbipam_ips: [172.16.1.5]") +
                                                  lb("default/c", 3, 81, "lbipam_sharing_key: k, lbipam_ips: [172.16.1.5]")));
    CHECK(b.ip("default/a") == "172.16.1.5");
    CHECK(b.ip("default/b") == "pending: requested 172.16.1.5 is shared by default/a, whose port TCP 80 clashes");
    CHECK(b.ip("default/c") == "172.16.1.5");
}

TEST_CASE("lb_ipam: an exhausted pool leaves the service pending with the reason", "[lbipam]") {
    const Assigned a = assigned(config("    - {name: tiny, blocks: [172.16.1.10-172.16.1.11]}\n",
                                       lb("default/a", 1) + lb("default/b", 2) + lb("default/c", 3)));
    CHECK(a.ip("default/a") == "172.16.1.10");
    CHECK(a.ip("default/b") == "172.16.1.11");
    CHECK(a.ip("default/c") == "pending: pool tiny has no free address");
    CHECK(a.of("default/c").managed);
    CHECK(a.pool("tiny").available() == 0);
    CHECK(a.pool("tiny").used == 2);
    // A disabled pool gives nothing.
    const Assigned d = assigned(config("    - {name: off, blocks: [172.16.1.0/24], disabled: true}\n", lb("default/a", 1)));
    CHECK(d.ip("default/a") == "pending: pool off is disabled");
    CHECK(d.pool("off").disabled);
}

TEST_CASE("lb_ipam: of two overlapping pools the later is conflicting and gives nothing", "[lbipam]") {
    const Assigned a = assigned(config(kBlue + "    - {name: red, blocks: [172.16.2.0/24, 172.16.1.128/25], "
                                               "service_selector: {names: [default/r]}}\n",
                                       lb("default/a", 1) + lb("default/r", 2)));
    CHECK_FALSE(a.pool("blue").conflicting);
    CHECK(a.pool("red").conflicting);
    CHECK(a.pool("red").conflict == "block 172.16.1.128/25 overlaps pool blue's 172.16.1.0/24");
    CHECK(a.ip("default/a") == "172.16.1.1");
    // default/r is selected by blue too (no selector), so it gets an address there.
    CHECK(a.ip("default/r") == "172.16.1.2");
    const Assigned b = assigned(config(kBlue + "    - {name: red, blocks: [172.16.1.0/24], service_selector: {names: [default/r]}}\n",
                                       lb("default/r", 2)));
    CHECK(b.pool("red").conflicting);
    CHECK(b.ip("default/r") == "172.16.1.1"); // from blue
    const Assigned c = assigned(config("    - {name: blue, blocks: [172.16.1.0/24], service_selector: {names: [default/a]}}\n"
                                       "    - {name: red, blocks: [172.16.1.0/24], service_selector: {names: [default/r]}}\n",
                                       lb("default/r", 2)));
    CHECK(c.ip("default/r") == "pending: pool red is conflicting");
}

TEST_CASE("lb_ipam: deterministic, and stable when another service is added", "[lbipam]") {
    const std::string pools = kBlue;
    const std::string base = lb("default/a", 1) + lb("default/b", 2, 80, "lbipam_ips: [172.16.1.7]") + lb("default/c", 3);
    const Assigned one = assigned(config(pools, base));
    // The same config in another order (as another node may list it): the same assignment.
    const Assigned two = assigned(config(pools, lb("default/c", 3) + lb("default/b", 2, 80, "lbipam_ips: [172.16.1.7]") +
                                                    lb("default/a", 1)));
    for (const char* name : {"default/a", "default/b", "default/c"}) {
        CHECK(one.ip(name) == two.ip(name));
        CHECK(one.of(name).same_as(two.of(name)));
    }
    CHECK(one.ip("default/a") == "172.16.1.1");
    CHECK(one.ip("default/b") == "172.16.1.7");
    CHECK(one.ip("default/c") == "172.16.1.2");
    // A service added later (by name), anywhere in the list: nothing moves, it takes the next free address.
    const Assigned more = assigned(config(pools, lb("default/d", 4) + base));
    CHECK(more.ip("default/a") == "172.16.1.1");
    CHECK(more.ip("default/b") == "172.16.1.7");
    CHECK(more.ip("default/c") == "172.16.1.2");
    CHECK(more.ip("default/d") == "172.16.1.3");
    // apply_lb_ipam reports only the services whose status changed.
    Config c = more.config;
    CHECK(apply_lb_ipam(more.result, c.services).empty());
    c.services.erase(c.services.begin()); // default/a goes: default/c and default/d move down, default/b is pinned
    const auto changed = apply_lb_ipam(assign_lb_ips(c.lb_ipam, c.services), c.services);
    CHECK(changed == std::vector<std::string>{"default/c", "default/d"});
}

TEST_CASE("lb_ipam: podlane lb-ipam pools and service list render the pools and the pending services", "[lbipam]") {
    const Json data = Json::parse(R"({"pools": [
        {"name": "blue", "disabled": false, "conflicting": false, "conflict": null, "ips_total": 2,
         "ips_available": 0, "ips_used": 2, "blocks": ["172.16.5.0/30"], "services": ["lbipam/a"]},
        {"name": "red", "disabled": true, "conflicting": true, "conflict": "block 172.16.5.2-172.16.5.3 overlaps pool blue's 172.16.5.0/30",
         "ips_total": 2, "ips_available": 1, "ips_used": 1, "blocks": ["172.16.5.2-172.16.5.3"], "services": []}],
        "pending": [{"name": "lbipam/d", "reason": "pool blue has no free address"}]})");
    CHECK(format_lb_ipam_pools(data) ==
          "NAME  DISABLED  CONFLICTING  IPS AVAILABLE  IPS USED  BLOCKS\n"
          "blue  false     False                    0         2  172.16.5.0/30\n"
          "red   true      True                     1         1  172.16.5.2-172.16.5.3\n"
          "pool red is conflicting: block 172.16.5.2-172.16.5.3 overlaps pool blue's 172.16.5.0/30\n"
          "pending: lbipam/d: pool blue has no free address\n");
    CHECK(format_lb_ipam_pools(Json{{"pools", Json::array()}, {"pending", Json::array()}}) ==
          "no LB IPAM pools (lb_ipam.pools in the config)\n");
    const Json services = Json::parse(R"([
        {"id": 2, "name": "lbipam/a", "frontend": "172.16.5.1:80/TCP", "type": "LoadBalancer", "lb_ipam_pool": "blue",
         "backends": [{"address": "10.208.0.21:8080", "state": "active", "local": true}]},
        {"id": 0, "name": "lbipam/d", "frontend": null, "type": "LoadBalancer", "pending": "pool blue has no free address",
         "backends": []}])");
    CHECK(format_services(services) ==
          "ID  FRONTEND           SERVICE TYPE              NAME      BACKEND\n"
          " 2  172.16.5.1:80/TCP  LoadBalancer (pool blue)  lbipam/a  1 => 10.208.0.21:8080 (active, local)\n"
          " -  <pending>          LoadBalancer              lbipam/d  pending: pool blue has no free address\n");
}
