// The local API server, end to end over a real unix socket with the CLI's
// client, against a fake ControlApi; and the CLI's table formatting.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "client/api_client.h"
#include "cli/format.h"
#include "control/api/api_server.h"

using namespace podlane;

namespace {

/// Records the calls it gets; answers canned data or a configured error.
class FakeControlApi : public ControlApi {
public:
    Json status() override { return record("status"), Json{{"node", "node1"}, {"endpoints", 2}}; }
    Json endpoint_list() override { return record("endpoint.list"), Json::array(); }
    Result<Json> endpoint_add(const EndpointConfig& ep) override {
        record("endpoint.add");
        std::lock_guard lock(mu_);
        added_.push_back(ep);
        if (fail_with_)
            return make_error(*fail_with_);
        return Json{{"id", ep.id}, {"ip", ep.ip.str()}};
    }
    Result<void> endpoint_delete(const std::string& id) override {
        record("endpoint.delete " + id);
        std::lock_guard lock(mu_);
        if (fail_with_)
            return make_error(*fail_with_);
        return {};
    }
    Json stats() override { return record("stats"), Json{{"workers", Json::array()}}; }
    Json ipcache_list() override {
        return record("ipcache.list"), Json::array({{{"prefix", "10.200.1.0/24"}, {"identity", 2},
                                                     {"identity_name", "reserved:world"},
                                                     {"tunnel_endpoint", "192.168.50.12"},
                                                     {"source", "remote-pod-cidr"}}});
    }
    Json identity_list() override {
        return record("identity.list"), Json::array({{{"id", 1}, {"labels", Json::array({"reserved:host"})},
                                                      {"reserved", true}, {"endpoints", 0}}});
    }
    Json neighbor_list() override {
        return record("neighbor.list"), Json::array({{{"ip", "192.168.50.12"}, {"mac", "02:00:00:00:00:0c"},
                                                      {"state", "reachable"}, {"port", "eth0"},
                                                      {"age_ms", 1234}, {"probes", 0}}});
    }
    Json service_list() override { return record("service.list"), Json::array(); }
    Result<Json> service_maglev(const std::string& service) override {
        record("service.maglev " + service);
        return Json{{"m", 251}};
    }
    Result<Json> service_update(const std::string& yaml) override {
        record("service.update " + yaml);
        return Json{{"changed", Json::array()}};
    }
    Result<Json> service_delete(const std::string& name) override {
        record("service.delete " + name);
        return Json{{"changed", Json::array({name})}};
    }
    Json ct_list() override { return record("ct.list"), Json::array(); }
    Json nat_list() override { return record("nat.list"), Json::array(); }
    Json flow_list(uint64_t since, uint32_t last) override {
        record("flow.list " + std::to_string(since) + " " + std::to_string(last));
        return Json{{"events", Json::array()}, {"next", since}};
    }

    void fail_with(std::string message) {
        std::lock_guard lock(mu_);
        fail_with_ = std::move(message);
    }
    std::vector<std::string> calls() {
        std::lock_guard lock(mu_);
        return calls_;
    }
    std::vector<EndpointConfig> added() {
        std::lock_guard lock(mu_);
        return added_;
    }

private:
    void record(std::string call) {
        std::lock_guard lock(mu_);
        calls_.push_back(std::move(call));
    }

    std::mutex mu_; // the server calls from its io thread, the test reads from its own
    std::vector<std::string> calls_;
    std::vector<EndpointConfig> added_;
    std::optional<std::string> fail_with_;
};

/// A unique socket path under /tmp, in a directory the server creates.
std::string temp_socket_path() {
    static std::atomic<int> counter{0};
    return "/tmp/podlane-api-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "/api.sock";
}

/// An ApiServer on a temp socket, its io_context running in a thread.
struct ServerFixture {
    FakeControlApi api;
    boost::asio::io_context io;
    std::string path = temp_socket_path();
    std::string dir = std::filesystem::path(path).parent_path().string();
    ApiServer server{io, api, path};
    std::thread thread;

