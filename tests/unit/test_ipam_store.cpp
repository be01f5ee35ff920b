// The agent's side of CNI without DPDK: the IPAM store (allocation, the
// state file, restart, release, GC, the lock), CHECK's comparison of a pod
// interface, and the cni.* API commands' argument parsing.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/file.h"
#include "control/api/api_server.h"
#include "control/pods/ipam_store.h"
#include "control/pods/pod_check.h"

using namespace podlane;

namespace {

Ipv4Addr ip(const char* s) { return *Ipv4Addr::parse(s); }
Ipv4Prefix cidr(const char* s) { return *Ipv4Prefix::parse(s); }

/// A fresh state directory under /tmp, removed at the end of the test.
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/podlane-ipam-test.XXXXXX";
        path = ::mkdtemp(tmpl);
        path += "/state"; // the store creates it
    }
    ~TempDir() { std::filesystem::remove_all(std::filesystem::path(path).parent_path()); }
};

CniAttachment pod(const std::string& id, const std::string& ifname = "eth0") {
    CniAttachment a;
    a.key = CniKey{id, ifname};
    a.netns = "/run/netns/" + id;
    a.pod_namespace = "default";
    a.pod_name = id;
    a.endpoint_id = "default/" + id;
    a.labels = {{"app", "web"}};
    return a;
}

const auto nobody = [](Ipv4Addr) { return false; };

std::unique_ptr<IpamStore> open_store(const std::string& dir, const char* c = "10.210.1.0/24",
                                      const char* gw = "10.210.1.1") {
    auto s = IpamStore::open(dir, cidr(c), ip(gw));
    INFO((s ? std::string() : s.error().message));
    REQUIRE(s);
    return std::move(*s);
}

std::string state_text(const std::string& path) {
    auto text = read_file(path);
    INFO((text ? std::string() : text.error().message));
    REQUIRE(text);
    return std::move(*text);
}

} // namespace

TEST_CASE("ipam store: every pod of a /29 gets a distinct host address, never the gateway", "[cni]") {
    TempDir dir;
    {
        auto store = open_store(dir.path, "10.210.1.0/29", "10.210.1.1");
        CHECK(store->capacity() == 5); // .1-.6 minus the gateway
        std::set<Ipv4Addr> seen;
        for (int i = 0; i < 5; ++i) {
            auto a = store->allocate(pod("c" + std::to_string(i)), std::nullopt, nobody);
            REQUIRE(a);
            CHECK(a->ip != ip("10.210.1.0"));
            CHECK(a->ip != ip("10.210.1.1"));
            CHECK(a->ip != ip("10.210.1.7"));
            CHECK(cidr("10.210.1.0/29").contains(a->ip));
            CHECK(a->mac == MacAddr::from_ipv4(a->ip));
            CHECK(seen.insert(a->ip).second);
        }
        auto full = store->allocate(pod("c5"), std::nullopt, nobody);
        REQUIRE_FALSE(full);
        CHECK_THAT(full.error().message, Catch::Contains("no free address left in 10.210.1.0/29"));
    }
}

TEST_CASE("ipam store: addresses other endpoints use are skipped, requested ones checked", "[cni]") {
    TempDir dir;
    auto store = open_store(dir.path);
    auto taken = [](Ipv4Addr a) { return a == ip("10.210.1.2") || a == ip("10.210.1.3"); };
    auto a = store->allocate(pod("a"), std::nullopt, taken);
    REQUIRE(a);
    CHECK(a->ip == ip("10.210.1.4"));

    auto want = store->allocate(pod("b"), ip("10.210.1.11"), taken);
    REQUIRE(want);
    CHECK(want->ip == ip("10.210.1.11"));
    struct Bad {
        const char* addr;
        const char* why;
    };
    for (Bad bad : {Bad{"10.210.1.11", "is already allocated"}, Bad{"10.210.1.3", "is used by another endpoint"},
                    Bad{"10.210.1.1", "is the gateway"}, Bad{"10.210.1.0", "network or broadcast"},
                    Bad{"10.210.1.255", "network or broadcast"}, Bad{"10.210.2.5", "outside the PodCIDR"}}) {
        auto r = store->allocate(pod("c"), ip(bad.addr), taken);
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains(bad.addr) && Catch::Contains(bad.why));
    }
    auto twice = store->allocate(pod("a"), std::nullopt, taken);
    REQUIRE_FALSE(twice);
    CHECK_THAT(twice.error().message, Catch::Contains("a/eth0 already has address 10.210.1.4"));
    CHECK(store->allocated() == 2);
}

