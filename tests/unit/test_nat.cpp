// NAT on packet fixtures: conntrack tuples, address/port rewriting with
// incremental checksums, reverse translation of ICMP errors, and the RST /
// port unreachable answers for a service without backends. Every checksum is
// verified from scratch with a reference sum written here, independent of
// DPDK's and of the code under test.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/checksum.h"
#include "dataplane/icmp_error.h"
#include "dataplane/nat.h"
#include "dataplane/nat_icmp.h"
#include "dataplane/parse.h"
#include "dataplane/reject.h"
#include "frame_builder.h"

using namespace podlane;
using namespace podlane::test;

namespace {

rte_mempool* nat_pool() {
    static rte_mempool* pool = rte_pktmbuf_pool_create("test_nat_pool", 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    return pool;
}

Ipv4Addr ip4(const char* s) { return *Ipv4Addr::parse(s); }

const MacAddr kSrcMac = *MacAddr::parse("0a:58:0a:c8:00:0b");
const MacAddr kDstMac = *MacAddr::parse("0a:58:0a:c8:00:01");
const MacAddr kOurMac = *MacAddr::parse("02:00:00:00:00:aa");

// The worked examples' addresses.
const Ipv4Addr kClient = ip4("10.210.1.20");  // C
const Ipv4Addr kVip = ip4("10.96.0.10");      // a ClusterIP
const Ipv4Addr kBackend = ip4("10.210.2.11"); // B
const Ipv4Addr kPod = ip4("10.210.1.11");     // P, masqueraded
const Ipv4Addr kExt = ip4("192.168.50.1");    // E, outside the cluster
const Ipv4Addr kNode = ip4("192.168.50.11");  // N, the node's address
const Ipv4Addr kRouter = ip4("192.168.50.254");

// ---- reference checksums: big-endian 16-bit words, end-around carry ----

uint32_t ref_sum(const uint8_t* d, size_t n, uint32_t s = 0) {
    for (size_t i = 0; i + 1 < n; i += 2)
        s += uint32_t{d[i]} << 8 | d[i + 1];
    if (n % 2 != 0)
        s += uint32_t{d[n - 1]} << 8;
    return s;
}

uint16_t ref_fold(uint32_t s) {
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(s);
}

uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t get32(const uint8_t* p) { return uint32_t{get16(p)} << 16 | get16(p + 2); }
void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
    put16(p, static_cast<uint16_t>(v >> 16));
    put16(p + 2, static_cast<uint16_t>(v));
}

Ipv4Addr addr_at(const uint8_t* p) {
    Ipv4Addr a;
    std::memcpy(&a.be, p, 4);
    return a;
}

size_t ihl_of(const uint8_t* ip) { return size_t{ip[0] & 0x0fu} * 4; }

/// The pseudo-header sum of an IPv4 packet for an L4 length `len`.
uint32_t pseudo_sum(const uint8_t* ip, size_t len) { return ref_sum(ip + 12, 8) + ip[9] + static_cast<uint32_t>(len); }

bool ip_hdr_ok(const uint8_t* ip) { return ref_fold(ref_sum(ip, ihl_of(ip))) == 0xffff; }

/// The L4 checksum of a whole IPv4 packet at `ip` verifies (pseudo-header for
/// TCP/UDP, none for ICMP). A UDP checksum of 0 ("none") does not verify here.
bool l4_ok(const uint8_t* ip) {
    const size_t hl = ihl_of(ip), len = get16(ip + 2) - hl;
    const uint8_t* l4 = ip + hl;
    if (ip[9] == IPPROTO_ICMP)
        return ref_fold(ref_sum(l4, len)) == 0xffff;
    if (ip[9] == IPPROTO_UDP && get16(l4 + 6) == 0)
        return false;
    return ref_fold(ref_sum(l4, len, pseudo_sum(ip, len))) == 0xffff;
}

// ---- packet construction ----

/// One IPv4 packet. Ports are host order; for ICMP echo they follow CtTuple's
/// convention: the identifier is `sport` of a request and `dport` of a reply.
struct Spec {
    uint8_t proto = IPPROTO_TCP;
    Ipv4Addr src = kClient, dst = kVip;
    uint16_t sport = 40000, dport = 80;
    uint8_t icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
    uint8_t tcp_flags = RTE_TCP_SYN_FLAG;
    uint32_t seq = 1000, ack = 0;
    uint16_t payload = 32;
    bool udp_csum = true;
    uint8_t ip_opts = 0;  ///< bytes of IP options (multiple of 4)
    uint8_t tcp_opts = 0; ///< bytes of TCP options (multiple of 4)
    uint16_t frag = 0;    ///< flags and offset, host order
    uint8_t payload_seed = 3;
};

size_t l4_hdr_len(const Spec& s) {
    switch (s.proto) {
    case IPPROTO_TCP: return 20u + s.tcp_opts;
    case IPPROTO_UDP:
    case IPPROTO_ICMP: return 8;
    default: return 4; // e.g. GRE
    }
}

/// The IPv4 packet of `s` (no Ethernet) with valid checksums, from scratch.
std::vector<uint8_t> ip_packet(const Spec& s) {
    const size_t hl = 20u + s.ip_opts, l4len = l4_hdr_len(s) + s.payload;
    std::vector<uint8_t> v(hl + l4len, 0);
    uint8_t* ip = v.data();
    ip[0] = static_cast<uint8_t>(0x40 | hl / 4);
    put16(ip + 2, static_cast<uint16_t>(v.size()));
    put16(ip + 4, 0x4242);
    put16(ip + 6, s.frag);
    ip[8] = 64;
    ip[9] = s.proto;
    std::memcpy(ip + 12, &s.src.be, 4);
    std::memcpy(ip + 16, &s.dst.be, 4);
    std::memset(ip + 20, 1, s.ip_opts); // NOPs
    uint8_t* l4 = ip + hl;
    for (size_t i = l4_hdr_len(s); i < l4len; ++i)
        l4[i] = static_cast<uint8_t>(i * 7 + s.payload_seed);
    switch (s.proto) {
    case IPPROTO_TCP:
        put16(l4, s.sport);
        put16(l4 + 2, s.dport);
        put32(l4 + 4, s.seq);
        put32(l4 + 8, s.ack);
        l4[12] = static_cast<uint8_t>(l4_hdr_len(s) / 4 << 4);
        l4[13] = s.tcp_flags;
        put16(l4 + 14, 29200);
        std::memset(l4 + 20, 1, s.tcp_opts);
        put16(l4 + 16, static_cast<uint16_t>(~ref_fold(ref_sum(l4, l4len, pseudo_sum(ip, l4len)))));
        break;
    case IPPROTO_UDP:
        put16(l4, s.sport);
        put16(l4 + 2, s.dport);
        put16(l4 + 4, static_cast<uint16_t>(l4len));
        if (s.udp_csum) {
            const auto ck = static_cast<uint16_t>(~ref_fold(ref_sum(l4, l4len, pseudo_sum(ip, l4len))));
            put16(l4 + 6, ck == 0 ? 0xffff : ck);
        }
        break;
    case IPPROTO_ICMP:
        l4[0] = s.icmp_type;
        put16(l4 + 4, s.icmp_type == RTE_IP_ICMP_ECHO_REQUEST ? s.sport : s.dport);
        put16(l4 + 6, 7);
        put16(l4 + 2, static_cast<uint16_t>(~ref_fold(ref_sum(l4, l4len))));
        break;
    default:
        put16(l4 + 2, 0x0800); // GRE carrying IPv4
        break;
    }
    put16(ip + 10, static_cast<uint16_t>(~ref_fold(ref_sum(ip, hl))));
    return v;
}

/// An ICMP error from `from` to `to` quoting `quote`, with valid checksums.
std::vector<uint8_t> icmp_error_packet(Ipv4Addr from, Ipv4Addr to, uint8_t type, uint8_t code,
                                       const std::vector<uint8_t>& quote, uint32_t rest = 0) {
    std::vector<uint8_t> v(20 + 8 + quote.size(), 0);
    uint8_t* ip = v.data();
    ip[0] = 0x45;
    put16(ip + 2, static_cast<uint16_t>(v.size()));
    ip[8] = 62;
    ip[9] = IPPROTO_ICMP;
    std::memcpy(ip + 12, &from.be, 4);
    std::memcpy(ip + 16, &to.be, 4);
    put16(ip + 10, static_cast<uint16_t>(~ref_fold(ref_sum(ip, 20))));
    uint8_t* icmp = ip + 20;
    icmp[0] = type;
    icmp[1] = code;
    put32(icmp + 4, rest);
    std::memcpy(icmp + 8, quote.data(), quote.size());
    put16(icmp + 2, static_cast<uint16_t>(~ref_fold(ref_sum(icmp, v.size() - 20))));
    return v;
}

std::vector<uint8_t> prefix(const std::vector<uint8_t>& v, size_t n) { return {v.begin(), v.begin() + n}; }

/// Ethernet + `ip`.
std::vector<uint8_t> frame_of(const std::vector<uint8_t>& ip, const MacAddr& src = kSrcMac,
                              const MacAddr& dst = kDstMac) {
    std::vector<uint8_t> f(14 + ip.size());
    put_ether(f.data(), src, dst, RTE_ETHER_TYPE_IPV4);
    std::memcpy(f.data() + 14, ip.data(), ip.size());
    return f;
}

/// A parsed packet in an mbuf (freed at scope exit).
struct Pkt {
    rte_mbuf* m = nullptr;
    ParsedPacket p;