    ServerFixture() {
        auto started = server.start();
        INFO((started ? std::string() : started.error().message));
        REQUIRE(started.ok());
        thread = std::thread([this] { io.run(); });
    }
    ~ServerFixture() {
        shutdown();
        std::filesystem::remove_all(dir);
    }
    /// Stops the server on its own thread and waits for the io thread to finish.
    void shutdown() {
        if (!thread.joinable())
            return;
        boost::asio::post(io, [this] { server.stop(); });
        thread.join();
    }
    Result<Json> call(const std::string& cmd, const Json& args = Json::object()) { return call_api(path, cmd, args); }
};

std::string error_of(const Result<Json>& r) { return r ? "(no error)" : r.error().message; }

} // namespace

TEST_CASE("api: status round-trips through socket, server and client", "[api]") {
    ServerFixture f;
    auto data = f.call("status");
    REQUIRE(data.ok());
    CHECK(*data == Json{{"node", "node1"}, {"endpoints", 2}});
    CHECK(f.api.calls() == std::vector<std::string>{"status"});
}

TEST_CASE("api: endpoint.add passes an EndpointConfig with defaults filled in", "[api]") {
    ServerFixture f;
    auto data = f.call("endpoint.add", {{"id", "default/web-1"}, {"ip", "10.200.0.5"}, {"netns", "pod-web-1"},
                                        {"labels", {{"app", "web"}, {"tier", "front"}}}});
    REQUIRE(data.ok());
    CHECK((*data)["id"] == "default/web-1");
    auto added = f.api.added();
    REQUIRE(added.size() == 1);
    CHECK(added[0].id == "default/web-1");
    CHECK(added[0].ip.str() == "10.200.0.5");
    CHECK(added[0].mac.str() == "0a:58:0a:c8:00:05");
    CHECK(added[0].netns == "pod-web-1");
    CHECK(added[0].ifname == "eth0");
    CHECK(added[0].labels == std::map<std::string, std::string>{{"app", "web"}, {"tier", "front"}});

    SECTION("explicit mac and ifname are kept") {
        REQUIRE(f.call("endpoint.add", {{"id", "b"}, {"ip", "10.200.0.6"}, {"netns", "/run/netns/b"},
                                        {"mac", "02:00:00:00:00:01"}, {"ifname", "net1"}})
                    .ok());
        added = f.api.added();
        REQUIRE(added.size() == 2);
        CHECK(added[1].mac.str() == "02:00:00:00:00:01");
        CHECK(added[1].ifname == "net1");
        CHECK(added[1].labels.empty());
        CHECK(added[1].host_ports.empty());
    }

    SECTION("host ports: container port and protocol default to the host port and TCP") {
        REQUIRE(f.call("endpoint.add", {{"id", "c"}, {"ip", "10.200.0.7"}, {"netns", "c"},
                                        {"host_ports", {{{"host_port", 8080}, {"container_port", 80}},
                                                        {{"host_port", 5353}, {"protocol", "UDP"}}}}})
                    .ok());
        added = f.api.added();
        REQUIRE(added.size() == 2);
        REQUIRE(added[1].host_ports.size() == 2);
        CHECK(added[1].host_ports[0].host_port == 8080);
        CHECK(added[1].host_ports[0].container_port == 80);
        CHECK(added[1].host_ports[0].protocol == L4Proto::Tcp);
        CHECK(added[1].host_ports[1].container_port == 5353);
        CHECK(added[1].host_ports[1].protocol == L4Proto::Udp);
    }
}

TEST_CASE("api: bad endpoint.add arguments are refused, naming the field", "[api]") {
    ServerFixture f;
    Json args = {{"id", "a"}, {"ip", "10.200.0.5"}, {"netns", "pod-a"}};

    auto bad_ip = args;
    bad_ip["ip"] = "10.0.0.300";
    std::string err = error_of(f.call("endpoint.add", bad_ip));
    CHECK_THAT(err, Catch::Contains("ip") && Catch::Contains("\"10.0.0.300\"") && Catch::Contains("IPv4"));

    auto bad_mac = args;
    bad_mac["mac"] = "zz:00";
    CHECK_THAT(error_of(f.call("endpoint.add", bad_mac)), Catch::Contains("mac") && Catch::Contains("zz:00"));

    auto no_netns = args;
    no_netns.erase("netns");
    CHECK_THAT(error_of(f.call("endpoint.add", no_netns)), Catch::Contains("missing argument \"netns\""));

    auto bad_label = args;
    bad_label["labels"] = {{"app", 5}};
    CHECK_THAT(error_of(f.call("endpoint.add", bad_label)), Catch::Contains("labels.app"));

    auto bad_host_port = args;
    bad_host_port["host_ports"] = {{{"host_port", 70000}}};
    CHECK_THAT(error_of(f.call("endpoint.add", bad_host_port)), Catch::Contains("host_ports[0].host_port"));
    bad_host_port["host_ports"] = {{{"host_port", 80}, {"protocol", "SCTP"}}};
    CHECK_THAT(error_of(f.call("endpoint.add", bad_host_port)), Catch::Contains("\"SCTP\" is not TCP or UDP"));

    auto typo = args;
    typo["ipaddr"] = "1.2.3.4";
    CHECK_THAT(error_of(f.call("endpoint.add", typo)), Catch::Contains("unknown argument \"ipaddr\""));

    CHECK_THAT(error_of(f.call("endpoint.delete")), Catch::Contains("missing argument \"id\""));
    CHECK(f.api.added().empty());
}

