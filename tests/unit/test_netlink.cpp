// attach_pod_interface and friends against real network namespaces. Every
// interface lives in a throwaway namespace; nothing touches the root netns and
// no packet is sent. Needs root (skipped with a warning otherwise).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "control/ports/netlink.h"

using namespace podlane;
using nlohmann::json;

namespace {

int sh(const std::string& cmd) {
    int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string capture(const std::string& cmd) {
    std::string out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
        char buf[4096];
        for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
        ::pclose(p);
    }
    return out;
}

std::string unique_name(const std::string& tag) {
    static int counter = 0;
    return "plt-nl-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

/// A network namespace that exists for the lifetime of the object.
struct TestNetns {
    std::string name;
    std::string path;
    bool created;
    explicit TestNetns(const std::string& tag)
        : name(unique_name(tag)), path("/run/netns/" + name), created(sh("ip netns add " + name) == 0) {}
    ~TestNetns() {
        if (created) sh("ip netns del " + name + " 2>/dev/null");
    }
    TestNetns(const TestNetns&) = delete;
    TestNetns& operator=(const TestNetns&) = delete;

    /// `ip -n <ns> -j <args>` parsed; an empty array when ip prints nothing.
    json ip(const std::string& args) const {
        std::string out = capture("ip -n " + name + " -j " + args + " 2>/dev/null");
        return json::parse(out.find_first_not_of(" \n") == std::string::npos ? "[]" : out);
    }
    bool has_link(const std::string& ifname) const { return !ip("link show dev " + ifname).empty(); }
    /// A persistent TAP (what net_tap gives podlaned) inside this namespace.
    bool add_tap(const std::string& ifname) const {
        return sh("ip -n " + name + " tuntap add dev " + ifname + " mode tap") == 0;
    }
};

bool is_root() {
    if (::geteuid() == 0) return true;
    WARN("skipped: network namespace tests need root");
    return false;
}

bool has_flag(const json& link, const std::string& flag) {
    for (const auto& f : link.value("flags", json::array()))
        if (f == flag) return true;
    return false;
}

PodInterfaceSpec make_spec(const TestNetns& pod) {
    PodInterfaceSpec spec;
    spec.host_ifname = "plt-nl0";
    spec.netns_path = pod.path;
    spec.pod_ifname = "eth0";
    spec.ip = *Ipv4Addr::parse("10.200.0.5");
    spec.gateway = *Ipv4Addr::parse("10.200.0.1");
    spec.mac = MacAddr::from_ipv4(spec.ip);
    spec.mtu = 1400;
    return spec;
}

/// attach_pod_interface as podlaned calls it, from inside `src`.
Result<void> attach_from(const TestNetns& src, const PodInterfaceSpec& spec) {
    return run_in_netns(src.path, [&] { return attach_pod_interface(spec); });
}

std::string message(const Result<void>& r) { return r.ok() ? "(ok)" : r.error().message; }

ino_t inode_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

} // namespace

TEST_CASE("attach_pod_interface moves and configures the interface", "[netlink]") {
    if (!is_root()) return;
    TestNetns src("src"), pod("pod");
    REQUIRE(src.created);
    REQUIRE(pod.created);
    REQUIRE(src.add_tap("plt-nl0"));
    const auto spec = make_spec(pod);

    auto r = attach_from(src, spec);
    INFO(message(r));
    REQUIRE(r.ok());

    CHECK_FALSE(src.has_link("plt-nl0"));
    CHECK_FALSE(src.has_link("eth0"));
    CHECK_FALSE(pod.has_link("plt-nl0"));

    auto links = pod.ip("link show dev eth0");
    REQUIRE(links.size() == 1);
    const auto& link = links[0];
    CHECK(link["ifname"] == "eth0");
    CHECK(link["address"] == "0a:58:0a:c8:00:05");
    CHECK(link["mtu"] == 1400);
    CHECK(has_flag(link, "UP"));

    auto lo = pod.ip("link show dev lo");
    REQUIRE(lo.size() == 1);
    CHECK(has_flag(lo[0], "UP"));

    auto addrs = pod.ip("addr show dev eth0");
    REQUIRE(addrs.size() == 1);
    int inet = 0;
    for (const auto& a : addrs[0]["addr_info"]) {
        CHECK(a["family"] == "inet"); // IPv6 was disabled before the link went up
        if (a["family"] == "inet") {
            ++inet;
            CHECK(a["local"] == "10.200.0.5");
            CHECK(a["prefixlen"] == 32);
        }
    }
    CHECK(inet == 1);

    auto routes = pod.ip("route show table main");
    INFO(routes.dump());
    bool gw_route = false, default_route = false;
    for (const auto& rt : routes) {
        if (rt["dst"] == "10.200.0.1" && rt["dev"] == "eth0" && rt.value("scope", "") == "link" && !rt.contains("gateway"))
            gw_route = true;
        if (rt["dst"] == "default" && rt["dev"] == "eth0" && rt.value("gateway", "") == "10.200.0.1" && has_flag(rt, "onlink"))
            default_route = true;
    }
    CHECK(gw_route);
    CHECK(default_route);
    CHECK(routes.size() == 2);

    if (inode_of("/proc/sys/net/ipv6") != 0)
        CHECK(capture("ip netns exec " + pod.name + " cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6") == "1\n");
}

TEST_CASE("attach_pod_interface reports a missing host interface", "[netlink]") {
    if (!is_root()) return;
    TestNetns src("src"), pod("pod");
    REQUIRE(src.created);
    REQUIRE(pod.created);
    auto spec = make_spec(pod);
    spec.host_ifname = "plt-nl-none";

    auto r = attach_from(src, spec);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "host interface \"plt-nl-none\" not found in podlaned's network namespace");
}