    explicit Pkt(const std::vector<uint8_t>& frame) : m(to_mbuf(nat_pool(), frame)) {
        REQUIRE(m != nullptr);
        p = parse_packet(m);
        REQUIRE(p.kind == L3Kind::Ipv4);
    }
    /// The frame split into two segments after `first` bytes.
    Pkt(const std::vector<uint8_t>& frame, size_t first) : m(to_mbuf(nat_pool(), prefix(frame, first))) {
        REQUIRE(m != nullptr);
        rte_mbuf* tail = to_mbuf(nat_pool(), std::vector<uint8_t>(frame.begin() + first, frame.end()));
        REQUIRE(tail != nullptr);
        REQUIRE(rte_pktmbuf_chain(m, tail) == 0);
        p = parse_packet(m);
        REQUIRE(p.kind == L3Kind::Ipv4);
    }
    ~Pkt() { rte_pktmbuf_free(m); }
    Pkt(const Pkt&) = delete;
    Pkt& operator=(const Pkt&) = delete;

    std::vector<uint8_t> bytes() const { return bytes_of(m); }
    std::vector<uint8_t> ip() const {
        auto b = bytes();
        return {b.begin() + 14, b.end()};
    }
};

CtTuple tuple(Ipv4Addr src, Ipv4Addr dst, uint16_t sport, uint16_t dport, uint8_t proto) {
    return CtTuple{src.be, dst.be, rte_cpu_to_be_16(sport), rte_cpu_to_be_16(dport), proto, {}};
}

CtXlate xlate(Ipv4Addr src, Ipv4Addr dst, uint16_t sport, uint16_t dport) {
    return CtXlate{src.be, dst.be, rte_cpu_to_be_16(sport), rte_cpu_to_be_16(dport)};
}

/// The tuple ct_tuple_of should read from a packet built from `s`.
CtTuple tuple_of(const Spec& s) { return tuple(s.src, s.dst, s.sport, s.dport, s.proto); }

/// `s` with the addresses and ports of `x`.
Spec apply(Spec s, const CtXlate& x) {
    s.src = Ipv4Addr{x.src};
    s.dst = Ipv4Addr{x.dst};
    s.sport = rte_be_to_cpu_16(x.sport);
    s.dport = rte_be_to_cpu_16(x.dport);
    return s;
}

std::string describe(const CtTuple& t) {
    return Ipv4Addr{t.src}.str() + ":" + std::to_string(rte_be_to_cpu_16(t.sport)) + " -> " +
           Ipv4Addr{t.dst}.str() + ":" + std::to_string(rte_be_to_cpu_16(t.dport)) + " proto " +
           std::to_string(t.proto);
}

} // namespace

// ---------------------------------------------------------------------------

