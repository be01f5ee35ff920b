#include "control/bgp/bird_control.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace podlane {

namespace {

/// Reply codes (BIRD's doc/reply_codes): 1002 a protocol's summary line,
/// 1006 its details, 8xxx run-time and 9xxx syntax errors.
constexpr int kProtocolLine = 1002;
constexpr int kProtocolDetails = 1006;

bool is_error_code(int code) { return code >= 8000; }

/// Parses one reply line; false when it is neither "CCCC-", "CCCC " nor " ".
bool parse_line(const std::string& line, int last_code, BirdLine& out, bool& final_line) {
    final_line = false;
    if (!line.empty() && line[0] == ' ') {
        out = BirdLine{last_code, line.substr(1)};
        return true;
    }
    if (line.size() < 5 || (line[4] != '-' && line[4] != ' '))
        return false;
    for (int i = 0; i < 4; ++i)
        if (line[i] < '0' || line[i] > '9')
            return false;
    out = BirdLine{std::stoi(line.substr(0, 4)), line.substr(5)};
    final_line = line[4] == ' ';
    return true;
}

std::string trim(const std::string& s) {
    const size_t b = s.find_first_not_of(" \t");
    if (b == std::string::npos)
        return "";
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

/// "7.274/9" -> 9: the part after the slash.
uint32_t after_slash(const std::string& v) {
    const size_t slash = v.find('/');
    if (slash == std::string::npos)
        return 0;
    try {
        return static_cast<uint32_t>(std::stoul(v.substr(slash + 1)));
    } catch (const std::exception&) {
        return 0;
    }
}

class Socket {
public:
    explicit Socket(int fd) : fd_(fd) {}
    ~Socket() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    int fd() const { return fd_; }

private:
    int fd_;
};

} // namespace

Result<std::vector<BirdLine>> bird_command(const std::string& socket_path, const std::string& command,
                                           std::chrono::milliseconds timeout) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof addr.sun_path)
        return make_error("BIRD control socket path too long: " + socket_path);
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
    Socket s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (s.fd() < 0)
        return make_error(std::string("cannot create a socket: ") + std::strerror(errno));
    if (::connect(s.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return make_error("cannot connect to BIRD at " + socket_path + ": " + std::strerror(errno));

    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string buffer;
    // Reads one '\n'-terminated line; false on EOF, error or timeout.
    auto read_line = [&](std::string& line) -> Result<void> {
        for (;;) {
            if (const size_t nl = buffer.find('\n'); nl != std::string::npos) {
                line = buffer.substr(0, nl);
                buffer.erase(0, nl + 1);
                return {};
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                return make_error("BIRD did not answer \"" + command + "\" within " + std::to_string(timeout.count()) + " ms");
            pollfd p{s.fd(), POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR)
                return make_error(std::string("poll on BIRD's socket: ") + std::strerror(errno));
            char chunk[4096];
            const ssize_t n = ::recv(s.fd(), chunk, sizeof chunk, MSG_DONTWAIT);
            if (n == 0)
                return make_error("BIRD closed its control socket");
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                return make_error(std::string("reading BIRD's socket: ") + std::strerror(errno));
            if (n > 0)
                buffer.append(chunk, static_cast<size_t>(n));
        }
    };

    std::string line;
    if (auto r = read_line(line); !r)
        return r.error();
    if (line.rfind("0001 ", 0) != 0)
        return make_error("unexpected greeting on BIRD's socket: " + line);
    const std::string request = command + "\n";
    if (::send(s.fd(), request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
        return make_error(std::string("writing BIRD's socket: ") + std::strerror(errno));

    std::vector<BirdLine> reply;
    int code = 0;
    for (;;) {
        if (auto r = read_line(line); !r)
            return r.error();
        BirdLine l;
        bool final_line = false;
        if (!parse_line(line, code, l, final_line))
            return make_error("unexpected line from BIRD: " + line);
        code = l.code;
        if (is_error_code(l.code))
            return make_error("BIRD: " + l.text);
        reply.push_back(std::move(l));
        if (final_line)
            return reply;
    }
}

std::vector<BirdBgpStatus> parse_bird_protocols(const std::vector<BirdLine>& reply) {
    std::vector<BirdBgpStatus> out;
    bool in_bgp = false;
    enum class Block { Other, LocalCaps, PeerCaps } block = Block::Other;
    for (const BirdLine& l : reply) {
        if (l.code == kProtocolLine) {
            // "name proto table state since info..."
            std::istringstream in(l.text);
            std::string name, proto, table, state, since;
            in >> name >> proto >> table >> state >> since;
            std::string info;
            std::getline(in, info);
            in_bgp = proto == "BGP";
            block = Block::Other;
            if (!in_bgp)
                continue;
            BirdBgpStatus s;
            s.name = name;
            s.state = state;
            try {
                s.since = std::stoll(since);
            } catch (const std::exception&) {
                s.since = 0;
            }
            s.info = trim(info);
            out.push_back(std::move(s));
            continue;
        }
        if (l.code != kProtocolDetails || !in_bgp)
            continue;
        BirdBgpStatus& s = out.back();
        const std::string text = trim(l.text);
        if (text == "Local capabilities") {
            block = Block::LocalCaps;
            continue;
        }
        if (text == "Neighbor capabilities") {
            block = Block::PeerCaps;
            continue;
        }
        const size_t colon = text.find(':');
        const std::string key = colon == std::string::npos ? text : text.substr(0, colon);
        const std::string value = colon == std::string::npos ? "" : trim(text.substr(colon + 1));
        if (key == "Graceful restart" && colon == std::string::npos) {
            (block == Block::PeerCaps ? s.peer_graceful_restart : s.local_graceful_restart) =
                block != Block::Other;
            continue;
        }
        if (key == "Restart time" && block == Block::PeerCaps) {
            s.peer_restart_time_s = static_cast<uint32_t>(std::strtoul(value.c_str(), nullptr, 10));
            continue;
        }
        // Capability blocks end where the session lines start.
        if (key == "Session" || key == "Channel ipv4" || key == "Source address")
            block = Block::Other;
        if (key == "BGP state")
            s.bgp_state = value;
        else if (key == "Last error")
            s.last_error = value;
        else if (key == "Hold timer")
            s.hold_time_s = after_slash(value);
        else if (key == "Keepalive timer")
            s.keepalive_time_s = after_slash(value);
        else if (key == "Routes") {
            // "0 imported, 1 exported, 0 preferred" (older: "... filtered, ...")
            std::istringstream in(value);
            uint64_t n = 0;
            std::string what;
            while (in >> n >> what) {
                if (what.rfind("imported", 0) == 0)
                    s.imported = n;
                else if (what.rfind("exported", 0) == 0)
                    s.exported = n;
            }
        }
    }
    return out;
}

} // namespace podlane