TEST_CASE("attach_pod_interface refuses a name already used in the pod netns", "[netlink]") {
    if (!is_root()) return;
    TestNetns src("src"), pod("pod");
    REQUIRE(src.created);
    REQUIRE(pod.created);
    REQUIRE(src.add_tap("plt-nl0"));
    REQUIRE(pod.add_tap("eth0"));
    const auto spec = make_spec(pod);

    auto r = attach_from(src, spec);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "network namespace " + pod.path + " already has an interface named \"eth0\"");
    CHECK(src.has_link("plt-nl0")); // checked before the move: nothing was moved
    CHECK_FALSE(pod.has_link("plt-nl0"));
}

TEST_CASE("attach_pod_interface names the step the kernel refused", "[netlink]") {
    if (!is_root()) return;
    TestNetns src("src"), pod("pod");
    REQUIRE(src.created);
    REQUIRE(pod.created);
    REQUIRE(src.add_tap("plt-nl0"));
    auto spec = make_spec(pod);
    spec.mtu = 70000; // above a TAP's maximum

    auto r = attach_from(src, spec);
    REQUIRE_FALSE(r.ok());
    INFO(r.error().message);
    CHECK(r.error().message.rfind("setting MTU 70000 on \"eth0\" in " + pod.path + ": Invalid argument", 0) == 0);
    auto links = pod.ip("link show dev eth0");
    REQUIRE(links.size() == 1);
    CHECK_FALSE(has_flag(links[0], "UP"));
}

TEST_CASE("attach_pod_interface reports a missing target netns", "[netlink]") {
    if (!is_root()) return;
    TestNetns src("src");
    REQUIRE(src.created);
    REQUIRE(src.add_tap("plt-nl0"));
    PodInterfaceSpec spec;
    spec.host_ifname = "plt-nl0";
    spec.pod_ifname = "eth0";
    spec.netns_path = "/run/netns/plt-nl-missing-" + std::to_string(::getpid());

    auto r = attach_from(src, spec);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "cannot open network namespace " + spec.netns_path + ": No such file or directory");
    CHECK(src.has_link("plt-nl0"));
}

TEST_CASE("resolve_netns_path", "[netlink]") {
    const std::string missing = "plt-nl-missing-" + std::to_string(::getpid());
    auto r = resolve_netns_path(missing);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "network namespace \"" + missing + "\" not found (/run/netns/" + missing +
                                   " does not exist; create it with: ip netns add " + missing + ")");

    auto abs = resolve_netns_path("/run/netns/" + missing);
    REQUIRE_FALSE(abs.ok());
    CHECK(abs.error().message == "network namespace \"/run/netns/" + missing + "\" not found (/run/netns/" + missing +
                                     " does not exist)");

    auto self = resolve_netns_path("/proc/self/ns/net");
    REQUIRE(self.ok());
    CHECK(*self == "/proc/self/ns/net");

    auto not_ns = resolve_netns_path("/proc/self/ns/uts");
    REQUIRE_FALSE(not_ns.ok());
    CHECK(not_ns.error().message == "/proc/self/ns/uts is not a network namespace");

    CHECK_FALSE(resolve_netns_path("").ok());
    CHECK_FALSE(resolve_netns_path("a/b").ok());
    CHECK_FALSE(resolve_netns_path("..").ok());

    if (!is_root()) return;
    TestNetns ns("res");
    REQUIRE(ns.created);
    auto named = resolve_netns_path(ns.name);
    REQUIRE(named.ok());
    CHECK(*named == ns.path);
}

TEST_CASE("run_in_netns runs on a thread inside the netns", "[netlink]") {
    if (!is_root()) return;
    TestNetns ns("run");
    REQUIRE(ns.created);
    const ino_t before = inode_of("/proc/thread-self/ns/net");
    ino_t inside = 0;

    auto r = run_in_netns(ns.path, [&]() -> Result<void> {
        inside = inode_of("/proc/thread-self/ns/net");
        return make_error("from fn");
    });
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "from fn");
    CHECK(inside == inode_of(ns.path));
    CHECK(inside != before);
    CHECK(inode_of("/proc/thread-self/ns/net") == before);

    CHECK_FALSE(run_in_netns("/proc/self/ns/uts", [] { return Result<void>{}; }).ok());
}
