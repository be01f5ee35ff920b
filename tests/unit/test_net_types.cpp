// Tests for the shared address types (src/common/net_types.h).
#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include "common/net_types.h"

using namespace podlane;

TEST_CASE("Ipv4Addr parses dotted quads and prints them back", "[net_types]") {
    for (const char* text : {"10.0.0.1", "0.0.0.0", "255.255.255.255", "10.200.0.11", "192.168.100.9"}) {
        INFO(text);
        auto ip = Ipv4Addr::parse(text);
        REQUIRE(ip);
        CHECK(ip->str() == text);
    }
    CHECK(Ipv4Addr::parse("0.0.0.0")->is_zero());
    CHECK_FALSE(Ipv4Addr::parse("0.0.0.1")->is_zero());
}

TEST_CASE("Ipv4Addr refuses anything but a plain dotted quad", "[net_types]") {
    for (const char* text : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.256", "01.2.3.4", "1.2.3.04", " 1.2.3.4",
                             "1.2.3.4 ", "1..2.3", "1.2.3.", ".1.2.3", "a.b.c.d", "1.2.3.-4", "+1.2.3.4", "1.2.3.4/24",
                             "0x0a.0.0.1", "4294967296.0.0.0", "1,2,3,4", "::1"}) {
        INFO('"' << text << '"');
        CHECK_FALSE(Ipv4Addr::parse(text));
    }
}

TEST_CASE("Ipv4Addr holds network byte order", "[net_types]") {
    auto ip = Ipv4Addr::parse("10.0.0.1");
    REQUIRE(ip);
    CHECK(ip->be == htonl(0x0a000001));
    CHECK(ip->host() == 0x0a000001u);
    CHECK(Ipv4Addr::from_host(0x0a000001) == *ip);
    const auto* bytes = reinterpret_cast<const uint8_t*>(&ip->be);
    CHECK(bytes[0] == 10);
    CHECK(bytes[3] == 1);
}

TEST_CASE("Ipv4Addr orders by numeric value, not by stored bytes", "[net_types]") {
    CHECK(*Ipv4Addr::parse("10.0.0.1") < *Ipv4Addr::parse("10.0.0.2"));
    CHECK(*Ipv4Addr::parse("9.255.255.255") < *Ipv4Addr::parse("10.0.0.0"));
    CHECK(*Ipv4Addr::parse("10.0.1.0") > *Ipv4Addr::parse("10.0.0.255"));
}

TEST_CASE("Ipv4Prefix parses and prints prefixes", "[net_types]") {
    auto p = Ipv4Prefix::parse("10.200.0.0/24");
    REQUIRE(p);
    CHECK(p->addr == *Ipv4Addr::parse("10.200.0.0"));
    CHECK(p->len == 24);
    CHECK(p->mask_host() == 0xffffff00u);
    CHECK(p->str() == "10.200.0.0/24");

    for (const char* text : {"0.0.0.0/0", "10.0.0.1/32", "10.0.0.0/8", "10.244.8.0/22", "192.168.0.0/16"}) {
        INFO(text);
        auto q = Ipv4Prefix::parse(text);
        REQUIRE(q);
        CHECK(q->str() == text);
    }
    CHECK(Ipv4Prefix::parse("0.0.0.0/0")->mask_host() == 0u);
    CHECK(Ipv4Prefix::parse("10.0.0.1/32")->mask_host() == 0xffffffffu);
}

TEST_CASE("Ipv4Prefix refuses bad prefixes and set host bits", "[net_types]") {
    for (const char* text : {"", "10.200.0.0", "10.200.0.0/", "/24", "1.2.3.4/33", "10.200.0.1/24", "10.200.0.128/24",
                             "11.0.0.0/7", "10.200.0.0/024", "10.200.0.0/-1", "10.200.0.0/24/1", "10.200.0/24",
                             "10.200.0.0 /24", "10.200.0.0/ 24"}) {
        INFO('"' << text << '"');
        CHECK_FALSE(Ipv4Prefix::parse(text));
    }
}

