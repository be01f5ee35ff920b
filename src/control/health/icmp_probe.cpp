#include "control/health/icmp_probe.h"

#include <cerrno>
#include <chrono>
#include <cstring>

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace podlane {

namespace {

uint16_t inet_checksum(const uint8_t* data, size_t len) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
    if (len & 1)
        sum += static_cast<uint32_t>(data[len - 1] << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

struct SocketFd {
    int fd;
    ~SocketFd() {
        if (fd >= 0)
            ::close(fd);
    }
};

} // namespace

Result<double> icmp_echo(Ipv4Addr target, uint16_t id, uint16_t seq, uint32_t timeout_ms) {
    SocketFd s{::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP)};
    if (s.fd < 0)
        return make_error(std::string("raw ICMP socket: ") + std::strerror(errno));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = target.be;
    // connect(): the kernel hands this socket only ICMP from `target`.
    if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0)
        return make_error(std::string("connect: ") + std::strerror(errno));

    uint8_t req[8 + 16] = {};
    req[0] = ICMP_ECHO;
    req[4] = static_cast<uint8_t>(id >> 8);
    req[5] = static_cast<uint8_t>(id);
    req[6] = static_cast<uint8_t>(seq >> 8);
    req[7] = static_cast<uint8_t>(seq);
    std::memcpy(req + 8, "podlane-health\0\0", 16);
    const uint16_t ck = inet_checksum(req, sizeof req);
    req[2] = static_cast<uint8_t>(ck >> 8);
    req[3] = static_cast<uint8_t>(ck);

    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::milliseconds(timeout_ms);
    if (::send(s.fd, req, sizeof req, 0) < 0)
        return make_error(std::string("send: ") + std::strerror(errno));
    for (;;) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline)
            break;
        pollfd p{s.fd, POLLIN, 0};
        const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) + 1;
        const int r = ::poll(&p, 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return make_error(std::string("poll: ") + std::strerror(errno));
        if (r == 0)
            break;
        uint8_t buf[1500];
        const ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
        const auto got = std::chrono::steady_clock::now();
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            // An ICMP error about our request (e.g. host unreachable).
            return make_error(std::string("recv: ") + std::strerror(errno));
        }
        // A raw socket reads the IPv4 header too.
        if (n < 20)
            continue;
        const size_t ihl = static_cast<size_t>(buf[0] & 0x0f) * 4;
        if (static_cast<size_t>(n) < ihl + 8)
            continue;
        const uint8_t* icmp = buf + ihl;
        const uint16_t rid = static_cast<uint16_t>(icmp[4] << 8 | icmp[5]);
        const uint16_t rseq = static_cast<uint16_t>(icmp[6] << 8 | icmp[7]);
        if (icmp[0] == ICMP_ECHOREPLY && rid == id && rseq == seq)
            return std::chrono::duration<double>(got - start).count();
    }
    return make_error("no reply within " + std::to_string(timeout_ms) + " ms");
}

} // namespace podlane