TEST_CASE("csum_delta16/32 with csum_apply_delta match a full recompute", "[nat][checksum]") {
    std::mt19937 rng(7);
    for (int i = 0; i < 2000; ++i) {
        // A 12-byte block: two addresses and two ports, as in the L4 checksum.
        uint8_t b[12];
        for (auto& x : b)
            x = static_cast<uint8_t>(rng());
        const uint16_t ck = static_cast<uint16_t>(~ref_fold(ref_sum(b, sizeof b)));
        uint32_t a0, a1;
        uint16_t p0, p1;
        std::memcpy(&a0, b, 4);
        std::memcpy(&a1, b + 4, 4);
        std::memcpy(&p0, b + 8, 2);
        std::memcpy(&p1, b + 10, 2);
        const uint32_t n0 = rng(), n1 = (rng() % 2) != 0 ? a1 : static_cast<uint32_t>(rng());
        const auto q0 = static_cast<uint16_t>(rng()), q1 = static_cast<uint16_t>(rng());
        const uint32_t delta = csum_delta32(a0, n0) + csum_delta32(a1, n1) + csum_delta16(p0, q0) + csum_delta16(p1, q1);
        std::memcpy(b, &n0, 4);
        std::memcpy(b + 4, &n1, 4);
        std::memcpy(b + 8, &q0, 2);
        std::memcpy(b + 10, &q1, 2);
        // The stored checksum word, as the code sees it (network order in memory).
        const rte_be16_t stored = rte_cpu_to_be_16(ck);
        const uint16_t patched = rte_be_to_cpu_16(csum_apply_delta(stored, delta));
        uint8_t with[14];
        std::memcpy(with, b, 12);
        put16(with + 12, patched);
        REQUIRE(ref_fold(ref_sum(with, sizeof with)) == 0xffff);
        REQUIRE(patched == static_cast<uint16_t>(~ref_fold(ref_sum(b, sizeof b))));
    }
}

TEST_CASE("ct_tuple_of reads TCP, UDP and ICMP echo tuples", "[nat]") {
    struct Case {
        const char* name;
        Spec spec;
        CtTuple want;
    };
    Spec tcp;
    Spec tcp_opts;
    tcp_opts.ip_opts = 8;
    tcp_opts.tcp_opts = 12;
    Spec udp;
    udp.proto = IPPROTO_UDP;
    udp.sport = 5353;
    udp.dport = 53;
    Spec req;
    req.proto = IPPROTO_ICMP;
    req.sport = 0x1234;
    req.dport = 0;
    Spec rep = req;
    rep.icmp_type = RTE_IP_ICMP_ECHO_REPLY;
    rep.src = kVip;
    rep.dst = kClient;
    rep.sport = 0;
    rep.dport = 0x1234;
    Spec df = tcp;
    df.frag = RTE_IPV4_HDR_DF_FLAG;
    const Case cases[] = {
        {"TCP", tcp, tuple(kClient, kVip, 40000, 80, IPPROTO_TCP)},
        {"TCP with IP and TCP options", tcp_opts, tuple(kClient, kVip, 40000, 80, IPPROTO_TCP)},
        {"UDP", udp, tuple(kClient, kVip, 5353, 53, IPPROTO_UDP)},
        {"ICMP echo request: id as sport", req, tuple(kClient, kVip, 0x1234, 0, IPPROTO_ICMP)},
        {"ICMP echo reply: id as dport", rep, tuple(kVip, kClient, 0, 0x1234, IPPROTO_ICMP)},
        {"DF set is not a fragment", df, tuple(kClient, kVip, 40000, 80, IPPROTO_TCP)},
    };
    for (const Case& c : cases) {
        INFO(c.name);
        Pkt pk(frame_of(ip_packet(c.spec)));
        CtTuple t;
        REQUIRE(ct_tuple_of(pk.p, t));
        CHECK(describe(t) == describe(c.want));
        CHECK(t == c.want);
    }
}

TEST_CASE("ct_tuple_of refuses fragments, truncated headers and untracked protocols", "[nat]") {
    struct Case {
        const char* name;
        std::vector<uint8_t> frame;
        size_t first_seg = 0; ///< split the mbuf after this many bytes (0: one segment)
    };
    auto spec = [](auto f) {
        Spec s;
        f(s);
        return frame_of(ip_packet(s));
    };
    // total_length says the packet ends `cut` bytes into L4 (the frame keeps its bytes as padding).
    auto cut_l4 = [](Spec s, uint16_t cut) {
        auto ip = ip_packet(s);
        const size_t hl = ihl_of(ip.data());
        put16(ip.data() + 2, static_cast<uint16_t>(hl + cut));
        put16(ip.data() + 10, 0);
        put16(ip.data() + 10, static_cast<uint16_t>(~ref_fold(ref_sum(ip.data(), hl))));
        return frame_of(ip);
    };
    Spec udp;
    udp.proto = IPPROTO_UDP;
    Spec icmp;
    icmp.proto = IPPROTO_ICMP;
    Spec tcp_opts;
    tcp_opts.tcp_opts = 20;
    tcp_opts.payload = 0;
    const std::vector<Case> cases = {
        {"first fragment (MF)", spec([](Spec& s) { s.frag = RTE_IPV4_HDR_MF_FLAG; })},
        {"later fragment (offset)", spec([](Spec& s) { s.frag = 185; })},
        {"last fragment (offset, no MF)", spec([](Spec& s) { s.frag = 1; s.proto = IPPROTO_UDP; })},
        {"GRE", spec([](Spec& s) { s.proto = IPPROTO_GRE; })},
        {"SCTP", spec([](Spec& s) { s.proto = IPPROTO_SCTP; s.payload = 40; })},
        {"ICMP dest unreachable", spec([](Spec& s) { s.proto = IPPROTO_ICMP; s.icmp_type = 3; })},
        {"ICMP time exceeded", spec([](Spec& s) { s.proto = IPPROTO_ICMP; s.icmp_type = 11; })},
        {"ICMP redirect", spec([](Spec& s) { s.proto = IPPROTO_ICMP; s.icmp_type = 5; })},
        {"TCP cut to 19 bytes", cut_l4(Spec{}, 19)},
        {"TCP options beyond total_length", cut_l4(tcp_opts, 30)},
        {"TCP data offset below 5", [] {
             auto ip = ip_packet(Spec{});
             ip[20 + 12] = 4 << 4;
             return frame_of(ip);
         }()},
        {"UDP cut to 7 bytes", cut_l4(udp, 7)},
        {"ICMP echo cut to 6 bytes", cut_l4(icmp, 6)},
        {"TCP header in the second segment", frame_of(ip_packet(Spec{})), 14 + 20},
        {"TCP header split across segments", frame_of(ip_packet(Spec{})), 14 + 20 + 12},
    };
    for (const Case& c : cases) {
        INFO(c.name);
        std::unique_ptr<Pkt> pk = c.first_seg != 0 ? std::make_unique<Pkt>(c.frame, c.first_seg)
                                                   : std::make_unique<Pkt>(c.frame);
        CtTuple t;
        CHECK_FALSE(ct_tuple_of(pk->p, t));
    }
    SECTION("a multi-segment packet with its headers in the first segment is trackable") {
        Pkt pk(frame_of(ip_packet(Spec{})), 14 + 20 + 20);
        CtTuple t;
        CHECK(ct_tuple_of(pk.p, t));
    }
}