TEST_CASE("ipam store: allocations survive a reopen (agent restart), with every field", "[cni]") {
    TempDir dir;
    CniAttachment want = pod("web-1");
    want.host_ports = {HostPortConfig{8088, 8080, L4Proto::Udp}};
    want.vhost_socket = "/run/podlane/vhost/web-1-eth0.sock";
    want.mac = *MacAddr::parse("02:00:00:00:00:01");
    Ipv4Addr first, second;
    {
        auto store = open_store(dir.path);
        first = store->allocate(want, std::nullopt, nobody)->ip;
        second = store->allocate(pod("web-2"), std::nullopt, nobody)->ip;
    }
    auto store = open_store(dir.path);
    REQUIRE(store->allocated() == 2);
    const CniAttachment* a = store->find(CniKey{"web-1", "eth0"});
    REQUIRE(a != nullptr);
    CHECK(a->ip == first);
    CHECK(a->netns == want.netns);
    CHECK(a->endpoint_id == "default/web-1");
    CHECK(a->labels == want.labels);
    CHECK(a->mac == want.mac);
    CHECK(a->vhost_socket == want.vhost_socket);
    REQUIRE(a->host_ports.size() == 1);
    CHECK(a->host_ports[0].host_port == 8088);
    CHECK(a->host_ports[0].container_port == 8080);
    CHECK(a->host_ports[0].protocol == L4Proto::Udp);
    CHECK(store->find(CniKey{"web-2", "eth0"})->ip == second);
    // Round-robin goes on after the restart: the next address is new.
    auto third = store->allocate(pod("web-3"), std::nullopt, nobody);
    REQUIRE(third);
    CHECK(third->ip.host() == second.host() + 1);
    // The state is written atomically: no temporary file is left behind.
    CHECK_FALSE(std::filesystem::exists(dir.path + "/" + IpamStore::kStateFile + ".tmp"));
}

TEST_CASE("ipam store: release frees the address, persistently, and is not reused at once", "[cni]") {
    TempDir dir;
    Ipv4Addr freed;
    {
        auto store = open_store(dir.path);
        freed = store->allocate(pod("a"), std::nullopt, nobody)->ip;
        REQUIRE(store->allocate(pod("b"), std::nullopt, nobody));
        auto r = store->release(CniKey{"a", "eth0"});
        REQUIRE(r);
        CHECK(*r);
        auto again = store->release(CniKey{"a", "eth0"});
        REQUIRE(again);
        CHECK_FALSE(*again); // unknown: nothing to do
    }
    auto store = open_store(dir.path);
    CHECK(store->allocated() == 1);
    CHECK(store->find(CniKey{"a", "eth0"}) == nullptr);
    auto next = store->allocate(pod("c"), std::nullopt, nobody);
    REQUIRE(next);
    CHECK(next->ip != freed);
    // The freed address can be asked for again.
    CHECK(store->allocate(pod("d"), freed, nobody));
}

TEST_CASE("ipam store: churn of 200 add/release cycles leaks nothing", "[cni]") {
    TempDir dir;
    {
        auto store = open_store(dir.path, "10.210.1.0/28", "10.210.1.1"); // 13 addresses: wraps around often
        REQUIRE(store->allocate(pod("keep"), std::nullopt, nobody));
        for (int i = 0; i < 200; ++i) {
            const std::string id = "churn" + std::to_string(i);
            auto a = store->allocate(pod(id), std::nullopt, nobody);
            REQUIRE(a);
            CHECK(a->ip != store->find(CniKey{"keep", "eth0"})->ip);
            REQUIRE(store->release(CniKey{id, "eth0"}));
        }
        CHECK(store->allocated() == 1);
    }
    CHECK(open_store(dir.path, "10.210.1.0/28", "10.210.1.1")->allocated() == 1);
}

TEST_CASE("ipam store: GC keeps the valid attachments and releases the rest", "[cni]") {
    TempDir dir;
    {
        auto store = open_store(dir.path);
        for (const char* id : {"a", "b", "c"})
            REQUIRE(store->allocate(pod(id), std::nullopt, nobody));
        REQUIRE(store->allocate(pod("a", "net1"), std::nullopt, nobody));
        auto gone = store->retain({CniKey{"b", "eth0"}, CniKey{"a", "net1"}, CniKey{"zz", "eth0"}});
        REQUIRE(gone);
        std::set<std::string> released;
        for (const CniAttachment& a : *gone)
            released.insert(a.key.str());
        CHECK(released == std::set<std::string>{"a/eth0", "c/eth0"});
    }
    auto store = open_store(dir.path);
    CHECK(store->allocated() == 2);
    CHECK(store->find(CniKey{"b", "eth0"}) != nullptr);
    CHECK(store->find(CniKey{"a", "net1"}) != nullptr);
}

