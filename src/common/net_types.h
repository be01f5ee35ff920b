// Strong types for addresses shared by the control side and the dataplane.
// Ipv4Addr and MacAddr always hold network byte order, so a value can be
// copied straight into or out of a packet header.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace podlane {

/// An IPv4 address stored in network byte order (as it appears on the wire).
struct Ipv4Addr {
    uint32_t be = 0; ///< network byte order

    static constexpr Ipv4Addr from_host(uint32_t host) noexcept {
        return Ipv4Addr{__builtin_bswap32(host)};
    }
    constexpr uint32_t host() const noexcept { return __builtin_bswap32(be); }
    constexpr bool is_zero() const noexcept { return be == 0; }
    friend constexpr bool operator==(Ipv4Addr, Ipv4Addr) = default;
    friend constexpr auto operator<=>(Ipv4Addr a, Ipv4Addr b) noexcept { return a.host() <=> b.host(); }

    /// Parses dotted-quad text ("10.0.0.1"); nullopt on anything else.
    static std::optional<Ipv4Addr> parse(std::string_view text);
    std::string str() const;
};

/// An IPv4 prefix such as 10.200.0.0/24. `addr` is stored with host bits cleared.
struct Ipv4Prefix {
    Ipv4Addr addr;
    uint8_t len = 0;

    constexpr uint32_t mask_host() const noexcept {
        return len == 0 ? 0u : ~uint32_t{0} << (32 - len);
    }
    constexpr bool contains(Ipv4Addr ip) const noexcept {
        return (ip.host() & mask_host()) == addr.host();
    }
    friend constexpr bool operator==(const Ipv4Prefix&, const Ipv4Prefix&) = default;

    /// Parses "a.b.c.d/len". Host bits set after the prefix length are refused.
    static std::optional<Ipv4Prefix> parse(std::string_view text);
    std::string str() const;
};

/// An Ethernet MAC address.
struct MacAddr {
    std::array<uint8_t, 6> bytes{};

    friend constexpr bool operator==(const MacAddr&, const MacAddr&) = default;
    bool is_zero() const noexcept { return bytes == std::array<uint8_t, 6>{}; }
    bool is_multicast() const noexcept { return (bytes[0] & 1) != 0; }

    /// Parses "aa:bb:cc:dd:ee:ff"; nullopt on anything else.
    static std::optional<MacAddr> parse(std::string_view text);
    std::string str() const;

    /// The Kubernetes convention for a MAC derived from an IPv4 address:
    /// 0a:58 followed by the four address bytes (locally administered, unicast).
    static MacAddr from_ipv4(Ipv4Addr ip) noexcept {
        MacAddr m;
        m.bytes[0] = 0x0a;
        m.bytes[1] = 0x58;
        std::memcpy(&m.bytes[2], &ip.be, 4);
        return m;
    }
};

} // namespace podlane