TEST_CASE("tcp_flags_of reads the TCP flags byte", "[nat]") {
    for (uint8_t flags : {uint8_t{RTE_TCP_SYN_FLAG}, uint8_t{RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG},
                          uint8_t{RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG}, uint8_t{RTE_TCP_RST_FLAG},
                          uint8_t{RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG | RTE_TCP_ECE_FLAG}}) {
        Spec s;
        s.tcp_flags = flags;
        s.ip_opts = 4;
        Pkt pk(frame_of(ip_packet(s)));
        CtTuple t;
        REQUIRE(ct_tuple_of(pk.p, t));
        CHECK(tcp_flags_of(pk.p) == flags);
    }
}

TEST_CASE("nat_apply rewrites every combination of fields with valid checksums", "[nat]") {
    struct Kind {
        const char* name;
        Spec spec;
    };
    Spec tcp;
    Spec tcp_opts;
    tcp_opts.ip_opts = 8;
    tcp_opts.tcp_opts = 12;
    tcp_opts.tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG;
    Spec tcp_odd = tcp;
    tcp_odd.payload = 33; // an odd L4 length
    Spec udp;
    udp.proto = IPPROTO_UDP;
    udp.sport = 5353;
    udp.dport = 53;
    Spec udp_none = udp;
    udp_none.udp_csum = false;
    Spec req;
    req.proto = IPPROTO_ICMP;
    req.sport = 0x1234;
    req.dport = 0;
    Spec rep = req;
    rep.icmp_type = RTE_IP_ICMP_ECHO_REPLY;
    rep.sport = 0;
    rep.dport = 0x1234;
    const Kind kinds[] = {{"TCP", tcp},           {"TCP with IP and TCP options", tcp_opts},
                          {"TCP odd length", tcp_odd}, {"UDP", udp},
                          {"UDP without checksum", udp_none}, {"ICMP echo request", req},
                          {"ICMP echo reply", rep}};
    for (const Kind& k : kinds) {
        for (unsigned mask = 0; mask < 16; ++mask) {
            INFO(k.name << ", changing src " << (mask & 1) << " dst " << (mask >> 1 & 1) << " sport "
                        << (mask >> 2 & 1) << " dport " << (mask >> 3 & 1));
            const CtTuple t = tuple_of(k.spec);
            CtXlate x = ct_identity(t);
            if (mask & 1)
                x.src = kNode.be;
            if (mask & 2)
                x.dst = kBackend.be;
            // ICMP echo: only the identifier's side of the port pair is a port.
            if ((mask & 4) && t.sport != 0)
                x.sport = rte_cpu_to_be_16(33000);
            if ((mask & 8) && t.dport != 0)
                x.dport = rte_cpu_to_be_16(8080);
            const auto before = frame_of(ip_packet(k.spec));
            Pkt pk(before);
            CtTuple read;
            REQUIRE(ct_tuple_of(pk.p, read));
            REQUIRE(read == t);
            nat_apply(pk.p, t, x);

            const auto want = frame_of(ip_packet(apply(k.spec, x)));
            const auto got = pk.bytes();
            CHECK(got == want); // byte for byte the packet built from scratch with the new fields
            const uint8_t* ip = got.data() + 14;
            CHECK(ip_hdr_ok(ip));
            if (k.spec.proto == IPPROTO_UDP && !k.spec.udp_csum)
                CHECK(get16(ip + ihl_of(ip) + 6) == 0); // "no checksum" stays so
            else
                CHECK(l4_ok(ip));
            Pkt again(got);
            CtTuple after;
            REQUIRE(ct_tuple_of(again.p, after));
            CHECK(after == ct_apply(t, x));
            if (x == ct_identity(t))
                CHECK(got == before);
        }
    }
}

TEST_CASE("nat_apply keeps checksums valid for random addresses, ports and payloads", "[nat]") {
    std::mt19937 rng(1624);
    for (int i = 0; i < 600; ++i) {
        Spec s;
        const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP};
        s.proto = protos[i % 3];
        s.src = Ipv4Addr{static_cast<rte_be32_t>(rng())};
        s.dst = Ipv4Addr{static_cast<rte_be32_t>(rng())};
        s.sport = static_cast<uint16_t>(rng());
        s.dport = static_cast<uint16_t>(rng());
        if (s.proto == IPPROTO_ICMP) {
            s.icmp_type = (rng() % 2) != 0 ? RTE_IP_ICMP_ECHO_REQUEST : RTE_IP_ICMP_ECHO_REPLY;
            (s.icmp_type == RTE_IP_ICMP_ECHO_REQUEST ? s.dport : s.sport) = 0;
        }
        s.payload = static_cast<uint16_t>(rng() % 200);
        s.payload_seed = static_cast<uint8_t>(rng());
        s.seq = rng();
        const CtTuple t = tuple_of(s);
        CtXlate x{static_cast<rte_be32_t>(rng()), static_cast<rte_be32_t>(rng()), static_cast<rte_be16_t>(rng()),
                  static_cast<rte_be16_t>(rng())};
        if (s.proto == IPPROTO_ICMP)
            (s.icmp_type == RTE_IP_ICMP_ECHO_REQUEST ? x.dport : x.sport) = 0;
        INFO("case " << i << ": " << describe(t) << " to " << describe(ct_apply(t, x)));
        Pkt pk(frame_of(ip_packet(s)));
        nat_apply(pk.p, t, x);
        const auto got = pk.bytes();
        REQUIRE(got == frame_of(ip_packet(apply(s, x))));
        REQUIRE(ip_hdr_ok(got.data() + 14));
        REQUIRE(l4_ok(got.data() + 14));
    }
}