TEST_CASE("api: endpoint.add takes memif_socket, memif_role and memif_zero_copy; netns is then optional", "[api]") {
    ServerFixture f;
    REQUIRE(f.call("endpoint.add", {{"id", "m1"}, {"ip", "10.200.0.21"}, {"memif_socket", "/run/m1.sock"}}).ok());
    REQUIRE(f.call("endpoint.add", {{"id", "m2"}, {"ip", "10.200.0.22"}, {"memif_socket", "/run/m2.sock"},
                                    {"memif_role", "client"}, {"memif_zero_copy", true}})
                .ok());
    auto added = f.api.added();
    REQUIRE(added.size() == 2);
    CHECK(added[0].memif_socket == "/run/m1.sock");
    CHECK(added[0].memif_role == MemifRole::Server);
    CHECK_FALSE(added[0].memif_zero_copy);
    CHECK(added[0].netns.empty());
    CHECK(added[1].memif_role == MemifRole::Client);
    CHECK(added[1].memif_zero_copy);

    Json args = {{"id", "m3"}, {"ip", "10.200.0.23"}, {"memif_socket", "/run/m3.sock"}};
    auto bad_role = args;
    bad_role["memif_role"] = "master";
    CHECK(error_of(f.call("endpoint.add", bad_role)) == "endpoint.add: memif_role: \"master\" is not server or client");
    auto bad_zero_copy = args;
    bad_zero_copy["memif_zero_copy"] = "yes";
    CHECK(error_of(f.call("endpoint.add", bad_zero_copy)) ==
          "endpoint.add: memif_zero_copy: \"yes\" is not true or false");
    CHECK(f.api.added().size() == 2);
}

TEST_CASE("api: unknown command is an error", "[api]") {
    ServerFixture f;
    CHECK_THAT(error_of(f.call("endpoint.frobnicate")),
               Catch::Contains("unknown command \"endpoint.frobnicate\"") && Catch::Contains("status"));
    CHECK(f.api.calls().empty());
}

TEST_CASE("api: the unknown-command error lists every command of the dispatch table", "[api]") {
    ServerFixture f;
    const std::string error = error_of(f.call("frobnicate"));
    const std::string listed = "status, endpoint.list, endpoint.add, endpoint.delete, stats, ipcache.list, identity.list, policy.get, "
                               "neighbor.list, service.list, service.maglev, service.update, service.delete, ct.list, "
                               "nat.list, flow.list, capture.start, capture.status, capture.stop, bgp.peers, bgp.routes, lbipam.pools, clustermesh.status, "
                               "health.status, "
                               "cni.add, cni.del, "
                               "cni.check, cni.gc, cni.list, cni.status";
    CHECK(error == "unknown command \"frobnicate\" (commands: " + listed + ")");
    // Every listed name is a command the server serves (with these empty
    // arguments some answer data, others a missing-argument error).
    std::size_t from = 0;
    while (from < listed.size()) {
        const std::size_t to = std::min(listed.find(", ", from), listed.size());
        const std::string cmd = listed.substr(from, to - from);
        auto r = f.call(cmd);
        INFO(cmd);
        CHECK((r.ok() || error_of(r).find("unknown command") == std::string::npos));
        from = to + 2;
    }
}