TEST_CASE("ipam store: a second agent cannot open the same directory", "[cni]") {
    TempDir dir;
    auto first = open_store(dir.path);
    auto second = IpamStore::open(dir.path, cidr("10.210.1.0/24"), ip("10.210.1.1"));
    REQUIRE_FALSE(second);
    CHECK_THAT(second.error().message, Catch::Contains("in use by another podlaned") &&
                                           Catch::Contains("pid " + std::to_string(::getpid())));
    first.reset();
    CHECK(IpamStore::open(dir.path, cidr("10.210.1.0/24"), ip("10.210.1.1")));
}

TEST_CASE("ipam store: a changed PodCIDR drops what no longer fits; a corrupt file is refused", "[cni]") {
    TempDir dir;
    {
        auto store = open_store(dir.path);
        REQUIRE(store->allocate(pod("in"), ip("10.210.1.200"), nobody));
        REQUIRE(store->allocate(pod("out"), ip("10.210.1.5"), nobody));
    }
    {
        auto store = open_store(dir.path, "10.210.1.128/25", "10.210.1.129");
        CHECK(store->allocated() == 1);
        REQUIRE(store->dropped().size() == 1);
        CHECK_THAT(store->dropped()[0], Catch::Contains("out/eth0") && Catch::Contains("outside"));
    }
    CHECK(open_store(dir.path, "10.210.1.128/25", "10.210.1.129")->dropped().empty()); // written back
    std::ofstream(dir.path + "/" + IpamStore::kStateFile) << "{\"attachments\": [";
    auto bad = IpamStore::open(dir.path, cidr("10.210.1.0/24"), ip("10.210.1.1"));
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error().message, Catch::Contains("not valid JSON") && Catch::Contains("attachments.json"));
}

TEST_CASE("ipam store: the state file is JSON a person can read", "[cni]") {
    TempDir dir;
    auto store = open_store(dir.path);
    REQUIRE(store->allocate(pod("web"), ip("10.210.1.11"), nobody));
    auto j = nlohmann::json::parse(state_text(dir.path + "/" + IpamStore::kStateFile));
    CHECK(j["pod_cidr"] == "10.210.1.0/24");
    REQUIRE(j["attachments"].size() == 1);
    CHECK(j["attachments"][0]["ip"] == "10.210.1.11");
    CHECK(j["attachments"][0]["container_id"] == "web");
    CHECK(j["attachments"][0]["endpoint_id"] == "default/web");
}

TEST_CASE("pod check: a healthy pod has no problems; each breakage is named", "[cni]") {
    PodInterfaceSpec want{.host_ifname = "pl0001",
                          .netns_path = "/run/netns/p",
                          .pod_ifname = "eth0",
                          .mac = MacAddr::from_ipv4(ip("10.210.1.11")),
                          .ip = ip("10.210.1.11"),
                          .gateway = ip("10.210.1.1"),
                          .mtu = 1450};
    PodInterfaceState ok{.up = true,
                         .mac = want.mac,
                         .mtu = 1400, // lowered by a chained plugin: fine
                         .addresses = {{ip("10.210.1.11"), 32}},
                         .routes = {{cidr("10.210.1.1/32"), Ipv4Addr{}}, {cidr("0.0.0.0/0"), ip("10.210.1.1")}}};
    CHECK(pod_interface_problems(want, ok).empty());

    PodInterfaceState no_addr = ok;
    no_addr.addresses.clear();
    auto p = pod_interface_problems(want, no_addr);
    REQUIRE(p.size() == 1);
    CHECK_THAT(p[0], Catch::Contains("lacks the pod address 10.210.1.11") && Catch::Contains("none"));

    PodInterfaceState no_route = ok;
    no_route.routes.pop_back();
    p = pod_interface_problems(want, no_route);
    REQUIRE(p.size() == 1);
    CHECK_THAT(p[0], Catch::Contains("no default route via the gateway 10.210.1.1"));

    PodInterfaceState wrong_gw = ok;
    wrong_gw.routes.back().gateway = ip("10.210.1.9");
    CHECK(pod_interface_problems(want, wrong_gw).size() == 1);

    PodInterfaceState broken = ok;
    broken.up = false;
    broken.mac = *MacAddr::parse("02:00:00:00:00:09");
    broken.mtu = 9000;
    p = pod_interface_problems(want, broken);
    REQUIRE(p.size() == 3);
    CHECK_THAT(p[0], Catch::Contains("is down"));
    CHECK_THAT(p[1], Catch::Contains("02:00:00:00:00:09") && Catch::Contains(want.mac.str()));
    CHECK_THAT(p[2], Catch::Contains("MTU 9000") && Catch::Contains("1450"));
}