TEST_CASE("nat_apply sends a UDP checksum that comes out as 0 as 0xffff", "[nat]") {
    Spec s;
    s.proto = IPPROTO_UDP;
    s.sport = 5353;
    s.dport = 53;
    const CtXlate x = xlate(kNode, kExt, 33000, 53);
    // Pick the first payload word so that the rewritten datagram sums to
    // 0xffff: its computed checksum is 0, to be sent as 0xffff.
    auto after = ip_packet(apply(s, x));
    uint8_t* l4 = after.data() + 20;
    put16(l4 + 6, 0);
    put16(l4 + 8, 0);
    const uint16_t sum = ref_fold(ref_sum(l4, after.size() - 20, pseudo_sum(after.data(), after.size() - 20)));
    const uint16_t word = static_cast<uint16_t>(0xffff - sum);
    // The packet before NAT with that payload word and a valid checksum.
    auto before = ip_packet(s);
    put16(before.data() + 20 + 8, word);
    put16(before.data() + 20 + 6, 0);
    const size_t len = before.size() - 20;
    put16(before.data() + 20 + 6,
          static_cast<uint16_t>(~ref_fold(ref_sum(before.data() + 20, len, pseudo_sum(before.data(), len)))));
    REQUIRE(l4_ok(before.data()));

    Pkt pk(frame_of(before));
    nat_apply(pk.p, tuple_of(s), x);
    const auto got = pk.ip();
    CHECK(get16(got.data() + 20 + 6) == 0xffff);
    CHECK(l4_ok(got.data()));
}

// ---------------------------------------------------------------------------

namespace {

/// Checks an ICMP error after reverse translation: outer addresses, every
/// checksum from scratch, and the quote equal to `want_quote`.
void check_translated_error(const std::vector<uint8_t>& ip, Ipv4Addr outer_src, Ipv4Addr outer_dst,
                            const std::vector<uint8_t>& want_quote, bool quote_has_l4_csum) {
    const uint8_t* p = ip.data();
    CHECK(addr_at(p + 12) == outer_src);
    CHECK(addr_at(p + 16) == outer_dst);
    CHECK(ip_hdr_ok(p));
    CHECK(l4_ok(p)); // the outer ICMP checksum over the whole message
    const std::vector<uint8_t> quote(ip.begin() + 28, ip.end());
    CHECK(quote == want_quote);
    CHECK(ip_hdr_ok(quote.data()));
    if (quote_has_l4_csum)
        CHECK(l4_ok(quote.data())); // a whole quoted packet: its L4 checksum verifies too
}

} // namespace

TEST_CASE("an ICMP error about a DNATed flow is translated back to the service address", "[nat]") {
    // C:40000 -> VIP:80 was DNATed to B:8080; the reply direction is
    // B:8080 -> C:40000, translated to VIP:80 -> C:40000.
    Spec sent;
    sent.proto = IPPROTO_UDP;
    sent.src = kClient;
    sent.dst = kVip;
    sent.sport = 40000;
    sent.dport = 80;
    sent.payload = 24;
    Spec delivered = sent;
    delivered.dst = kBackend;
    delivered.dport = 8080;
    const auto orig = ip_packet(sent), natted = ip_packet(delivered);
    const CtXlate x = xlate(kVip, kClient, 80, 40000);
    const CtTuple want = tuple(kBackend, kClient, 8080, 40000, IPPROTO_UDP);

    SECTION("port unreachable from the backend, quoting the whole datagram") {
        Pkt pk(frame_of(icmp_error_packet(kBackend, kClient, 3, 3, natted)));
        CtTuple t;
        REQUIRE(icmp_error_flow_tuple(pk.p, t));
        CHECK(describe(t) == describe(want));
        CHECK(t == want);
        nat_apply_icmp_error(pk.p, x);
        // VIP -> C, quoting exactly what the client sent.
        check_translated_error(pk.ip(), kVip, kClient, orig, true);
    }
    SECTION("port unreachable from the backend, quoting the IP header and 8 bytes") {
        Pkt pk(frame_of(icmp_error_packet(kBackend, kClient, 3, 3, prefix(natted, 28))));
        CtTuple t;
        REQUIRE(icmp_error_flow_tuple(pk.p, t));
        CHECK(t == want);
        nat_apply_icmp_error(pk.p, x);
        check_translated_error(pk.ip(), kVip, kClient, prefix(orig, 28), false);
    }
    SECTION("time exceeded from a router between the node and the backend keeps its source") {
        const Ipv4Addr hop = ip4("10.210.2.1");
        Pkt pk(frame_of(icmp_error_packet(hop, kClient, kIcmpTimeExceeded, 0, natted)));
        CtTuple t;
        REQUIRE(icmp_error_flow_tuple(pk.p, t));
        CHECK(t == want);
        nat_apply_icmp_error(pk.p, x);
        check_translated_error(pk.ip(), hop, kClient, orig, true);
    }
}

TEST_CASE("an ICMP error about a masqueraded flow is translated back to the pod", "[nat]") {
    // P:5000 -> E:80 was SNATed to N:33000; the reply direction is
    // E:80 -> N:33000, translated to E:80 -> P:5000.
    Spec sent;
    sent.src = kPod;
    sent.dst = kExt;
    sent.sport = 5000;
    sent.dport = 80;
    sent.frag = RTE_IPV4_HDR_DF_FLAG;
    sent.payload = 100;
    Spec on_wire = sent;
    on_wire.src = kNode;
    on_wire.sport = 33000;
    const auto orig = ip_packet(sent), natted = ip_packet(on_wire);
    const CtXlate x = xlate(kExt, kPod, 80, 5000);
    const CtTuple want = tuple(kExt, kNode, 80, 33000, IPPROTO_TCP);

    struct Case {
        const char* name;
        Ipv4Addr from;
        size_t quoted;
        bool whole;
    };
    const Case cases[] = {
        {"frag needed from a router, IP header + 8 bytes", kRouter, 28, false},
        {"frag needed from a router, the TCP header (checksum inside the quote)", kRouter, 40, false},
        {"frag needed from a router, the whole segment", kRouter, natted.size(), true},
        {"port unreachable from the destination itself", kExt, 28, false},
        {"port unreachable from the destination itself, the whole segment", kExt, natted.size(), true},
    };
    for (const Case& c : cases) {
        INFO(c.name);
        Pkt pk(frame_of(icmp_error_packet(c.from, kNode, 3, c.from == kRouter ? 4 : 3, prefix(natted, c.quoted),
                                          c.from == kRouter ? 1400 : 0)));
        CtTuple t;
        REQUIRE(icmp_error_flow_tuple(pk.p, t));
        CHECK(describe(t) == describe(want));
        nat_apply_icmp_error(pk.p, x);
        const auto got = pk.ip();
        // R -> P (a router's address is never rewritten), quoting P:5000 -> E:80.
        check_translated_error(got, c.from, kPod, prefix(orig, c.quoted), c.whole);
        CHECK(get32(got.data() + 24) == (c.from == kRouter ? 1400u : 0u)); // rest of header untouched
    }
    SECTION("a quote ending just before the TCP checksum: nothing written past the message") {
        // IP header + 16 bytes of TCP; the frame carries padding after the ICMP message.
        auto f = frame_of(icmp_error_packet(kRouter, kNode, 3, 4, prefix(natted, 36), 1400));
        const size_t message_end = f.size();
        f.resize(f.size() + 8, 0xee);
        Pkt pk(f);
        CtTuple t;
        REQUIRE(icmp_error_flow_tuple(pk.p, t));
        nat_apply_icmp_error(pk.p, x);
        const auto got = pk.bytes();
        const std::vector<uint8_t> ip(got.begin() + 14, got.begin() + static_cast<long>(message_end));
        check_translated_error(ip, kRouter, kPod, prefix(orig, 36), false);
        CHECK(std::vector<uint8_t>(got.begin() + static_cast<long>(message_end), got.end()) ==
              std::vector<uint8_t>(8, 0xee));
    }
}

