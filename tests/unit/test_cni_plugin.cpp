// podlane-cni as a runtime drives it: CNI_* variables and a network config
// in, result or error JSON and exit code out, against a fake podlaned.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "cni/cni_plugin.h"

using namespace podlane;
using namespace podlane::cni;
using Json = nlohmann::json;

namespace {

/// A runtime's view: environment, stdin and what podlaned answers.
struct Runtime {
    std::map<std::string, std::string> env{{"CNI_COMMAND", "ADD"},      {"CNI_CONTAINERID", "c0ffee1234567890"},
                                           {"CNI_NETNS", "/proc/self/ns/net"}, {"CNI_IFNAME", "eth0"},
                                           {"CNI_PATH", "/opt/cni/bin"}, {"CNI_ARGS", ""}};
    Json conf{{"cniVersion", "1.1.0"}, {"name", "podlane"}, {"type", "podlane-cni"}, {"socket", "/run/test.sock"}};
    AgentReply reply{AgentReply::Status::Ok,
                     Json{{"ip", "10.210.1.11"}, {"prefix_len", 32}, {"gateway", "10.210.1.1"},
                          {"mac", "0a:58:0a:d2:01:0b"}, {"mtu", 1450}, {"ifname", "eth0"},
                          {"netns", "/proc/self/ns/net"}, {"vhost_socket", ""}, {"endpoint_id", "default/web"}},
                     ""};
    struct Call {
        std::string socket, cmd;
        Json args;
    };
    std::vector<Call> calls;

    PluginOutput run(const std::string& command) {
        env["CNI_COMMAND"] = command;
        return run_plugin(
            [this](const char* name) -> const char* {
                auto it = env.find(name);
                return it == env.end() ? nullptr : it->second.c_str();
            },
            conf.dump(),
            [this](const std::string& socket, const std::string& cmd, const Json& args) {
                calls.push_back(Call{socket, cmd, args});
                return reply;
            });
    }
    Json json(const PluginOutput& out) const { return Json::parse(out.out); }
};

/// The error an invocation printed; fails the test when it succeeded.
Json error_of(Runtime& rt, const std::string& command) {
    PluginOutput out = rt.run(command);
    INFO(out.out);
    REQUIRE(out.exit_code != 0);
    Json e = Json::parse(out.out);
    REQUIRE(e.contains("code"));
    REQUIRE(e.contains("msg"));
    REQUIRE(e.contains("cniVersion"));
    return e;
}

} // namespace