TEST_CASE("Ipv4Prefix::contains", "[net_types]") {
    const Ipv4Prefix p = *Ipv4Prefix::parse("10.200.0.0/24");
    CHECK(p.contains(*Ipv4Addr::parse("10.200.0.0")));
    CHECK(p.contains(*Ipv4Addr::parse("10.200.0.11")));
    CHECK(p.contains(*Ipv4Addr::parse("10.200.0.255")));
    CHECK_FALSE(p.contains(*Ipv4Addr::parse("10.200.1.0")));
    CHECK_FALSE(p.contains(*Ipv4Addr::parse("10.199.255.255")));
    CHECK_FALSE(p.contains(*Ipv4Addr::parse("11.200.0.11")));

    const Ipv4Prefix all = *Ipv4Prefix::parse("0.0.0.0/0");
    CHECK(all.contains(*Ipv4Addr::parse("0.0.0.0")));
    CHECK(all.contains(*Ipv4Addr::parse("255.255.255.255")));

    const Ipv4Prefix host = *Ipv4Prefix::parse("10.0.0.1/32");
    CHECK(host.contains(*Ipv4Addr::parse("10.0.0.1")));
    CHECK_FALSE(host.contains(*Ipv4Addr::parse("10.0.0.0")));
    CHECK_FALSE(host.contains(*Ipv4Addr::parse("10.0.0.2")));

    const Ipv4Prefix wide = *Ipv4Prefix::parse("10.244.8.0/22");
    CHECK(wide.contains(*Ipv4Addr::parse("10.244.11.255")));
    CHECK_FALSE(wide.contains(*Ipv4Addr::parse("10.244.12.0")));
}

TEST_CASE("MacAddr parses colon-separated hex and prints lower case", "[net_types]") {
    auto m = MacAddr::parse("0a:58:0a:c8:00:01");
    REQUIRE(m);
    CHECK(m->bytes == std::array<uint8_t, 6>{0x0a, 0x58, 0x0a, 0xc8, 0x00, 0x01});
    CHECK(m->str() == "0a:58:0a:c8:00:01");
    CHECK(MacAddr::parse("AA:BB:CC:DD:EE:FF")->str() == "aa:bb:cc:dd:ee:ff");
    CHECK(MacAddr::parse("00:00:00:00:00:00")->is_zero());
    CHECK(MacAddr::parse("01:00:5e:00:00:01")->is_multicast());
    CHECK(MacAddr::parse("ff:ff:ff:ff:ff:ff")->is_multicast());
    CHECK_FALSE(m->is_multicast());
    CHECK_FALSE(m->is_zero());
}

TEST_CASE("MacAddr refuses wrong lengths and separators", "[net_types]") {
    for (const char* text : {"", "0a:58:0a:c8:00", "0a:58:0a:c8:00:01:02", "0a:58:0a:c8:00:1", "a:58:0a:c8:00:011",
                             "0a-58-0a-c8-00-01", "0a.58.0a.c8.00.01", "0a580ac80001", "0a58.0ac8.0001",
                             "0a:58:0a:c8:00:0g", "0a:58:0a:c8:00:01 ", " 0a:58:0a:c8:00:01", "0a:58:0a:c8:00-01",
                             "0a:58:0a:c8::0001"}) {
        INFO('"' << text << '"');
        CHECK_FALSE(MacAddr::parse(text));
    }
}

TEST_CASE("MacAddr::from_ipv4 follows the 0a:58 convention", "[net_types]") {
    CHECK(MacAddr::from_ipv4(*Ipv4Addr::parse("10.200.0.1")).str() == "0a:58:0a:c8:00:01");
    CHECK(MacAddr::from_ipv4(*Ipv4Addr::parse("10.200.0.11")).str() == "0a:58:0a:c8:00:0b");
    CHECK(MacAddr::from_ipv4(*Ipv4Addr::parse("192.168.255.254")).str() == "0a:58:c0:a8:ff:fe");
    const MacAddr m = MacAddr::from_ipv4(*Ipv4Addr::parse("10.200.0.1"));
    CHECK_FALSE(m.is_multicast());
    CHECK((m.bytes[0] & 0x02) != 0); // locally administered
}