namespace {

/// A ControlApi that serves only the CNI commands and records what it got.
class CniFake : public ControlApi {
public:
    Json status() override { return {}; }
    Json endpoint_list() override { return {}; }
    Result<Json> endpoint_add(const EndpointConfig&) override { return Json(); }
    Result<void> endpoint_delete(const std::string&) override { return {}; }
    Json stats() override { return {}; }
    Json ipcache_list() override { return {}; }
    Json identity_list() override { return {}; }
    Json neighbor_list() override { return {}; }
    Json service_list() override { return {}; }
    Result<Json> service_maglev(const std::string&) override { return Json(); }
    Json ct_list() override { return {}; }
    Json nat_list() override { return {}; }
    Result<Json> service_update(const std::string&) override { return Json(); }
    Result<Json> service_delete(const std::string&) override { return Json(); }
    Json flow_list(uint64_t, uint32_t) override { return {}; }
    Result<Json> cni_add(const CniAddRequest& r) override {
        add = r;
        return Json{{"ip", r.ip ? r.ip->str() : "10.210.1.2"}};
    }
    Result<Json> cni_del(const CniKey& k) override {
        del = k;
        return make_error("refused for the test");
    }
    Result<Json> cni_gc(const std::vector<CniKey>& valid) override {
        gc = valid;
        return Json{{"released", Json::array()}};
    }
    std::optional<CniAddRequest> add;
    std::optional<CniKey> del;
    std::vector<CniKey> gc;
};

Json answer(ControlApi& api, const Json& request) { return Json::parse(handle_request_line(api, request.dump())); }

} // namespace

TEST_CASE("api: cni.add's arguments reach the control API typed", "[cni]") {
    CniFake api;
    Json r = answer(api, {{"cmd", "cni.add"},
                          {"args",
                           {{"container_id", "c1"},
                            {"ifname", "eth0"},
                            {"netns", "/run/netns/p1"},
                            {"pod_namespace", "default"},
                            {"pod_name", "web-1"},
                            {"labels", {{"app", "web"}}},
                            {"ip", "10.210.1.11"},
                            {"mac", "02:00:00:00:00:01"},
                            {"host_ports", {{{"host_port", 8088}, {"container_port", 8080}, {"protocol", "UDP"}}}},
                            {"vhost", true},
                            {"vhost_socket_dir", "/run/x"}}}});
    CHECK(r["ok"] == true);
    CHECK(r["data"]["ip"] == "10.210.1.11");
    REQUIRE(api.add);
    CHECK(api.add->key == CniKey{"c1", "eth0"});
    CHECK(api.add->netns == "/run/netns/p1");
    CHECK(api.add->pod_name == "web-1");
    CHECK(api.add->labels.at("app") == "web");
    CHECK(api.add->mac == MacAddr::parse("02:00:00:00:00:01"));
    REQUIRE(api.add->host_ports.size() == 1);
    CHECK(api.add->host_ports[0].protocol == L4Proto::Udp);
    CHECK(api.add->vhost);
    CHECK(api.add->vhost_socket_dir == "/run/x");
}

TEST_CASE("api: cni.* refuse bad arguments and relay refusals", "[cni]") {
    CniFake api;
    struct Case {
        Json request;
        const char* error;
    };
    for (const Case& c : {
             Case{{{"cmd", "cni.add"}, {"args", {{"container_id", "c1"}, {"ifname", "eth0"}}}}, "missing argument \"netns\""},
             Case{{{"cmd", "cni.add"}, {"args", {{"container_id", "c1"}, {"ifname", "eth0"}, {"netns", "/n"}, {"ip", "10.0.0.300"}}}},
                  "ip: \"10.0.0.300\" is not an IPv4 address"},
             Case{{{"cmd", "cni.add"}, {"args", {{"container_id", "c1"}, {"ifname", "eth0"}, {"netns", "/n"}, {"bogus", 1}}}},
                  "unknown argument \"bogus\""},
             Case{{{"cmd", "cni.del"}, {"args", {{"container_id", "c1"}}}}, "missing argument \"ifname\""},
             Case{{{"cmd", "cni.del"}, {"args", {{"container_id", "c1"}, {"ifname", "eth0"}}}}, "refused for the test"},
             Case{{{"cmd", "cni.gc"}, {"args", Json::object()}}, "missing argument \"valid\""},
             Case{{{"cmd", "cni.list"}}, "does not serve CNI commands"},
         }) {
        Json r = answer(api, c.request);
        INFO(c.request.dump());
        CHECK(r["ok"] == false);
        CHECK_THAT(r["error"].get<std::string>(), Catch::Contains(c.error));
    }
    Json gc = answer(api, {{"cmd", "cni.gc"}, {"args", {{"valid", {{{"container_id", "a"}, {"ifname", "eth0"}}}}}}});
    CHECK(gc["ok"] == true);
    REQUIRE(api.gc.size() == 1);
    CHECK(api.gc[0] == CniKey{"a", "eth0"});
}
