// Maglev tables and flow slots compatible with Cilium. The behaviour (not the
// code) follows Cilium's pkg/maglev/maglev.go, pkg/murmur3/murmur3.go,
// bpf/lib/lb.h, bpf/lib/hash.h and bpf/lib/jhash.h; see maglev.h for versions.
#include "control/tables/maglev.h"

#include "common/jhash.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace podlane {

namespace {

constexpr std::array<uint32_t, 10> kSizes = {251,  509,   1021,  2039,  4093,
                                             8191, 16381, 32749, 65521, 131071};

std::string sizes_text() {
    std::string s;
    for (uint32_t m : kSizes) {
        if (!s.empty()) s += ", ";
        s += std::to_string(m);
    }
    return s;
}

int base64_value(char c) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// Decodes padded standard base64 the way Go's base64.StdEncoding does for
// valid input (CR/LF skipped; padding only at the end). Returns an error text.
std::string decode_base64(std::string_view in, std::vector<uint8_t>& out) {
    std::string s;
    for (char c : in)
        if (c != '\r' && c != '\n') s += c;
    if (s.size() % 4 != 0) return "length " + std::to_string(s.size()) + " is not a multiple of 4";
    for (size_t i = 0; i < s.size(); i += 4) {
        bool last = i + 4 == s.size();
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            char c = s[i + k];
            if (c == '=') {
                if (!last || k < 2) return "misplaced '=' at offset " + std::to_string(i + k);
                v[k] = 0;
                ++pad;
            } else {
                if (pad) return "data after '=' at offset " + std::to_string(i + k);
                v[k] = base64_value(c);
                if (v[k] < 0) return "illegal character at offset " + std::to_string(i + k);
            }
        }
        uint32_t bits = uint32_t(v[0]) << 18 | uint32_t(v[1]) << 12 | uint32_t(v[2]) << 6 | uint32_t(v[3]);
        out.push_back(uint8_t(bits >> 16));
        if (pad < 2) out.push_back(uint8_t(bits >> 8));
        if (pad < 1) out.push_back(uint8_t(bits));
    }
    return {};
}