TEST_CASE("api: ipcache.list, identity.list and neighbor.list reach ControlApi", "[api]") {
    ServerFixture f;
    auto ipcache = f.call("ipcache.list");
    REQUIRE(ipcache.ok());
    REQUIRE(ipcache->is_array());
    CHECK((*ipcache)[0]["prefix"] == "10.200.1.0/24");
    CHECK((*ipcache)[0]["tunnel_endpoint"] == "192.168.50.12");

    auto identities = f.call("identity.list");
    REQUIRE(identities.ok());
    CHECK((*identities)[0]["labels"] == Json::array({"reserved:host"}));

    auto neighbors = f.call("neighbor.list");
    REQUIRE(neighbors.ok());
    CHECK((*neighbors)[0]["state"] == "reachable");
    CHECK((*neighbors)[0]["age_ms"] == 1234);

    CHECK(f.api.calls() == std::vector<std::string>{"ipcache.list", "identity.list", "neighbor.list"});

    for (const char* cmd : {"ipcache.list", "identity.list", "neighbor.list"})
        CHECK_THAT(error_of(f.call(cmd, {{"prefix", "10.0.0.0/8"}})),
                   Catch::Contains(std::string(cmd) + ": unknown argument \"prefix\""));
    CHECK(f.api.calls().size() == 3);
    CHECK_THAT(error_of(f.call("neighbour.list")),
               Catch::Contains("unknown command") && Catch::Contains("neighbor.list") &&
                   Catch::Contains("ipcache.list") && Catch::Contains("identity.list"));
}

TEST_CASE("api: bad requests get an error and the connection keeps serving", "[api]") {
    ServerFixture f;
    auto client = ApiClient::connect(f.path);
    REQUIRE(client.ok());

    auto bad = client->exchange("{not json");
    REQUIRE(bad.ok());
    CHECK((*bad)["ok"] == false);
    CHECK_THAT((*bad)["error"].get<std::string>(), Catch::StartsWith("invalid JSON"));

    auto not_object = client->exchange("[1,2]");
    REQUIRE(not_object.ok());
    CHECK_THAT((*not_object)["error"].get<std::string>(), Catch::Contains("expected a JSON object"));

    auto no_cmd = client->exchange(R"({"args": {}})");
    REQUIRE(no_cmd.ok());
    CHECK_THAT((*no_cmd)["error"].get<std::string>(), Catch::Contains("missing \"cmd\""));

    auto good = client->request("status");
    REQUIRE(good.ok());
    CHECK((*good)["ok"] == true);
    CHECK((*good)["data"]["node"] == "node1");

    SECTION("an over-long line is refused and the server still serves new connections") {
        auto huge = client->exchange(std::string(kMaxRequestLine + 100, 'x'));
        REQUIRE(huge.ok());
        CHECK_THAT((*huge)["error"].get<std::string>(), Catch::Contains("64 KiB"));
        CHECK(f.call("status").ok());
    }
}

TEST_CASE("api: an error from ControlApi comes back as ok:false with its message", "[api]") {
    ServerFixture f;
    f.api.fail_with("endpoint \"pod-x\" does not exist");
    CHECK(error_of(f.call("endpoint.delete", {{"id", "pod-x"}})) == "endpoint \"pod-x\" does not exist");
    CHECK(f.api.calls() == std::vector<std::string>{"endpoint.delete pod-x"});

    auto client = ApiClient::connect(f.path);
    REQUIRE(client.ok());
    auto raw = client->request("endpoint.delete", {{"id", "pod-x"}});
    REQUIRE(raw.ok());
    CHECK(*raw == Json{{"ok", false}, {"error", "endpoint \"pod-x\" does not exist"}});
}

TEST_CASE("api: socket file is 0600 in a 0700 directory and removed on stop", "[api]") {
    ServerFixture f;
    struct stat st {};
    REQUIRE(::stat(f.path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 07777) == 0600);
    REQUIRE(::stat(f.dir.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0700);

    f.shutdown();
    CHECK_FALSE(std::filesystem::exists(f.path));
    CHECK_THAT(error_of(call_api(f.path, "status")),
               Catch::Contains("cannot reach podlaned at " + f.path + ": No such file or directory (is podlaned running?)"));
}

TEST_CASE("api: a stale socket file is replaced, a live one is not", "[api]") {
    std::string path = temp_socket_path();
    std::string dir = std::filesystem::path(path).parent_path().string();
    REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
    { // a socket file nobody listens on, as left by a crashed daemon
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        path.copy(addr.sun_path, sizeof addr.sun_path - 1);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        ::close(fd);
    }
    FakeControlApi api;
    boost::asio::io_context io;
    ApiServer first(io, api, path);
    auto started = first.start();
    INFO((started ? std::string() : started.error().message));
    CHECK(started.ok());

    ApiServer second(io, api, path);
    auto refused = second.start();
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error().message, Catch::Contains("already being served"));
    CHECK(std::filesystem::exists(path)); // the live server's socket is left alone

    first.stop();
    std::filesystem::remove_all(dir);
}

