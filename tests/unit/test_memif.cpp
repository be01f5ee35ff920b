// memif pods: the endpoint keys in the config (src/control/config/config.cpp), the
// same rules for endpoints added over the API (validate_endpoint), and the
// net_memif devargs podlaned probes (src/control/agent/agent_memif.cpp).
#include <catch2/catch.hpp>

#include <string>

#include "control/config/config.h"
#include "control/ports/memif.h"

using namespace podlane;

namespace {

const std::string kNet = "network:\n  pod_cidr: 10.200.0.0/24\n  gateway_ip: 10.200.0.1\n";

// kNet plus one endpoint default/m (10.200.0.21) with the given extra keys, one per line.
std::string memif_endpoint(const std::string& fields) {
    return kNet + "endpoints:\n  - id: default/m\n    ip: 10.200.0.21\n" + fields;
}

std::string error_of(const std::string& yaml) {
    auto r = parse_config(yaml, "config.yaml");
    return r.ok() ? "(parsed without error)" : r.error().message;
}

} // namespace

TEST_CASE("memif: endpoint keys, defaults and netns made optional", "[memif]") {
    auto r = parse_config(memif_endpoint("    memif_socket: /run/podlane/memif/m.sock\n"
                                         "  - id: default/zc\n    ip: 10.200.0.22\n"
                                         "    memif_socket: /run/pods/zc/memif.sock\n"
                                         "    memif_role: client\n    memif_zero_copy: true\n    netns: zc\n"
                                         "  - id: default/tap\n    ip: 10.200.0.23\n    netns: tap\n"),
                          "config.yaml");
    INFO((r.ok() ? "" : r.error().message));
    REQUIRE(r.ok());
    REQUIRE(r->endpoints.size() == 3);
    const EndpointConfig& m = r->endpoints[0];
    CHECK(m.memif_socket == "/run/podlane/memif/m.sock");
    CHECK(m.memif_role == MemifRole::Server);
    CHECK_FALSE(m.memif_zero_copy);
    CHECK(m.netns.empty());
    CHECK(m.vhost_socket.empty());
    CHECK(m.over_socket());
    const EndpointConfig& zc = r->endpoints[1];
    CHECK(zc.memif_role == MemifRole::Client);
    CHECK(zc.memif_zero_copy);
    CHECK(zc.netns == "zc");
    const EndpointConfig& tap = r->endpoints[2];
    CHECK(tap.memif_socket.empty());
    CHECK_FALSE(tap.over_socket());
}

TEST_CASE("memif: bad endpoint keys are refused, naming the field", "[memif]") {
    const std::string expected_path = "expected an absolute path of at most 107 bytes without commas or spaces";
    CHECK(error_of(memif_endpoint("    memif_socket: run/m.sock\n")) ==
          "config.yaml:7: endpoints[0].memif_socket: \"run/m.sock\" is not valid: " + expected_path);
    CHECK(error_of(memif_endpoint("    memif_socket: \"/run/a,b.sock\"\n")) ==
          "config.yaml:7: endpoints[0].memif_socket: \"/run/a,b.sock\" is not valid: " + expected_path);
    CHECK(error_of(memif_endpoint("    memif_socket: /" + std::string(107, 'a') + "\n")) ==
          "config.yaml:7: endpoints[0].memif_socket: \"/" + std::string(107, 'a') + "\" is not valid: " + expected_path);
    CHECK(error_of(memif_endpoint("    memif_socket: /run/m.sock\n    memif_zero_copy: true\n")) ==
          "config.yaml:8: endpoints[0].memif_zero_copy: true is not valid: expected false with memif_role server "
          "(zero-copy is DPDK's memif client mode: set memif_role: client)");
    CHECK(error_of(memif_endpoint("    memif_socket: /run/m.sock\n    memif_role: server\n    memif_zero_copy: true\n")) ==
          "config.yaml:9: endpoints[0].memif_zero_copy: true is not valid: expected false with memif_role server "
          "(zero-copy is DPDK's memif client mode: set memif_role: client)");
    CHECK(error_of(memif_endpoint("    memif_socket: /run/m.sock\n    memif_role: master\n")) ==
          "config.yaml:8: endpoints[0].memif_role: \"master\" is not valid: expected server or client");
    CHECK(error_of(memif_endpoint("    memif_socket: /run/m.sock\n    memif_zero_copy: yes please\n")) ==
          "config.yaml:8: endpoints[0].memif_zero_copy: \"yes please\" is not valid: expected true or false");
    CHECK(error_of(memif_endpoint("    memif_socket: /run/m.sock\n    vhost_socket: /run/v.sock\n")) ==
          "config.yaml:7: endpoints[0].memif_socket: \"/run/m.sock\" is not valid: expected no memif_socket "
          "together with vhost_socket (a pod attaches over vhost-user or memif, not both)");
    CHECK(error_of(memif_endpoint("    netns: a\n    memif_role: client\n")) ==
          "config.yaml:8: endpoints[0].memif_role: \"client\" is not valid: expected memif_role only with memif_socket");
    CHECK(error_of(memif_endpoint("    netns: a\n    memif_zero_copy: true\n")) ==
          "config.yaml:8: endpoints[0].memif_zero_copy: true is not valid: expected memif_zero_copy only with memif_socket");
    // Without a socket, the pod needs its namespace again.
    CHECK(error_of(memif_endpoint("    memif_role: client\n")) ==
          "config.yaml:5: endpoints[0].netns: required key is missing: expected a namespace name under /run/netns, "
          "like pl-pod-a");
}