constexpr uint32_t be32(const uint8_t* p) noexcept {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

constexpr uint64_t rotl64(uint64_t x, int r) noexcept { return (x << r) | (x >> (64 - r)); }
constexpr uint32_t rol32(uint32_t x, int r) noexcept { return (x << r) | (x >> (32 - r)); }

constexpr uint64_t fmix64(uint64_t k) noexcept {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

// Little-endian load of n (<= 8) bytes, independent of the host's byte order.
uint64_t load_le(const unsigned char* p, size_t n) noexcept {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t(p[i]) << (8 * i);
    return v;
}

} // namespace

Result<MaglevSeed> parse_maglev_seed(std::string_view base64) {
    std::vector<uint8_t> d;
    if (std::string err = decode_base64(base64, d); !err.empty())
        return make_error("cannot decode base64 Maglev hash seed \"" + std::string(base64) + "\": " + err);
    if (d.size() != 12)
        return make_error("Maglev hash seed \"" + std::string(base64) + "\" decodes to " +
                          std::to_string(d.size()) + " bytes, expected exactly 12 (e.g. head -c12 /dev/urandom | base64)");
    return MaglevSeed{be32(&d[0]), be32(&d[4]), be32(&d[8])};
}

bool valid_maglev_size(uint32_t m) noexcept {
    return std::find(kSizes.begin(), kSizes.end(), m) != kSizes.end();
}

std::string maglev_backend_hash_string(Ipv4Addr ip, uint16_t port, MaglevL4 proto,
                                       bool internal_scope, uint32_t cluster_id) {
    static constexpr const char* names[] = {"TCP", "UDP", "SCTP", "ANY"};
    std::string s = "[" + ip.str();
    if (cluster_id != 0) s += "@" + std::to_string(cluster_id);
    s += ":" + std::to_string(port) + "/" + names[static_cast<int>(proto)];
    if (internal_scope) s += "/i";
    s += ",State:active]";
    return s;
}

Murmur3Hash128 murmur3_x64_128(std::string_view data, uint32_t seed) noexcept {
    constexpr uint64_t c1 = 0x87c37b91114253d5ULL;
    constexpr uint64_t c2 = 0x4cf5ad432745937fULL;
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    const size_t len = data.size();
    const size_t nblocks = len / 16;
    uint64_t h1 = seed, h2 = seed;

    for (size_t i = 0; i < nblocks; ++i) {
        uint64_t k1 = load_le(p + 16 * i, 8);
        uint64_t k2 = load_le(p + 16 * i + 8, 8);
        k1 *= c1; k1 = rotl64(k1, 31); k1 *= c2; h1 ^= k1;
        h1 = rotl64(h1, 27); h1 += h2; h1 = h1 * 5 + 0x52dce729;
        k2 *= c2; k2 = rotl64(k2, 33); k2 *= c1; h2 ^= k2;
        h2 = rotl64(h2, 31); h2 += h1; h2 = h2 * 5 + 0x38495ab5;
    }

    // Tail: up to 15 bytes, first 8 into k1 and the rest into k2, little-endian.
    const unsigned char* tail = p + 16 * nblocks;
    const size_t rest = len & 15;
    if (rest > 8) {
        uint64_t k2 = load_le(tail + 8, rest - 8);
        k2 *= c2; k2 = rotl64(k2, 33); k2 *= c1; h2 ^= k2;
    }
    if (rest > 0) {
        uint64_t k1 = load_le(tail, std::min<size_t>(rest, 8));
        k1 *= c1; k1 = rotl64(k1, 31); k1 *= c2; h1 ^= k1;
    }

    h1 ^= uint64_t(len);
    h2 ^= uint64_t(len);
    h1 += h2;
    h2 += h1;
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    h1 += h2;
    h2 += h1;
    return {h1, h2};
}

Result<std::vector<uint32_t>> build_maglev_table(std::span<const MaglevBackend> backends,
                                                 uint32_t m, const MaglevSeed& seed) {
    if (!valid_maglev_size(m))
        return make_error("invalid Maglev table size " + std::to_string(m) +
                          ", supported values are: " + sizes_text());
    const size_t l = backends.size();
    if (l == 0) return std::vector<uint32_t>{};

    // Sort (by index) on the hash string: byte-wise, like Go's cmp.Compare on strings.
    std::vector<const MaglevBackend*> be(l);
    for (size_t i = 0; i < l; ++i) be[i] = &backends[i];
    std::sort(be.begin(), be.end(),
              [](const MaglevBackend* a, const MaglevBackend* b) { return a->hash_string < b->hash_string; });
    for (size_t i = 1; i < l; ++i)
        if (be[i]->hash_string == be[i - 1]->hash_string)
            return make_error("duplicate Maglev backend \"" + be[i]->hash_string + "\"");

    // Permutation of backend i: (offset_i + j * skip_i) mod m, j = 0..m-1; the
    // same as Cilium's iterated (prev + skip) % m, without the l*m array.
    std::vector<uint64_t> offset(l), skip(l);
    for (size_t i = 0; i < l; ++i) {
        Murmur3Hash128 h = murmur3_x64_128(be[i]->hash_string, seed.murmur);
        offset[i] = h.h1 % m;
        skip[i] = h.h2 % (m - 1) + 1;
    }

    uint64_t weight_sum = 0;
    std::vector<double> weight_cntr(l);
    for (size_t i = 0; i < l; ++i) {
        weight_sum += be[i]->weight;
        weight_cntr[i] = double(be[i]->weight) / double(l);
    }
    const bool weights_used = weight_sum / l > 1;

    std::vector<uint32_t> entry(m, 0);
    std::vector<uint8_t> filled(m, 0);
    // pos[i]: backend i's next candidate slot, (offset_i + j * skip_i) mod m,
    // stepped by skip_i with a conditional subtract instead of a 64-bit modulo.
    std::vector<uint64_t> pos(offset);
    auto advance = [&](size_t i) {
        pos[i] += skip[i];
        if (pos[i] >= m)
            pos[i] -= m;
    };

    for (uint64_t n = 0; n < m; ++n) {
        size_t i = size_t(n % l);
        if (weights_used) {
            // A backend whose weighted turn has not come yet passes its turn to
            // the next one. Some backend always qualifies (the counters sum to
            // less than (n+1)*weight_sum); the bound only guards against that
            // reasoning being wrong and never triggers.
            for (size_t tries = 0; tries < l; ++tries) {
                if ((n + 1) * be[i]->weight >= uint64_t(weight_cntr[i])) break;
                i = (i + 1) % l;
            }
            weight_cntr[i] += double(weight_sum);
        }
        while (filled[pos[i]])
            advance(i);
        entry[pos[i]] = be[i]->id;
        filled[pos[i]] = 1;
        advance(i);
    }
    return entry;
}

uint32_t maglev_flow_hash_v4(Ipv4Addr saddr, uint16_t sport, uint16_t dport, uint8_t proto,
                             const MaglevSeed& seed) noexcept {
    // saddr.be holds the wire bytes; read them little-endian whatever the host.
    unsigned char w[4];
    std::memcpy(w, &saddr.be, 4);
    const uint32_t a = uint32_t(load_le(w, 4));
    const uint32_t s = __builtin_bswap16(sport); // wire bytes of the port, read LE
    const uint32_t d = __builtin_bswap16(dport);
    return jhash_3words(a, (d << 16) | s, proto, seed.jhash_v4);
}

uint32_t maglev_slot_for_flow(Ipv4Addr saddr, Ipv4Addr /*daddr: not hashed, as in Cilium*/,
                              uint16_t sport, uint16_t dport, uint8_t proto, uint32_t m,
                              const MaglevSeed& seed) noexcept {
    return maglev_flow_hash_v4(saddr, sport, dport, proto, seed) % m;
}

} // namespace podlane