TEST_CASE("an ICMP error quoting an echo request uses the identifier as the port", "[nat]") {
    // P pings E with id 0x1234, SNATed to N with id 0x9000; a router says time exceeded.
    Spec sent;
    sent.proto = IPPROTO_ICMP;
    sent.src = kPod;
    sent.dst = kExt;
    sent.sport = 0x1234;
    sent.dport = 0;
    Spec on_wire = sent;
    on_wire.src = kNode;
    on_wire.sport = 0x9000;
    const auto orig = ip_packet(sent), natted = ip_packet(on_wire);
    Pkt pk(frame_of(icmp_error_packet(kRouter, kNode, kIcmpTimeExceeded, 0, natted)));
    CtTuple t;
    REQUIRE(icmp_error_flow_tuple(pk.p, t));
    // The quoted request is (N, 0x9000 -> E, 0); the error travels as its reply.
    CHECK(t == tuple(kExt, kNode, 0, 0x9000, IPPROTO_ICMP));
    // The replies' xlate: E:0 -> N:0x9000 becomes E:0 -> P:0x1234.
    nat_apply_icmp_error(pk.p, xlate(kExt, kPod, 0, 0x1234));
    check_translated_error(pk.ip(), kRouter, kPod, orig, true);
}

TEST_CASE("icmp_error_flow_tuple refuses what it cannot translate", "[nat]") {
    Spec udp;
    udp.proto = IPPROTO_UDP;
    udp.src = kClient;
    udp.dst = kBackend;
    const auto quoted = ip_packet(udp);
    auto with_quote = [&](auto f) {
        auto q = quoted;
        f(q);
        return frame_of(icmp_error_packet(kBackend, kClient, 3, 3, q));
    };
    auto refix_quote_ck = [](std::vector<uint8_t>& q) {
        put16(q.data() + 10, 0);
        put16(q.data() + 10, static_cast<uint16_t>(~ref_fold(ref_sum(q.data(), ihl_of(q.data())))));
    };
    Spec gre;
    gre.proto = IPPROTO_GRE;
    Spec echo;
    echo.proto = IPPROTO_ICMP;
    struct Case {
        const char* name;
        std::vector<uint8_t> frame;
    };
    const std::vector<Case> cases = {
        {"an echo request is not an error", frame_of(ip_packet(echo))},
        {"redirect", frame_of(icmp_error_packet(kBackend, kClient, 5, 1, quoted))},
        {"source quench", frame_of(icmp_error_packet(kBackend, kClient, 4, 0, quoted))},
        {"quote with 7 bytes of L4", frame_of(icmp_error_packet(kBackend, kClient, 3, 3, prefix(quoted, 27)))},
        {"quote cut inside the IP header", frame_of(icmp_error_packet(kBackend, kClient, 3, 3, prefix(quoted, 16)))},
        {"quote of a later fragment", with_quote([&](auto& q) { put16(q.data() + 6, 185); refix_quote_ck(q); })},
        {"quote that is not IPv4", with_quote([&](auto& q) { q[0] = 0x65; })},
        {"quote of GRE", frame_of(icmp_error_packet(kBackend, kClient, 3, 3, ip_packet(gre)))},
        {"quote of an ICMP error",
         frame_of(icmp_error_packet(kBackend, kClient, 3, 3, icmp_error_packet(kClient, kBackend, 3, 1, prefix(quoted, 28))))},
        {"bad ICMP checksum", [&] {
             auto f = frame_of(icmp_error_packet(kBackend, kClient, 3, 3, quoted));
             f.back() ^= 0x5a;
             return f;
         }()},
        {"the error is itself a fragment", [&] {
             auto ip = icmp_error_packet(kBackend, kClient, 3, 3, quoted);
             put16(ip.data() + 6, RTE_IPV4_HDR_MF_FLAG);
             put16(ip.data() + 10, 0);
             put16(ip.data() + 10, static_cast<uint16_t>(~ref_fold(ref_sum(ip.data(), 20))));
             return frame_of(ip);
         }()},
    };
    for (const Case& c : cases) {
        INFO(c.name);
        Pkt pk(c.frame);
        CtTuple t;
        CHECK_FALSE(icmp_error_flow_tuple(pk.p, t));
    }
    SECTION("nat_apply_icmp_error leaves what it cannot translate alone") {
        const auto f = frame_of(icmp_error_packet(kBackend, kClient, 3, 3, prefix(quoted, 27)));
        Pkt pk(f);
        nat_apply_icmp_error(pk.p, xlate(kVip, kClient, 80, 40000));
        CHECK(pk.bytes() == f);
    }
    SECTION("a quote of a first fragment (MF, offset 0) carries the ports") {
        Pkt pk(with_quote([&](auto& q) { put16(q.data() + 6, RTE_IPV4_HDR_MF_FLAG); refix_quote_ck(q); }));
        CtTuple t;
        CHECK(icmp_error_flow_tuple(pk.p, t));
    }
    SECTION("an error not wholly in the first segment") {
        Pkt pk(frame_of(icmp_error_packet(kBackend, kClient, 3, 3, quoted)), 14 + 20 + 8 + 28);
        CtTuple t;
        CHECK_FALSE(icmp_error_flow_tuple(pk.p, t));
    }
}