TEST_CASE("cni: VERSION lists the versions, 1.1.0 included", "[cni]") {
    Runtime rt;
    rt.env = {{"CNI_COMMAND", "VERSION"}};
    PluginOutput out = rt.run("VERSION");
    CHECK(out.exit_code == 0);
    Json v = rt.json(out);
    CHECK(v["cniVersion"] == "1.1.0");
    CHECK(v["supportedVersions"] == Json::array({"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}));
    CHECK(rt.calls.empty());
}

TEST_CASE("cni: ADD asks podlaned for the pod and prints a 1.1.0 result", "[cni]") {
    Runtime rt;
    rt.env["CNI_ARGS"] = "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_UID=u1;FOO=bar";
    rt.conf["args"] = {{"cni", {{"labels", {{{"key", "app"}, {"value", "web"}}}}}}};
    rt.conf["dns"] = {{"nameservers", {"10.96.0.10"}}};
    PluginOutput out = rt.run("ADD");
    INFO(out.out);
    REQUIRE(out.exit_code == 0);
    REQUIRE(rt.calls.size() == 1);
    CHECK(rt.calls[0].socket == "/run/test.sock");
    CHECK(rt.calls[0].cmd == "cni.add");
    const Json& a = rt.calls[0].args;
    CHECK(a["container_id"] == "c0ffee1234567890");
    CHECK(a["ifname"] == "eth0");
    CHECK(a["netns"] == "/proc/self/ns/net");
    CHECK(a["pod_namespace"] == "default");
    CHECK(a["pod_name"] == "web");
    CHECK(a["labels"] == Json{{"app", "web"}});
    CHECK_FALSE(a.contains("ip"));
    CHECK_FALSE(a.contains("vhost"));

    Json r = rt.json(out);
    CHECK(r["cniVersion"] == "1.1.0");
    REQUIRE(r["interfaces"].size() == 1);
    CHECK(r["interfaces"][0] ==
          Json{{"name", "eth0"}, {"mac", "0a:58:0a:d2:01:0b"}, {"sandbox", "/proc/self/ns/net"}, {"mtu", 1450}});
    REQUIRE(r["ips"].size() == 1);
    CHECK(r["ips"][0] == Json{{"interface", 0}, {"address", "10.210.1.11/32"}, {"gateway", "10.210.1.1"}});
    CHECK(r["routes"] == Json::array({{{"dst", "0.0.0.0/0"}, {"gw", "10.210.1.1"}}}));
    CHECK(r["dns"]["nameservers"][0] == "10.96.0.10");
}

TEST_CASE("cni: older versions get their own result format", "[cni]") {
    Runtime rt;
    rt.conf["cniVersion"] = "0.3.1";
    Json r = rt.json(rt.run("ADD"));
    CHECK(r["cniVersion"] == "0.3.1");
    CHECK(r["ips"][0]["version"] == "4");
    CHECK_FALSE(r["interfaces"][0].contains("mtu"));
    rt.conf["cniVersion"] = "1.0.0";
    r = rt.json(rt.run("ADD"));
    CHECK_FALSE(r["ips"][0].contains("version"));
    CHECK_FALSE(r["interfaces"][0].contains("mtu"));
}

TEST_CASE("cni: chained after another plugin, ADD appends to prevResult", "[cni]") {
    Runtime rt;
    rt.conf["prevResult"] = {{"cniVersion", "1.1.0"},
                             {"interfaces", {{{"name", "net0"}, {"sandbox", "/proc/self/ns/net"}}}},
                             {"ips", {{{"interface", 0}, {"address", "192.168.9.2/24"}}}},
                             {"dns", {{"search", {"svc"}}}}};
    Json r = rt.json(rt.run("ADD"));
    REQUIRE(r["interfaces"].size() == 2);
    CHECK(r["interfaces"][0]["name"] == "net0");
    CHECK(r["interfaces"][1]["name"] == "eth0");
    REQUIRE(r["ips"].size() == 2);
    CHECK(r["ips"][1]["interface"] == 1);
    CHECK(r["dns"]["search"][0] == "svc");
}

TEST_CASE("cni: a requested address, MAC, hostPorts and vhost-user reach podlaned", "[cni]") {
    Runtime rt;
    rt.env["CNI_ARGS"] = "IP=10.210.1.20/24;MAC=02:00:00:00:00:07;PODLANE_VHOST=1";
    rt.conf["runtimeConfig"] = {{"portMappings", {{{"hostPort", 8088}, {"containerPort", 80}, {"protocol", "udp"}}}}};
    rt.conf["vhostSocketDir"] = "/run/podlane/test-vhost";
    rt.reply.data["vhost_socket"] = "/run/podlane/test-vhost/c0ffee123456-eth0.sock";
    PluginOutput out = rt.run("ADD");
    INFO(out.out);
    REQUIRE(out.exit_code == 0);
    const Json& a = rt.calls.at(0).args;
    CHECK(a["ip"] == "10.210.1.20");
    CHECK(a["mac"] == "02:00:00:00:00:07");
    CHECK(a["host_ports"] == Json::array({{{"host_port", 8088}, {"container_port", 80}, {"protocol", "UDP"}}}));
    CHECK(a["vhost"] == true);
    CHECK(a["vhost_socket_dir"] == "/run/podlane/test-vhost");
    CHECK(rt.json(out)["interfaces"][0]["socketPath"] == "/run/podlane/test-vhost/c0ffee123456-eth0.sock");

    Runtime ips;
    ips.conf["runtimeConfig"] = {{"ips", {"10.210.1.30/24"}}};
    REQUIRE(ips.run("ADD").exit_code == 0);
    CHECK(ips.calls.at(0).args["ip"] == "10.210.1.30");
}

TEST_CASE("cni: invalid environments are code 4 and never reach podlaned", "[cni]") {
    struct Case {
        const char* var;
        const char* value; // nullptr: unset
        const char* msg;
    };
    for (const Case& c : {Case{"CNI_COMMAND", nullptr, "CNI_COMMAND is not set"},
                          Case{"CNI_COMMAND", "ATTACH", "is not ADD, DEL, CHECK"},
                          Case{"CNI_CONTAINERID", nullptr, "CNI_CONTAINERID is not set"},
                          Case{"CNI_CONTAINERID", "-bad/id", "is not valid"},
                          // not UTF-8: the error still prints as JSON (found by tests/fuzz)
                          Case{"CNI_CONTAINERID", "c0ffee\xff", "is not valid"},
                          Case{"CNI_IFNAME", "a-very-long-ifname0", "is not valid"},
                          Case{"CNI_IFNAME", nullptr, "CNI_IFNAME is not set"},
                          Case{"CNI_NETNS", nullptr, "CNI_NETNS is not set"},
                          Case{"CNI_NETNS", "pod-a", "not an absolute path"},
                          Case{"CNI_NETNS", "/run/netns/podlane-no-such-netns", "No such file"},
                          Case{"CNI_PATH", nullptr, "CNI_PATH is not set"},
                          Case{"CNI_ARGS", "K8S_POD_NAME", "is not KEY=VALUE"},
                          Case{"CNI_ARGS", "FOO=bar", "unknown key \"FOO\""},
                          Case{"CNI_ARGS", "IP=10.1.1.300", "is not an IPv4 address"},
                          Case{"CNI_ARGS", "MAC=01:00:5e:00:00:01", "not a unicast MAC"},
                          Case{"CNI_ARGS", "PODLANE_VHOST=maybe", "PODLANE_VHOST=maybe"}}) {
        Runtime rt;
        if (c.value == nullptr)
            rt.env.erase(c.var);
        else
            rt.env[c.var] = c.value;
        PluginOutput out = c.value == nullptr && std::string(c.var) == "CNI_COMMAND"
                               ? run_plugin([&](const char* n) -> const char* {
                                     auto it = rt.env.find(n);
                                     return it == rt.env.end() ? nullptr : it->second.c_str();
                                 }, rt.conf.dump(), [](auto&&...) { return AgentReply{}; })
                               : rt.run(std::string(c.var) == "CNI_COMMAND" ? c.value : "ADD");
        INFO(c.var << "=" << (c.value ? c.value : "(unset)") << ": " << out.out);
        CHECK(out.exit_code == 1);
        Json e = Json::parse(out.out);
        CHECK(e["code"] == 4);
        CHECK_THAT(e["msg"].get<std::string>(), Catch::Contains(c.msg));
        CHECK(rt.calls.empty());
    }
}

TEST_CASE("cni: bad network configs get the spec's codes", "[cni]") {
    struct Case {
        Json change; // merged into the config; null values remove keys
        int code;
        const char* msg;
    };
    for (const Case& c : {Case{{{"cniVersion", "0.2.0"}}, 1, "cniVersion \"0.2.0\" is not supported"},
                          Case{{{"cniVersion", nullptr}}, 7, "cniVersion is missing"},
                          Case{{{"name", nullptr}}, 7, "name is missing"},
                          Case{{{"name", 5}}, 7, "name: 5 is not a string"},
                          Case{{{"ipam", {{"type", "host-local"}}}}, 2, "ipam is not supported"},
                          Case{{{"socket", "relative.sock"}}, 7, "not an absolute path"},
                          Case{{{"runtimeConfig", {{"ips", {"10.1.1.1", "10.1.1.2"}}}}}, 7, "one IPv4 address"},
                          Case{{{"runtimeConfig", {{"portMappings", {{{"hostPort", 0}}}}}}}, 7, "hostPort"},
                          Case{{{"args", {{"cni", {{"labels", {{{"key", "app"}}}}}}}}}, 7, "args.cni.labels"}}) {
        Runtime rt;
        rt.conf.merge_patch(c.change);
        Json e = error_of(rt, "ADD");
        INFO(c.change.dump() << " -> " << e.dump());
        CHECK(e["code"] == c.code);
        CHECK_THAT(e["msg"].get<std::string>(), Catch::Contains(c.msg));
        CHECK(rt.calls.empty());
    }
    Runtime text;
    PluginOutput out = run_plugin([&](const char* n) -> const char* {
        auto it = text.env.find(n);
        return it == text.env.end() ? nullptr : it->second.c_str();
    }, "{not json", [](auto&&...) { return AgentReply{}; });
    CHECK(out.exit_code == 1);
    CHECK(Json::parse(out.out)["code"] == 6);
}

TEST_CASE("cni: podlaned down is code 11, a refusal code 100 with its message", "[cni]") {
    Runtime rt;
    rt.reply = AgentReply{AgentReply::Status::Unreachable, nullptr, "cannot reach podlaned at /run/test.sock"};
    Json down = error_of(rt, "ADD"); // DEL is best-effort: "cni: DEL while podlaned is down ..."
    CHECK(down["code"] == 11);
    CHECK_THAT(down["msg"].get<std::string>(), Catch::Contains("cannot reach podlaned"));
    rt.reply = AgentReply{AgentReply::Status::Refused, nullptr, "no free address left in 10.210.1.0/29"};
    Json e = error_of(rt, "ADD");
    CHECK(e["code"] == 100);
    CHECK_THAT(e["msg"].get<std::string>(), Catch::Contains("no free address left"));
}

TEST_CASE("cni: DEL is idempotent and needs no network namespace", "[cni]") {
    Runtime rt;
    rt.env.erase("CNI_NETNS");
    rt.reply.data = Json{{"released", false}}; // podlaned never heard of it
    PluginOutput out = rt.run("DEL");
    CHECK(out.exit_code == 0);
    CHECK(out.out.empty());
    REQUIRE(rt.calls.size() == 1);
    CHECK(rt.calls[0].cmd == "cni.del");
    CHECK(rt.calls[0].args == Json{{"container_id", "c0ffee1234567890"}, {"ifname", "eth0"}});
}

TEST_CASE("cni: CHECK reports unknown containers, broken pods and a wrong prevResult", "[cni]") {
    Runtime rt;
    const Json attachment = rt.reply.data;
    Json good_prev = {{"cniVersion", "1.1.0"},
                      {"interfaces", {{{"name", "eth0"}, {"sandbox", "/proc/self/ns/net"}}}},
                      {"ips", {{{"interface", 0}, {"address", "10.210.1.11/32"}}}}};
    CHECK(error_of(rt, "CHECK")["msg"] == "CHECK needs prevResult");
    rt.conf["prevResult"] = good_prev;

    rt.reply.data = Json{{"known", false}};
    CHECK(error_of(rt, "CHECK")["code"] == 3);

    rt.reply.data = Json{{"known", true}, {"attachment", attachment}, {"problems", {"\"eth0\" lacks the pod address 10.210.1.11"}}};
    Json e = error_of(rt, "CHECK");
    CHECK(e["code"] == 101);
    CHECK_THAT(e["msg"].get<std::string>(), Catch::Contains("lacks the pod address 10.210.1.11"));

    rt.reply.data = Json{{"known", true}, {"attachment", attachment}, {"problems", Json::array()}};
    PluginOutput ok = rt.run("CHECK");
    CHECK(ok.exit_code == 0);
    CHECK(ok.out.empty());

    rt.conf["prevResult"]["ips"][0]["address"] = "10.210.1.99/32";
    e = error_of(rt, "CHECK");
    CHECK(e["code"] == 101);
    CHECK_THAT(e["msg"].get<std::string>(), Catch::Contains("no address 10.210.1.11"));

    rt.conf["cniVersion"] = "0.3.1";
    CHECK(error_of(rt, "CHECK")["code"] == 1);
}

TEST_CASE("cni: GC sends the valid attachments; STATUS reports a full pool", "[cni]") {
    Runtime rt;
    rt.env = {{"CNI_PATH", "/opt/cni/bin"}};
    CHECK(error_of(rt, "GC")["msg"] == "GC needs cni.dev/valid-attachments");
    rt.conf["cni.dev/valid-attachments"] = {{{"containerID", "a1"}, {"ifname", "eth0"}}};
    rt.reply.data = Json{{"released", Json::array()}};
    PluginOutput out = rt.run("GC");
    CHECK(out.exit_code == 0);
    REQUIRE(rt.calls.size() == 1);
    CHECK(rt.calls[0].cmd == "cni.gc");
    CHECK(rt.calls[0].args == Json{{"valid", {{{"container_id", "a1"}, {"ifname", "eth0"}}}}});

    rt.reply.data = Json{{"free", 3}, {"pod_cidr", "10.210.1.0/24"}};
    CHECK(rt.run("STATUS").exit_code == 0);
    rt.reply.data = Json{{"free", 0}, {"pod_cidr", "10.210.1.0/24"}};
    Json e = error_of(rt, "STATUS");
    CHECK(e["code"] == 50);
    CHECK_THAT(e["msg"].get<std::string>(), Catch::Contains("10.210.1.0/24"));
    rt.reply = AgentReply{AgentReply::Status::Unreachable, nullptr, "down"};
    CHECK(error_of(rt, "STATUS")["code"] == 50);
    rt.conf["cniVersion"] = "1.0.0";
    CHECK(error_of(rt, "GC")["code"] == 1);
}
