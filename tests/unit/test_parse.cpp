// Parsing and checksum helpers.
#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <string_view>

#include "dataplane/checksum.h"
#include "dataplane/parse.h"
#include "frame_builder.h"

using namespace podlane;
using namespace podlane::test;

namespace {

rte_mempool* parse_pool() {
    static rte_mempool* pool = rte_pktmbuf_pool_create("test_parse_pool", 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    return pool;
}

Ipv4Spec udp_spec() {
    Ipv4Spec s;
    s.src_mac = *MacAddr::parse("0a:58:0a:c8:00:0b");
    s.dst_mac = *MacAddr::parse("0a:58:0a:c8:00:01");
    s.src = *Ipv4Addr::parse("10.200.0.11");
    s.dst = *Ipv4Addr::parse("10.200.0.12");
    return s;
}

/// Parses `bytes` in an mbuf and frees it.
ParsedPacket parse_bytes(const std::vector<uint8_t>& bytes, uint64_t ol_flags = 0) {
    rte_mbuf* m = to_mbuf(parse_pool(), bytes);
    REQUIRE(m != nullptr);
    m->ol_flags |= ol_flags;
    ParsedPacket p = parse_packet(m);
    rte_pktmbuf_free(m);
    return p;
}

} // namespace

TEST_CASE("csum_replace16 matches a full recompute", "[checksum]") {
    std::mt19937 rng(42);
    for (int i = 0; i < 2000; ++i) {
        rte_ipv4_hdr ip{};
        ip.version_ihl = RTE_IPV4_VHL_DEF;
        ip.total_length = static_cast<rte_be16_t>(rng());
        ip.packet_id = static_cast<rte_be16_t>(rng());
        ip.time_to_live = static_cast<uint8_t>(rng() % 255 + 1);
        ip.next_proto_id = static_cast<uint8_t>(rng());
        ip.src_addr = rng();
        ip.dst_addr = rng();
        ip.hdr_checksum = rte_ipv4_cksum(&ip);
        REQUIRE(ipv4_checksum_ok(&ip, sizeof ip));

        ipv4_decrement_ttl(&ip);
        const rte_be16_t patched = ip.hdr_checksum;
        ip.hdr_checksum = 0;
        const rte_be16_t full = rte_ipv4_cksum(&ip);
        ip.hdr_checksum = patched;
        // One's complement has two zeros; both must verify, and they must agree otherwise.
        INFO("ttl " << int(ip.time_to_live));
        REQUIRE(ipv4_checksum_ok(&ip, sizeof ip));
        if (full != 0 && full != 0xffff)
            REQUIRE(patched == full);
    }
}

TEST_CASE("a corrupted IPv4 header fails the checksum check", "[checksum]") {
    auto f = ipv4_frame(udp_spec());
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(f.data() + sizeof(rte_ether_hdr));
    REQUIRE(ipv4_checksum_ok(ip, sizeof *ip));
    ip->src_addr ^= 0x01000000;
    REQUIRE_FALSE(ipv4_checksum_ok(ip, sizeof *ip));
}

TEST_CASE("parse_packet classifies valid frames", "[parse]") {
    SECTION("IPv4") {
        auto p = parse_bytes(ipv4_frame(udp_spec()));
        REQUIRE(p.kind == L3Kind::Ipv4);
        CHECK(p.ip_hdr_len == 20);
        CHECK(Ipv4Addr{p.ip->dst_addr} == *Ipv4Addr::parse("10.200.0.12"));
    }
    SECTION("IPv4 with options") {
        auto f = ipv4_frame(udp_spec());
        // Insert 4 bytes of options (NOP x4) after the base header.
        f.insert(f.begin() + 14 + 20, {1, 1, 1, 1});
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(f.data() + 14);
        ip->version_ihl = 0x46;
        ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(rte_be_to_cpu_16(ip->total_length) + 4));
        ip->hdr_checksum = 0;
        ip->hdr_checksum = static_cast<uint16_t>(~rte_raw_cksum(ip, 24));
        auto p = parse_bytes(f);
        REQUIRE(p.kind == L3Kind::Ipv4);
        CHECK(p.ip_hdr_len == 24);
    }
    SECTION("ARP") {
        auto p = parse_bytes(arp_request(udp_spec().src_mac, udp_spec().src, *Ipv4Addr::parse("10.200.0.1")));
        REQUIRE(p.kind == L3Kind::Arp);
    }
}

