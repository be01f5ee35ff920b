// What issue 24 asked of the CNI path: DEL is best-effort while podlaned is
// down (records in common/pending_delete.h, the plugin's DEL), endpoint ids
// for runtimes that send only K8S_POD_NAME (podman), and hostPorts refused
// on a node that cannot serve them.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>
#include <map>
#include <string>

#include "cni/cni_plugin.h"
#include "common/pending_delete.h"
#include "control/config/config.h"
#include "control/pods/cni_endpoint_id.h"

using namespace podlane;
using Json = nlohmann::json;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/podlane-pending-test.XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

/// Runs podlane-cni's DEL of c0ffee/eth0 against a podlaned that answers `reply`.
cni::PluginOutput del(const std::string& socket, cni::AgentReply reply, int* calls = nullptr) {
    std::map<std::string, std::string> env{{"CNI_COMMAND", "DEL"}, {"CNI_CONTAINERID", "c0ffee"},
                                           {"CNI_IFNAME", "eth0"},  {"CNI_PATH", "/opt/cni/bin"}};
    Json conf{{"cniVersion", "1.0.0"}, {"name", "podlane"}, {"type", "podlane-cni"}, {"socket", socket}};
    return cni::run_plugin(
        [&](const char* name) -> const char* {
            auto it = env.find(name);
            return it == env.end() ? nullptr : it->second.c_str();
        },
        conf.dump(),
        [&](const std::string&, const std::string& cmd, const Json&) {
            CHECK(cmd == "cni.del");
            if (calls)
                ++*calls;
            return reply;
        });
}

CniAddRequest request(const std::string& ns, const std::string& name) {
    CniAddRequest r;
    r.key = CniKey{"3f2a9c1d8e7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa998877", "eth0"};
    r.pod_namespace = ns;
    r.pod_name = name;
    return r;
}

} // namespace

TEST_CASE("cni: pending DEL records round-trip on disk", "[cni]") {
    TempDir tmp;
    const std::string dir = pending_delete_dir(tmp.path + "/run/api.sock");
    CHECK(dir == tmp.path + "/run/api.sock.pending-del");
    CHECK(list_pending_deletes(dir).empty()); // no directory yet
    REQUIRE(record_pending_delete(dir, {"b.1-x", "eth0"}));
    REQUIRE(record_pending_delete(dir, {"a", "net1%odd"}));
    REQUIRE(record_pending_delete(dir, {"a", "net1%odd"})); // twice is fine
    CHECK((std::filesystem::status(dir).permissions() & std::filesystem::perms::all) == std::filesystem::perms::owner_all);
    CHECK(list_pending_deletes(dir) == std::vector<PendingDelete>{{"a", "net1%odd"}, {"b.1-x", "eth0"}});
    REQUIRE(forget_pending_delete(dir, {"a", "net1%odd"}));
    REQUIRE(forget_pending_delete(dir, {"a", "net1%odd"})); // already gone
    CHECK(list_pending_deletes(dir) == std::vector<PendingDelete>{{"b.1-x", "eth0"}});
    CHECK_FALSE(record_pending_delete(dir, {"../x", "eth0"}));
    CHECK_FALSE(record_pending_delete(dir, {"a%b", "eth0"}));
}

TEST_CASE("cni: DEL while podlaned is down succeeds and leaves a record; DEL once it answers forgets it", "[cni]") {
    TempDir tmp;
    const std::string socket = tmp.path + "/api.sock";
    const std::string dir = pending_delete_dir(socket);
    cni::PluginOutput out = del(socket, cni::AgentReply{cni::AgentReply::Status::Unreachable, nullptr, "connection refused"});
    INFO(out.out);
    CHECK(out.exit_code == 0);
    CHECK(out.out.empty());
    CHECK(list_pending_deletes(dir) == std::vector<PendingDelete>{{"c0ffee", "eth0"}});

    // The runtime retries, or another DEL comes: podlaned answers, the record goes.
    int calls = 0;
    out = del(socket, cni::AgentReply{cni::AgentReply::Status::Ok, Json{{"released", true}}, ""}, &calls);
    CHECK(out.exit_code == 0);
    CHECK(calls == 1);
    CHECK(list_pending_deletes(dir).empty());

    // A refusal is reported as before and leaves no record.
    out = del(socket, cni::AgentReply{cni::AgentReply::Status::Refused, nullptr, "state dir unwritable"});
    CHECK(out.exit_code == 1);
    CHECK(Json::parse(out.out)["code"] == 100);
    CHECK(list_pending_deletes(dir).empty());
}

TEST_CASE("cni: DEL while podlaned is down fails with 11 when nothing can be recorded", "[cni]") {
    TempDir tmp;
    const std::string file = tmp.path + "/not-a-dir";
    std::FILE* f = std::fopen(file.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fclose(f);
    cni::PluginOutput out =
        del(file + "/api.sock", cni::AgentReply{cni::AgentReply::Status::Unreachable, nullptr, "connection refused"});
    INFO(out.out);
    CHECK(out.exit_code == 1);
    Json e = Json::parse(out.out);
    CHECK(e["code"] == 11);
    CHECK_THAT(e["details"].get<std::string>(), Catch::Contains("could not be recorded"));
}

TEST_CASE("cni: endpoint ids from namespace/name, the name alone (podman), or the container id", "[cni]") {
    auto nobody = [](const std::string&) { return false; };
    CHECK(cni_endpoint_id(request("default", "web-1"), nobody) == "default/web-1");
    CHECK(cni_endpoint_id(request("", "web-1"), nobody) == "web-1");
    CHECK(cni_endpoint_id(request("", ""), nobody) ==
          "3f2a9c1d8e7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa998877");
    CHECK(cni_endpoint_id(request("default", ""), nobody) ==
          "3f2a9c1d8e7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa998877");
    // Another podman (another storage root) or a static endpoint has the name: stay unique.
    auto web1_taken = [](const std::string& id) { return id == "web-1"; };
    CHECK(cni_endpoint_id(request("", "web-1"), web1_taken) == "web-1-3f2a9c1d8e7b");
}

TEST_CASE("cni: hostPorts are refused on a node without an uplink", "[cni]") {
    auto config = parse_config("network:\n  pod_cidr: 10.200.0.0/24\n  gateway_ip: 10.200.0.1\n", "test.yaml");
    REQUIRE(config);
    EndpointConfig ep;
    ep.id = "web";
    ep.ip = *Ipv4Addr::parse("10.200.0.11");
    ep.mac = MacAddr::from_ipv4(ep.ip);
    ep.netns = "pod-web";
    auto plain = validate_endpoint(ep, *config, "endpoint");
    INFO((plain ? "" : plain.error().message));
    REQUIRE(plain);
    ep.host_ports = {HostPortConfig{8080, 80, L4Proto::Tcp}};
    auto refused = validate_endpoint(ep, *config, "endpoint");
    REQUIRE_FALSE(refused);
    CHECK_THAT(refused.error().message, Catch::StartsWith("endpoint.host_ports: hostPort 8080 cannot be served"));
    CHECK_THAT(refused.error().message, Catch::Contains("uplink"));

    auto with_uplink = parse_config("node: {name: n1, ip: 192.168.50.2}\n"
                                    "network:\n  pod_cidr: 10.200.0.0/24\n  gateway_ip: 10.200.0.1\n"
                                    "uplinks: [{name: eth0, devargs: 'net_af_packet0,iface=veth0'}]\n",
                                    "test.yaml");
    INFO((with_uplink ? "" : with_uplink.error().message));
    REQUIRE(with_uplink);
    CHECK(validate_endpoint(ep, *with_uplink, "endpoint"));
}