TEST_CASE("api: a non-root peer is refused", "[api]") {
    if (::getuid() != 0) {
        WARN("not root: cannot run a peer as another uid; skipped");
        return;
    }
    ServerFixture f;
    REQUIRE(::chmod(f.dir.c_str(), 0755) == 0); // let uid 65534 reach the socket, so SO_PEERCRED decides
    REQUIRE(::chmod(f.path.c_str(), 0666) == 0);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(fds[0]);
        std::string msg = "setuid failed";
        if (::setgid(65534) == 0 && ::setuid(65534) == 0) {
            auto r = call_api(f.path, "status");
            msg = r ? "served" : r.error().message;
        }
        if (::write(fds[1], msg.data(), msg.size()) < 0)
            ::_exit(1);
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string msg;
    char buf[512];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
        msg.append(buf, static_cast<std::size_t>(n));
    ::close(fds[0]);
    ::waitpid(pid, nullptr, 0);
    CHECK(msg == "permission denied: the podlane API serves root only");
    CHECK(f.api.calls().empty());
}

TEST_CASE("format: table aligns columns and right-aligns numbers", "[api]") {
    Table t({"NAME", "PACKETS", "NOTE"});
    t.align_right(1);
    t.add_row({"a", "100", "x"}).add_row({"longer", "7"});
    CHECK(t.render() == "NAME    PACKETS  NOTE\n"
                        "a           100  x\n"
                        "longer        7\n");
    CHECK(Table().add_row({"Key:", "v"}).add_row({"Longer key:", "w"}).render() == "Key:         v\nLonger key:  w\n");
}

TEST_CASE("format: stats lists only nonzero drop reasons, per worker and in total", "[api]") {
    Json w0 = {{"id", 0}, {"lcore", 1}, {"rx_packets", 10}, {"tx_packets", 7}, {"forwarded", 5}, {"encapsulated", 3},
               {"decapsulated", 1}, {"arp_replies", 2}, {"icmp_replies", 1}, {"held", 0},
               {"rejected", 6}, {"busy_cycles", 2300}, {"drops", {{"no_route", 3}, {"bad_checksum", 0}}}};
    Json w1 = {{"id", 1}, {"lcore", 2}, {"rx_packets", 4}, {"tx_packets", 4}, {"forwarded", 4}, {"encapsulated", 0},
               {"decapsulated", 4}, {"arp_replies", 0}, {"icmp_replies", 0}, {"held", 2},
               {"rejected", 0}, {"drops", {{"no_route", 0}, {"bad_checksum", 0}, {"ttl_exceeded", 1}}}};
    Json totals = {{"rx_packets", 14}, {"tx_packets", 11}, {"forwarded", 9}, {"encapsulated", 3}, {"decapsulated", 5},
                   {"arp_replies", 2}, {"icmp_replies", 1}, {"held", 2}, {"rejected", 6}, {"busy_cycles", 2300},
                   {"drops", {{"no_route", 3}, {"bad_checksum", 0}, {"ttl_exceeded", 1}}}};
    Json stats = {{"workers", {w0, w1}}, {"totals", totals}, {"elapsed_cycles", 4600},
                  {"ports", {{{"port_id", 0}, {"name", "uplink"}, {"rx_packets", 14}}}}};

    std::string out = format_stats(stats);
    INFO(out);
    // BUSY: busy_cycles of elapsed_cycles (the total of both workers' time);
    // CYC/PKT: busy_cycles per received packet; worker 1 reports none.
    CHECK_THAT(out, Catch::StartsWith(
                        "WORKER  LCORE  RX  TX  FWD  ENCAP  DECAP  ARP  ICMP  HELD  REJECTED  DROPS   BUSY  CYC/PKT\n"
                        "0           1  10   7    5      3      1    2     1     0         6      3  50.0%      230\n"
                        "1           2   4   4    4      0      4    0     0     2         0      1   0.0%        0\n"
                        "TOTAL          14  11    9      3      5    2     1     2         6      4  25.0%      164\n"));
    CHECK_THAT(out, Catch::Contains("Drops by reason:\n"
                                    "WORKER  REASON        PACKETS\n"
                                    "0       no_route            3\n"
                                    "1       ttl_exceeded        1\n"
                                    "TOTAL   no_route            3\n"
                                    "TOTAL   ttl_exceeded        1\n"));
    CHECK_THAT(out, !Catch::Contains("bad_checksum"));
    CHECK_THAT(out, Catch::Contains("uplink"));

    for (auto* d : {&stats["workers"][0]["drops"], &stats["workers"][1]["drops"], &stats["totals"]["drops"]})
        for (auto& [reason, n] : d->items())
            n = 0;
    CHECK_THAT(format_stats(stats), Catch::Contains("Drops by reason: no drops"));
}