TEST_CASE("parse_packet names the reason for bad frames", "[parse]") {
    const auto good = ipv4_frame(udp_spec());
    auto with = [&](auto edit) {
        auto f = good;
        edit(f);
        return f;
    };
    auto ip_of = [](std::vector<uint8_t>& f) { return reinterpret_cast<rte_ipv4_hdr*>(f.data() + 14); };
    auto refresh_ck = [&](std::vector<uint8_t>& f) {
        ip_of(f)->hdr_checksum = 0;
        ip_of(f)->hdr_checksum = rte_ipv4_cksum(ip_of(f));
    };

    const auto arp = arp_request(udp_spec().src_mac, udp_spec().src, udp_spec().dst);
    struct Case {
        const char* name;
        std::vector<uint8_t> frame;
        DropReason reason;
    };
    const std::vector<Case> cases = {
        {"shorter than Ethernet", std::vector<uint8_t>(good.begin(), good.begin() + 10), DropReason::Malformed},
        {"IPv4 header cut short", std::vector<uint8_t>(good.begin(), good.begin() + 14 + 12), DropReason::Malformed},
        {"version 6 in an IPv4 ethertype", with([&](auto& f) { ip_of(f)->version_ihl = 0x65; refresh_ck(f); }), DropReason::Malformed},
        {"IHL below 5", with([&](auto& f) { ip_of(f)->version_ihl = 0x44; }), DropReason::Malformed},
        {"IHL beyond the frame", with([&](auto& f) { ip_of(f)->version_ihl = 0x4f; }), DropReason::Malformed},
        {"total length beyond the frame", with([&](auto& f) { ip_of(f)->total_length = rte_cpu_to_be_16(1400); refresh_ck(f); }), DropReason::Malformed},
        {"total length below the header", with([&](auto& f) { ip_of(f)->total_length = rte_cpu_to_be_16(10); refresh_ck(f); }), DropReason::Malformed},
        {"bad header checksum", with([&](auto& f) { ip_of(f)->hdr_checksum ^= 0x5555; }), DropReason::BadIpChecksum},
        {"ARP cut short", std::vector<uint8_t>(arp.begin(), arp.begin() + 30), DropReason::Malformed},
        {"IPv6", with([&](auto& f) { reinterpret_cast<rte_ether_hdr*>(f.data())->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6); }), DropReason::UnsupportedEthertype},
        {"VLAN tag", with([&](auto& f) { reinterpret_cast<rte_ether_hdr*>(f.data())->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN); }), DropReason::UnsupportedEthertype},
    };
    for (const Case& c : cases) {
        INFO(c.name);
        auto p = parse_bytes(c.frame);
        CHECK(p.kind == L3Kind::Drop);
        CHECK(drop_reason_name(p.drop) == drop_reason_name(c.reason));
    }
}

TEST_CASE("parse_packet trusts a PMD's checksum verdict", "[parse]") {
    auto f = ipv4_frame(udp_spec());
    reinterpret_cast<rte_ipv4_hdr*>(f.data() + 14)->hdr_checksum ^= 0x1111;
    CHECK(parse_bytes(f, RTE_MBUF_F_RX_IP_CKSUM_GOOD).kind == L3Kind::Ipv4);
    CHECK(parse_bytes(ipv4_frame(udp_spec()), RTE_MBUF_F_RX_IP_CKSUM_BAD).drop == DropReason::BadIpChecksum);
}

TEST_CASE("drop reasons have distinct stable names", "[parse]") {
    std::set<std::string_view> names;
    for (size_t r = 0; r < kDropReasonCount; ++r) {
        auto name = drop_reason_name(static_cast<DropReason>(r));
        CHECK(name.find(' ') == std::string_view::npos);
        CHECK(names.insert(name).second);
    }
    CHECK(drop_reason_name(DropReason::UnknownDestination) == "unknown_destination");
    CHECK(drop_reason_name(DropReason::TtlExceeded) == "ttl_exceeded");
}