// ---------------------------------------------------------------------------

namespace {

constexpr uint16_t kInPort = 3;

struct Rst {
    std::vector<uint8_t> ip;
    const uint8_t* tcp() const { return ip.data() + 20; }
    uint32_t seq() const { return get32(tcp() + 4); }
    uint32_t ack() const { return get32(tcp() + 8); }
};

/// Runs reject_tcp_rst on `s` and checks what every RST has in common.
Rst rst_for(const Spec& s) {
    Pkt pk(frame_of(ip_packet(s)));
    const Verdict v = reject_tcp_rst(pk.m, pk.p, kOurMac, kInPort);
    REQUIRE(v.outcome == Outcome::Rejected);
    CHECK(v.port == kInPort);
    const auto f = pk.bytes();
    REQUIRE(f.size() == 14u + 20 + 20);
    CHECK(std::memcmp(f.data(), kSrcMac.bytes.data(), 6) == 0);     // back to the sender's MAC
    CHECK(std::memcmp(f.data() + 6, kOurMac.bytes.data(), 6) == 0); // from ours
    CHECK(get16(f.data() + 12) == RTE_ETHER_TYPE_IPV4);
    Rst r{{f.begin() + 14, f.end()}};
    const uint8_t* ip = r.ip.data();
    CHECK(ip[0] == 0x45);
    CHECK(get16(ip + 2) == 40);
    CHECK(ip[8] == 64);
    CHECK(ip[9] == IPPROTO_TCP);
    CHECK(addr_at(ip + 12) == s.dst);
    CHECK(addr_at(ip + 16) == s.src);
    CHECK(ip_hdr_ok(ip));
    CHECK(l4_ok(ip));
    CHECK(get16(r.tcp()) == s.dport);
    CHECK(get16(r.tcp() + 2) == s.sport);
    CHECK(r.tcp()[12] == 5 << 4);
    CHECK(r.tcp()[13] == (RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG));
    // The answer parses and is the reverse of the flow.
    Pkt back(f);
    CtTuple t;
    REQUIRE(ct_tuple_of(back.p, t));
    CHECK(t == ct_reverse(tuple_of(s)));
    return r;
}

} // namespace

TEST_CASE("reject_tcp_rst answers a new TCP flow with a RST from the service", "[nat]") {
    SECTION("a SYN: seq 0, ack its seq + 1") {
        Spec s;
        s.seq = 0xfffffff0;
        s.payload = 0;
        Rst r = rst_for(s);
        CHECK(r.seq() == 0);
        CHECK(r.ack() == 0xfffffff1);
    }
    SECTION("a SYN with IP and TCP options") {
        Spec s;
        s.ip_opts = 12;
        s.tcp_opts = 20;
        s.payload = 0;
        s.seq = 77;
        Rst r = rst_for(s);
        CHECK(r.ack() == 78);
    }
    SECTION("a data segment with ACK: seq its ack, ack its seq + payload") {
        Spec s;
        s.tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG;
        s.seq = 5000;
        s.ack = 7777;
        s.payload = 100;
        Rst r = rst_for(s);
        CHECK(r.seq() == 7777);
        CHECK(r.ack() == 5100);
    }
    SECTION("a FIN with data: ack counts the FIN") {
        Spec s;
        s.tcp_flags = RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG;
        s.seq = 9000;
        s.ack = 1;
        s.payload = 10;
        Rst r = rst_for(s);
        CHECK(r.seq() == 1);
        CHECK(r.ack() == 9011);
    }
    SECTION("a SYN in a short frame with Ethernet padding") {
        Spec s;
        s.payload = 0;
        auto f = frame_of(ip_packet(s));
        f.resize(60, 0); // padded by the sender's NIC
        Pkt pk(f);
        REQUIRE(reject_tcp_rst(pk.m, pk.p, kOurMac, kInPort).outcome == Outcome::Rejected);
        const auto got = pk.bytes();
        REQUIRE(got.size() == 54);
        CHECK(ip_hdr_ok(got.data() + 14));
        CHECK(l4_ok(got.data() + 14));
    }
}

TEST_CASE("reject_tcp_rst refuses a RST and what it cannot rewrite", "[nat]") {
    struct Case {
        const char* name;
        std::vector<uint8_t> frame;
        size_t first_seg = 0;
    };
    Spec rst;
    rst.tcp_flags = RTE_TCP_RST_FLAG;
    Spec rst_ack;
    rst_ack.tcp_flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
    Spec udp;
    udp.proto = IPPROTO_UDP;
    const std::vector<Case> cases = {
        {"a RST", frame_of(ip_packet(rst))},
        {"a RST|ACK", frame_of(ip_packet(rst_ack))},
        {"a multi-segment mbuf", frame_of(ip_packet(Spec{})), 14 + 20 + 20},
        {"not TCP", frame_of(ip_packet(udp))},
    };
    for (const Case& c : cases) {
        INFO(c.name);
        std::unique_ptr<Pkt> pk = c.first_seg != 0 ? std::make_unique<Pkt>(c.frame, c.first_seg)
                                                   : std::make_unique<Pkt>(c.frame);
        const auto before = bytes_of(pk->m);
        const Verdict v = reject_tcp_rst(pk->m, pk->p, kOurMac, kInPort);
        CHECK(v.outcome == Outcome::Dropped);
        CHECK(v.port == kDropPort);
        CHECK(v.reason == DropReason::NoBackend);
        CHECK(bytes_of(pk->m) == before);
    }
}