TEST_CASE("format: stats --stages lists each worker's stages in pipeline order, then the totals", "[api][stages]") {
    auto stage = [](const char* name, int in, int translated, int finished) {
        return Json{{"stage", name}, {"in", in}, {"translated", translated}, {"finished", finished}};
    };
    Json w0 = {{"id", 0}, {"lcore", 1}, {"rx_packets", 3},
               {"stages", {stage("parse", 3, 0, 0), stage("load_balancer", 3, 2, 1), stage("deliver", 2, 0, 2)}}};
    Json w1 = {{"id", 1}, {"lcore", 2}, {"rx_packets", 1},
               {"stages", {stage("parse", 1, 0, 1), stage("load_balancer", 0, 0, 0), stage("deliver", 0, 0, 0)}}};
    Json totals = {{"rx_packets", 4},
                   {"stages", {stage("parse", 4, 0, 1), stage("load_balancer", 3, 2, 1), stage("deliver", 2, 0, 2)}}};
    Json stats = {{"workers", {w0, w1}}, {"totals", totals}, {"ports", Json::array()}};
    CHECK(format_stage_stats(stats) == "WORKER  STAGE          IN  TRANSLATED  FINISHED\n"
                                       "0       parse           3           0         0\n"
                                       "0       load_balancer   3           2         1\n"
                                       "0       deliver         2           0         2\n"
                                       "1       parse           1           0         1\n"
                                       "1       load_balancer   0           0         0\n"
                                       "1       deliver         0           0         0\n"
                                       "TOTAL   parse           4           0         1\n"
                                       "TOTAL   load_balancer   3           2         1\n"
                                       "TOTAL   deliver         2           0         2\n");
    const Json cut = stage_stats(stats);
    CHECK(cut == Json{{"workers", {{{"id", 0}, {"lcore", 1}, {"stages", w0["stages"]}},
                                   {{"id", 1}, {"lcore", 2}, {"stages", w1["stages"]}}}},
                      {"totals", {{"stages", totals["stages"]}}}});
    CHECK(format_stage_stats(Json::object()) == "no stage counters\n");
}

