#include "common/net_types.h"

#include <charconv>
#include <cstdio>

namespace podlane {

namespace {

// Parses a decimal number in [0, max] that fills `text` exactly.
std::optional<uint32_t> parse_decimal(std::string_view text, uint32_t max) {
    if (text.empty() || text.size() > 10)
        return std::nullopt;
    if (text.size() > 1 && text[0] == '0')
        return std::nullopt; // no leading zeros: "010" is ambiguous (octal in inet_aton)
    uint32_t value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || ptr != text.data() + text.size() || value > max)
        return std::nullopt;
    return value;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

} // namespace

std::optional<Ipv4Addr> Ipv4Addr::parse(std::string_view text) {
    uint32_t host = 0;
    for (int i = 0; i < 4; ++i) {
        size_t dot = text.find('.');
        std::string_view part = i < 3 ? text.substr(0, dot) : text;
        if (i < 3 && dot == std::string_view::npos)
            return std::nullopt;
        auto octet = parse_decimal(part, 255);
        if (!octet)
            return std::nullopt;
        host = host << 8 | *octet;
        if (i < 3)
            text.remove_prefix(dot + 1);
    }
    return Ipv4Addr::from_host(host);
}

std::string Ipv4Addr::str() const {
    uint32_t h = host();
    char buf[16];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", h >> 24, (h >> 16) & 0xff, (h >> 8) & 0xff, h & 0xff);
    return buf;
}

std::optional<Ipv4Prefix> Ipv4Prefix::parse(std::string_view text) {
    size_t slash = text.find('/');
    if (slash == std::string_view::npos)
        return std::nullopt;
    auto addr = Ipv4Addr::parse(text.substr(0, slash));
    auto len = parse_decimal(text.substr(slash + 1), 32);
    if (!addr || !len)
        return std::nullopt;
    Ipv4Prefix p{*addr, static_cast<uint8_t>(*len)};
    if ((addr->host() & ~p.mask_host()) != 0)
        return std::nullopt;
    return p;
}

std::string Ipv4Prefix::str() const {
    return addr.str() + "/" + std::to_string(len);
}

std::optional<MacAddr> MacAddr::parse(std::string_view text) {
    if (text.size() != 17)
        return std::nullopt;
    MacAddr m;
    for (size_t i = 0; i < 6; ++i) {
        int hi = hex_digit(text[i * 3]);
        int lo = hex_digit(text[i * 3 + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && text[i * 3 + 2] != ':'))
            return std::nullopt;
        m.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return m;
}

std::string MacAddr::str() const {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                  bytes[3], bytes[4], bytes[5]);
    return buf;
}

} // namespace podlane