TEST_CASE("reject_icmp_port_unreachable answers a UDP flow from the service address", "[nat]") {
    for (uint16_t payload : {uint16_t{0}, uint16_t{3}, uint16_t{200}}) {
        for (uint8_t ip_opts : {uint8_t{0}, uint8_t{8}}) {
            INFO("payload " << payload << ", IP options " << int{ip_opts});
            Spec s;
            s.proto = IPPROTO_UDP;
            s.sport = 40000;
            s.dport = 53;
            s.payload = payload;
            s.ip_opts = ip_opts;
            const auto orig = ip_packet(s);
            Pkt pk(frame_of(orig));
            const Verdict v = reject_icmp_port_unreachable(pk.m, pk.p, kOurMac, kInPort);
            CHECK(v.outcome == Outcome::Rejected);
            CHECK(v.port == kInPort);
            const auto f = pk.bytes();
            const size_t quoted = std::min<size_t>(20u + ip_opts + 8, orig.size());
            REQUIRE(f.size() == 14 + 20 + 8 + quoted); // grows when the datagram is shorter than the error
            CHECK(rte_pktmbuf_pkt_len(pk.m) == f.size());
            CHECK(std::memcmp(f.data(), kSrcMac.bytes.data(), 6) == 0);
            CHECK(std::memcmp(f.data() + 6, kOurMac.bytes.data(), 6) == 0);
            const uint8_t* ip = f.data() + 14;
            CHECK(ip[0] == 0x45);
            CHECK(ip[8] == 64);
            CHECK(ip[9] == IPPROTO_ICMP);
            CHECK(get16(ip + 2) == 20 + 8 + quoted);
            CHECK(addr_at(ip + 12) == kVip); // from the service
            CHECK(addr_at(ip + 16) == kClient);
            CHECK(ip_hdr_ok(ip));
            CHECK(l4_ok(ip));
            CHECK(ip[20] == 3);
            CHECK(ip[21] == 3);
            CHECK(get32(ip + 24) == 0);
            CHECK(std::vector<uint8_t>(f.begin() + 42, f.end()) == prefix(orig, quoted));
            // It is an error about the client's flow, as icmp_error_flow_tuple reads it.
            Pkt back(f);
            CtTuple t;
            CHECK(icmp_error_flow_tuple(back.p, t));
            CHECK(t == ct_reverse(tuple_of(s)));
        }
    }
    SECTION("no tailroom to grow into: dropped, untouched") {
        Spec s;
        s.proto = IPPROTO_UDP;
        s.payload = 0;
        const auto f = frame_of(ip_packet(s));
        rte_mbuf* m = rte_pktmbuf_alloc(nat_pool());
        REQUIRE(m != nullptr);
        m->data_off = static_cast<uint16_t>(m->buf_len - f.size());
        std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
        REQUIRE(rte_pktmbuf_tailroom(m) == 0);
        const ParsedPacket p = parse_packet(m);
        REQUIRE(p.kind == L3Kind::Ipv4);
        const Verdict v = reject_icmp_port_unreachable(m, p, kOurMac, kInPort);
        CHECK(v.outcome == Outcome::Dropped);
        CHECK(v.reason == DropReason::NoBackend);
        CHECK(bytes_of(m) == f);
        rte_pktmbuf_free(m);
    }
    SECTION("a packet with less than 8 bytes of L4: only what there is is quoted") {
        Spec s;
        s.proto = IPPROTO_GRE; // a 4-byte header
        s.payload = 0;
        auto f = frame_of(ip_packet(s));
        f.resize(60, 0); // Ethernet padding, not part of the packet
        Pkt pk(f);
        REQUIRE(reject_icmp_port_unreachable(pk.m, pk.p, kOurMac, kInPort).outcome == Outcome::Rejected);
        const auto got = pk.bytes();
        REQUIRE(got.size() == 14 + 20 + 8 + 24);
        CHECK(std::vector<uint8_t>(got.begin() + 42, got.end()) == ip_packet(s));
        CHECK(l4_ok(got.data() + 14));
    }
    SECTION("a multi-segment mbuf: dropped") {
        Spec s;
        s.proto = IPPROTO_UDP;
        Pkt pk(frame_of(ip_packet(s)), 14 + 28);
        CHECK(reject_icmp_port_unreachable(pk.m, pk.p, kOurMac, kInPort).reason == DropReason::NoBackend);
    }
}

TEST_CASE("icmp_frag_needed through the shared ICMP error builder", "[nat]") {
    Spec s;
    s.frag = RTE_IPV4_HDR_DF_FLAG;
    s.payload = 1400;
    const auto orig = ip_packet(s);
    Pkt pk(frame_of(orig));
    const Ipv4Addr gw = ip4("10.210.1.1");
    const Verdict v = icmp_frag_needed(pk.m, pk.p, gw, kOurMac, 1380, kInPort);
    CHECK(v.outcome == Outcome::IcmpError);
    const auto f = pk.bytes();
    REQUIRE(f.size() == 14 + 20 + 8 + 28);
    const uint8_t* ip = f.data() + 14;
    CHECK(addr_at(ip + 12) == gw);
    CHECK(addr_at(ip + 16) == kClient);
    CHECK(ip[20] == 3);
    CHECK(ip[21] == 4);
    CHECK(get16(ip + 24) == 0);
    CHECK(get16(ip + 26) == 1380);
    CHECK(ip_hdr_ok(ip));
    CHECK(l4_ok(ip));
    CHECK(std::vector<uint8_t>(f.begin() + 42, f.end()) == prefix(orig, 28));
}

TEST_CASE("the NAT drop reasons are appended with stable names", "[nat]") {
    const auto after_multicast = static_cast<size_t>(DropReason::Multicast) + 1;
    struct Case {
        DropReason r;
        const char* name;
    };
    const Case cases[] = {{DropReason::NoBackend, "no_backend"},
                          {DropReason::NatPortExhausted, "nat_port_exhausted"},
                          {DropReason::CtFull, "ct_full"},
                          {DropReason::FragmentToService, "fragment_to_service"},
                          {DropReason::ServiceUnreachable, "service_unreachable"}};
    for (size_t i = 0; i < std::size(cases); ++i) {
        CHECK(static_cast<size_t>(cases[i].r) == after_multicast + i);
        CHECK(drop_reason_name(cases[i].r) == cases[i].name);
        CHECK_FALSE(drop_reason_help(cases[i].r).empty());
    }
    // policy_denied (network policy) follows them.
    CHECK(static_cast<size_t>(DropReason::PolicyDenied) == after_multicast + std::size(cases));
    CHECK(drop_reason_name(DropReason::PolicyDenied) == "policy_denied");
    CHECK(kDropReasonCount == after_multicast + std::size(cases) + 1);
    CHECK(static_cast<size_t>(Outcome::Rejected) + 1 == static_cast<size_t>(Outcome::Dropped));
}
