// control/restart: the restart state file round-trips, and a file of another
// format version, a truncated, padded or corrupted one, or one that is not a
// restart state at all is refused with a message saying which; never a crash.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include <rte_byteorder.h>

#include "control/restart/restart_state.h"

using namespace podlane;
using Catch::Matchers::Contains;

namespace {

RestartState sample() {
    RestartState s;
    s.node = "node1";
    s.writer_version = "podlaned";
    s.reason = "graceful-stop";
    s.written_unix_ms = 1765000000123;
    SavedFlow f;
    f.orig = make_ct_tuple(rte_cpu_to_be_32(0x0ad2010b), rte_cpu_to_be_32(0x0a600014), rte_cpu_to_be_16(40000),
                           rte_cpu_to_be_16(7000), 6);
    f.fwd = CtXlate{f.orig.src, rte_cpu_to_be_32(0x0ad2020b), f.orig.sport, rte_cpu_to_be_16(7000)};
    f.flags = kCtDnat | kCtSeenReply;
    f.tcp_state = static_cast<uint8_t>(CtTcpState::Established);
    f.remaining_s = 21599;
    f.packets = 12;
    f.bytes = (uint64_t{3} << 32) + 5;
    f.frontend_key = 0x0a60001400701b06;
    f.backend_key = 0x0ad2020b1b5806;
    s.flows.push_back(f);
    SavedFlow masq;
    masq.orig = make_ct_tuple(rte_cpu_to_be_32(0x0ad2010b), rte_cpu_to_be_32(0xc0a83201), rte_cpu_to_be_16(41000),
                              rte_cpu_to_be_16(7000), 6);
    masq.fwd = CtXlate{rte_cpu_to_be_32(0xc0a8320b), masq.orig.dst, rte_cpu_to_be_16(33000), masq.orig.dport};
    masq.flags = kCtSnat;
    masq.remaining_s = 100;
    s.flows.push_back(masq);
    s.affinity.push_back(SavedAffinity{*Ipv4Addr::parse("10.210.1.11"), 0x0a60001500701b06, 0x0ad2020c1b5806, 7});
    s.neighbors.push_back(SavedNeighbor{*Ipv4Addr::parse("192.168.50.12"), *MacAddr::parse("02:00:00:00:00:12")});
    return s;
}

} // namespace

TEST_CASE("restart state: what is written is read back", "[restart]") {
    const RestartState s = sample();
    auto back = decode_restart_state(encode_restart_state(s));
    REQUIRE(back);
    CHECK(*back == s);
}

TEST_CASE("restart state: another format version is refused by its number", "[restart]") {
    std::string bytes = encode_restart_state(sample());
    bytes.replace(0, std::string("podlane-restart-state 1 ").size(), "podlane-restart-state 2 ");
    auto r = decode_restart_state(bytes);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("format version 2; this podlaned reads version 1 only"));
}

TEST_CASE("restart state: a changed byte, a cut or an extra byte is refused", "[restart]") {
    const std::string good = encode_restart_state(sample());
    std::string flipped = good;
    flipped[flipped.size() - 10] ^= 0x01;
    auto r = decode_restart_state(flipped);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("corrupted"));

    r = decode_restart_state(good.substr(0, good.size() - 1));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("truncated"));
    r = decode_restart_state(good + "x");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("the file has"));
}

TEST_CASE("restart state: not a state file, or a bad header or payload, is refused", "[restart]") {
    for (const std::string& junk : {std::string(), std::string("hello\n"), std::string("podlane-restart-state"),
                                    std::string("\0\1\2\3", 4)}) {
        auto r = decode_restart_state(junk);
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Contains("not a podlane restart state file"));
    }
    auto r = decode_restart_state("podlane-restart-state 1 bytes=zz\n{}");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("header is malformed"));
    r = decode_restart_state("podlane-restart-state x\n{}");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Contains("no format version"));
}

TEST_CASE("restart state: a payload with a valid checksum but wrong content is refused", "[restart]") {
    const std::string head = R"({"node":"n","writer_version":"v","reason":"r","written_unix_ms":1,"affinity":[],"neighbors":[],)";
    for (const std::string& payload :
         {std::string("[1,2,3]"), std::string(R"({"node":"n"})"), std::string("not json"),
          head + R"("flows":[[1,2,3]]})",                                        // too few fields
          head + R"("flows":[[1,2,70000,4,6,1,2,3,4,0,0,1,1,1,0,0]]})",          // port out of range
          head + R"("flows":[[1,2,3,4,6,1,2,3,4,0,9,1,1,1,0,0]]})",              // no such TCP state
          head + R"("flows":[[1,2,3,4,-6,1,2,3,4,0,0,1,1,1,0,0]]})",             // negative
          head + R"("flows":[["a",2,3,4,6,1,2,3,4,0,0,1,1,1,0,0]]})"}) {          // not a number
        auto r = decode_restart_state(frame_restart_payload(payload));
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Contains("payload is not a restart state"));
    }
    // The same framing around a real state reads.
    CHECK(decode_restart_state(frame_restart_payload(head + R"("flows":[[1,2,3,4,6,1,2,3,4,0,1,1,1,1,0,0]]})")));
}

TEST_CASE("restart state: written atomically to a file and read back; a missing file names its path", "[restart]") {
    char tmpl[] = "/tmp/podlane-restart-test.XXXXXX";
    const std::string dir = ::mkdtemp(tmpl);
    const std::string path = dir + "/state";
    REQUIRE(write_restart_state(path, sample()));
    CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
    auto back = read_restart_state(path);
    REQUIRE(back);
    CHECK(*back == sample());
    auto missing = read_restart_state(dir + "/none");
    REQUIRE_FALSE(missing);
    CHECK_THAT(missing.error().message, Contains(dir + "/none"));
    std::filesystem::remove_all(dir);
}