TEST_CASE("memif: endpoints added over the API follow the same rules", "[memif]") {
    auto c = parse_config(kNet, "config.yaml");
    REQUIRE(c.ok());
    EndpointConfig ep;
    ep.id = "default/m";
    ep.ip = *Ipv4Addr::parse("10.200.0.21");
    ep.mac = MacAddr::from_ipv4(ep.ip);
    ep.memif_socket = "/run/m.sock";
    ep.memif_role = MemifRole::Client;
    ep.memif_zero_copy = true;
    CHECK(validate_endpoint(ep, *c, "endpoint").ok());
    ep.memif_role = MemifRole::Server;
    CHECK(validate_endpoint(ep, *c, "endpoint").error().message ==
          "endpoint.memif_zero_copy: true is not valid: expected false with memif_role server "
          "(zero-copy is DPDK's memif client mode: set memif_role: client)");
    ep.memif_zero_copy = false;
    ep.memif_socket = "m.sock";
    CHECK(validate_endpoint(ep, *c, "endpoint").error().message ==
          "endpoint.memif_socket: \"m.sock\" is not valid: expected an absolute path of at most 107 bytes without "
          "commas or spaces");
    ep.memif_socket = "/run/m.sock";
    ep.vhost_socket = "/run/v.sock";
    CHECK_THAT(validate_endpoint(ep, *c, "endpoint").error().message,
               Catch::StartsWith("endpoint.memif_socket: \"/run/m.sock\" is not valid: expected no memif_socket"));
    ep.vhost_socket.clear();
    ep.memif_socket.clear();
    CHECK(validate_endpoint(ep, *c, "endpoint").error().message ==
          "endpoint.netns: \"\" is not valid: expected a namespace name under /run/netns (like pl-pod-a) or an absolute path");
}

TEST_CASE("memif: devargs name the role and a path socket, never an abstract one", "[memif]") {
    EndpointConfig ep;
    ep.memif_socket = "/run/pods/m.sock";
    CHECK(memif_devargs(3, ep, 1024) ==
          "net_memif_pl3,role=server,socket=/run/pods/m.sock,id=0,socket-abstract=no,rsize=10");
    ep.memif_role = MemifRole::Client;
    CHECK(memif_devargs(4, ep, 256) ==
          "net_memif_pl4,role=client,socket=/run/pods/m.sock,id=0,socket-abstract=no,rsize=8");
    ep.memif_zero_copy = true;
    CHECK(memif_devargs(5, ep, 64) ==
          "net_memif_pl5,role=client,socket=/run/pods/m.sock,id=0,socket-abstract=no,rsize=6,zero-copy=yes");
}