TEST_CASE("format: endpoint list and status", "[api]") {
    Json eps = {{{"id", "default/web-1"}, {"ip", "10.200.0.5"}, {"mac", "0a:58:0a:c8:00:05"}, {"port_id", 3},
                 {"netns", "pod-web-1"}, {"ifname", "eth0"}, {"labels", {{"app", "web"}, {"tier", "front"}}}}};
    CHECK(format_endpoints(eps) == "ID             IP          MAC                PORT  NETNS      ATTACHED  LABELS\n"
                                   "default/web-1  10.200.0.5  0a:58:0a:c8:00:05  3     pod-web-1  tap       app=web,tier=front\n");
    Json sockets = {{{"id", "m"}, {"ip", "10.200.0.21"}, {"mac", "0a:58:0a:c8:00:15"}, {"port_id", 4}, {"netns", ""},
                     {"vhost_socket", ""}, {"memif_socket", "/run/m.sock"}, {"memif_role", "client"},
                     {"memif_zero_copy", true}, {"labels", Json::object()}},
                    {{"id", "v"}, {"ip", "10.200.0.22"}, {"mac", "0a:58:0a:c8:00:16"}, {"port_id", 5}, {"netns", ""},
                     {"vhost_socket", "/run/v.sock"}, {"memif_socket", ""}, {"memif_role", nullptr},
                     {"memif_zero_copy", false}, {"labels", Json::object()}}};
    CHECK(format_endpoints(sockets) == "ID  IP           MAC                PORT  NETNS  ATTACHED                            LABELS\n"
                                       "m   10.200.0.21  0a:58:0a:c8:00:15  4            memif client /run/m.sock zero-copy  -\n"
                                       "v   10.200.0.22  0a:58:0a:c8:00:16  5            vhost-user /run/v.sock              -\n");
    CHECK(format_endpoints(Json::array()) == "no endpoints\n");

    std::string status = format_status({{"node", "node1"}, {"uptime_s", 3725}, {"idle_sleep_us", 0},
                                        {"workers", {{{"id", 0}, {"lcore", 1}}, {{"id", 1}, {"lcore", 2}}}}});
    CHECK_THAT(status, Catch::StartsWith("Node:                 node1\n"));
    CHECK_THAT(status, Catch::Contains("Uptime:               1h 2m 5s\n"));
    CHECK_THAT(status, Catch::Contains("Workers:              2 (lcores 1, 2)\n"));
    CHECK_THAT(status, Catch::Contains("Idle sleep:           busy poll\n"));
    CHECK_THAT(status, Catch::Contains("Pod CIDR:             -\n"));
}

TEST_CASE("format: ipcache list shows reserved names and 0.0.0.0 for local entries", "[api]") {
    Json ipcache = {{{"prefix", "10.200.0.1/32"}, {"identity", 1}, {"identity_name", "reserved:host"},
                     {"tunnel_endpoint", "0.0.0.0"}, {"source", "node"}},
                    {{"prefix", "10.200.0.5/32"}, {"identity", 48213}, {"identity_name", ""},
                     {"tunnel_endpoint", "0.0.0.0"}, {"source", "local-endpoint"}},
                    {{"prefix", "10.200.1.0/24"}, {"identity", 2}, {"identity_name", "reserved:world"},
                     {"tunnel_endpoint", "192.168.50.12"}, {"source", "remote-pod-cidr"}}};
    CHECK(format_ipcache(ipcache) ==
          "PREFIX         IDENTITY            TUNNELENDPOINT  SOURCE\n"
          "10.200.0.1/32  1 (reserved:host)   0.0.0.0         node\n"
          "10.200.0.5/32  48213               0.0.0.0         local-endpoint\n"
          "10.200.1.0/24  2 (reserved:world)  192.168.50.12   remote-pod-cidr\n");
    CHECK(format_ipcache(Json::array()) == "no ipcache entries\n");
}

TEST_CASE("format: identity list", "[api]") {
    Json ids = {{{"id", 1}, {"labels", {"reserved:host"}}, {"reserved", true}, {"endpoints", 0}},
                {{"id", 2}, {"labels", {"reserved:world"}}, {"reserved", true}, {"endpoints", 0}},
                {{"id", 30612}, {"labels", Json::array()}, {"reserved", false}, {"endpoints", 1}},
                {{"id", 48213}, {"labels", {"app=web", "tier=front"}}, {"reserved", false}, {"endpoints", 12}}};
    CHECK(format_identities(ids) == "   ID  LABELS              ENDPOINTS\n"
                                    "    1  reserved:host               0\n"
                                    "    2  reserved:world              0\n"
                                    "30612  -                           1\n"
                                    "48213  app=web,tier=front         12\n");
    CHECK(format_identities(Json::array()) == "no identities\n");
}

