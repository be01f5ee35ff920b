// The capture filter language (podlane capture --filter) and what the
// compiled filter matches.
#include <catch2/catch.hpp>
#include <netinet/in.h>

#include "control/observe/capture_filter.h"

using namespace podlane;

namespace {

std::optional<Ipv4Addr> pods(const std::string& name) {
    if (name == "default/web")
        return Ipv4Addr::parse("10.0.0.5");
    return std::nullopt;
}

FlowTuple tuple(const char* src, const char* dst, uint8_t proto, uint16_t sport = 0, uint16_t dport = 0) {
    FlowTuple t;
    t.src = Ipv4Addr::parse(src)->be;
    t.dst = Ipv4Addr::parse(dst)->be;
    t.proto = proto;
    t.sport = rte_cpu_to_be_16(sport);
    t.dport = rte_cpu_to_be_16(dport);
    return t;
}

CaptureFilter compile(const std::string& text) {
    auto f = parse_capture_filter(text, pods);
    INFO(text << ": " << (f ? "" : f.error().message));
    REQUIRE(f);
    return *f;
}

} // namespace

TEST_CASE("an empty capture filter matches every packet", "[capture]") {
    const CaptureFilter f = compile("");
    CHECK(f.count == 0);
    CHECK(f.matches(tuple("1.2.3.4", "5.6.7.8", IPPROTO_UDP, 1, 2)));
}

TEST_CASE("capture filter terms: host, src/dst, port, protocol, pod, not", "[capture]") {
    const FlowTuple web_in = tuple("10.0.0.9", "10.0.0.5", IPPROTO_TCP, 40000, 80);
    const FlowTuple web_out = tuple("10.0.0.5", "10.0.0.9", IPPROTO_TCP, 80, 40000);
    const FlowTuple ping = tuple("10.0.0.9", "10.0.0.5", IPPROTO_ICMP);
    CHECK(compile("host 10.0.0.5").matches(web_in));
    CHECK(compile("10.0.0.5").matches(web_out));
    CHECK(compile("dst host 10.0.0.5").matches(web_in));
    CHECK_FALSE(compile("dst host 10.0.0.5").matches(web_out));
    CHECK(compile("src 10.0.0.5").matches(web_out));
    CHECK(compile("port 80").matches(web_in));
    CHECK(compile("port 80").matches(web_out));
    CHECK(compile("dst port 80").matches(web_in));
    CHECK_FALSE(compile("dst port 80").matches(web_out));
    CHECK_FALSE(compile("port 80").matches(ping));
    CHECK(compile("tcp and pod default/web").matches(web_in));
    CHECK_FALSE(compile("udp and pod default/web").matches(web_in));
    CHECK(compile("icmp && host 10.0.0.9").matches(ping));
    CHECK_FALSE(compile("not icmp").matches(ping));
    CHECK(compile("not icmp").matches(web_in));
    CHECK(compile("pod default/web and not port 22").matches(web_in));
    CHECK_FALSE(compile("! src port 40000").matches(web_in));
}

TEST_CASE("bad capture filters are refused with the word and what was expected", "[capture]") {
    const std::pair<const char*, const char*> cases[] = {
        {"host", "expected an IPv4 address after host at the end"},
        {"host 10.0.0", "\"10.0.0\" is not an IPv4 address"},
        {"port 0", "\"0\" is not a port"},
        {"port 65536", "\"65536\" is not a port"},
        {"port http", "\"http\" is not a port"},
        {"tcp udp", "expected \"and\" before \"udp\""},
        {"tcp or udp", "expected \"and\" before \"or\""},
        {"src icmp", "src/dst does not apply to icmp"},
        {"pod nobody", "no pod \"nobody\" on this node"},
        {"vlan 5", "unknown term \"vlan\""},
        {"tcp and", "expected a term at the end"},
        {"tcp and tcp and tcp and tcp and tcp and tcp and tcp and tcp and tcp", "at most 8 terms"},
    };
    for (const auto& [text, message] : cases) {
        auto f = parse_capture_filter(text, pods);
        INFO(text);
        REQUIRE_FALSE(f);
        CHECK_THAT(f.error().message, Catch::Contains(message) && Catch::StartsWith("capture filter: "));
    }
}