TEST_CASE("format: neighbor list shows ages and '-' for a missing MAC", "[api]") {
    Json neighbors = {
        {{"ip", "192.168.50.1"}, {"mac", "02:00:00:00:00:01"}, {"state", "reachable"}, {"port", "eth0"},
         {"age_ms", 850}, {"probes", 0}},
        {{"ip", "192.168.50.12"}, {"mac", "02:00:00:00:00:0c"}, {"state", "stale"}, {"port", "eth0"},
         {"age_ms", 12345}, {"probes", 1}},
        {{"ip", "192.168.50.13"}, {"mac", ""}, {"state", "incomplete"}, {"port", "eth1"}, {"age_ms", 3725000},
         {"probes", 3}},
    };
    CHECK(format_neighbors(neighbors) == "IP             MAC                STATE       PORT       AGE\n"
                                         "192.168.50.1   02:00:00:00:00:01  reachable   eth0     850ms\n"
                                         "192.168.50.12  02:00:00:00:00:0c  stale       eth0     12.3s\n"
                                         "192.168.50.13  -                  incomplete  eth1  1h 2m 5s\n");
    CHECK(format_neighbors(Json::array()) == "no neighbors\n");
}

TEST_CASE("format: service list shows one backend per line, as cilium-dbg service list", "[api]") {
    Json svc = {{"id", 3},
                {"name", "default/web"},
                {"frontend", "10.96.0.10:80/TCP"},
                {"type", "ClusterIP"},
                {"session_affinity", false},
                {"backends",
                 {{{"id", 0}, {"address", "10.210.1.12:8080"}, {"state", "active"}, {"local", true}},
                  {{"id", 1}, {"address", "10.210.2.11:8080"}, {"state", "terminating"}, {"local", false}}}}};
    const std::string out = format_services(Json::array({svc}));
    INFO(out);
    CHECK_THAT(out, Catch::Contains(" 3  10.96.0.10:80/TCP  ClusterIP     default/web  1 => 10.210.1.12:8080 (active, local)\n"));
    CHECK_THAT(out, Catch::Contains("2 => 10.210.2.11:8080 (terminating)\n"));
    CHECK(format_services(Json::array()) == "no services\n");
}

TEST_CASE("format: nat list shows the egress mapping and its ingress twin", "[api]") {
    Json out_map = {{"proto", "TCP"}, {"direction", "out"}, {"src", "10.210.1.11:5000"},
                    {"dst", "192.168.50.1:80"}, {"xlate", "192.168.50.11:33000"}, {"xlate_field", "src"}};
    Json in_map = {{"proto", "TCP"}, {"direction", "in"}, {"src", "192.168.50.1:80"},
                   {"dst", "192.168.50.11:33000"}, {"xlate", "10.210.1.11:5000"}, {"xlate_field", "dst"}};
    const std::string out = format_nat(Json::array({out_map, in_map}));
    INFO(out);
    CHECK_THAT(out, Catch::Contains("TCP    OUT  10.210.1.11:5000  192.168.50.1:80      XLATE_SRC 192.168.50.11:33000"));
    CHECK_THAT(out, Catch::Contains("TCP    IN   192.168.50.1:80   192.168.50.11:33000  XLATE_DST 10.210.1.11:5000"));
}

TEST_CASE("format: service list shows every backend of every service", "[api]") {
    // Shaped as the agent's service.list answers; the rows render from a
    // copy of each service's backends (a reference to s.value()'s temporary
    // once dangled here and `podlane service list` threw a json type_error).
    Json services = {
        {{"id", 1}, {"name", "default/web"}, {"frontend", "10.96.0.10:80/TCP"}, {"type", "ClusterIP"},
         {"session_affinity", false},
         {"backends",
          {{{"id", 0}, {"address", "10.210.1.12:8080"}, {"state", "active"}, {"local", true}},
           {{"id", 1}, {"address", "10.210.2.11:8080"}, {"state", "active"}, {"local", false}},
           {{"id", 2}, {"address", "10.210.3.11:8080"}, {"state", "terminating"}, {"local", false}}}}},
        {{"id", 12}, {"name", "default/empty"}, {"frontend", "10.96.0.16:80/TCP"}, {"type", "ClusterIP"},
         {"session_affinity", true}, {"backends", Json::array()}},
    };
    CHECK(format_services(services) ==
          "ID  FRONTEND           SERVICE TYPE          NAME           BACKEND\n"
          " 1  10.96.0.10:80/TCP  ClusterIP             default/web    1 => 10.210.1.12:8080 (active, local)\n"
          "                                                            2 => 10.210.2.11:8080 (active)\n"
          "                                                            3 => 10.210.3.11:8080 (terminating)\n"
          "12  10.96.0.16:80/TCP  ClusterIP (affinity)  default/empty  -\n");
    CHECK(format_services(Json::array()) == "no services\n");
}
