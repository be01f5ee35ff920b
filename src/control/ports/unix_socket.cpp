#include "control/ports/unix_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace podlane {

Result<void> check_socket_path(const std::string& path, const std::string& what) {
    if (path.empty() || path[0] != '/' || path.find_first_of(", \t\n") != std::string::npos)
        return make_error(what + " socket path \"" + path + "\" must be absolute, without commas or spaces");
    if (path.size() >= sizeof(sockaddr_un{}.sun_path))
        return make_error(what + " socket path " + path + " is too long (at most 107 bytes)");
    return {};
}

int probe_unix_socket(const std::string& path, int type, int greeting_ms) {
    int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return errno;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    const int e = errno;
    if (rc == 0 && greeting_ms > 0) {
        pollfd p{fd, POLLIN, 0};
        ::poll(&p, 1, greeting_ms);
    }
    ::close(fd);
    // EAGAIN: the listener's backlog is full, but it is there.
    return rc == 0 || e == EAGAIN ? 0 : e;
}

Result<void> prepare_server_socket(const std::string& path, const std::string& what) {
    if (auto r = check_socket_path(path, what); !r)
        return r;
    std::error_code ec;
    const auto dir = std::filesystem::path(path).parent_path();
    std::filesystem::create_directories(dir, ec);
    if (ec)
        return make_error("cannot create " + what + " socket directory " + dir.string() + ": " + ec.message());
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0)
        return errno == ENOENT ? Result<void>{} : make_error("cannot stat " + path + ": " + std::strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return make_error(path + " exists and is not a socket; refusing to replace it");
    const int probe = probe_unix_socket(path, SOCK_STREAM);
    if (probe == 0 || probe == EPROTOTYPE) // EPROTOTYPE: a live socket of another type
        return make_error(what + " socket " + path + " is already served by another process");
    if (probe != ECONNREFUSED && probe != ENOENT) // a stale socket refuses connections
        return make_error("cannot check whether " + what + " socket " + path + " is served: " + std::strerror(probe));
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return make_error("cannot remove stale " + what + " socket " + path + ": " + std::strerror(errno));
    return {};
}

} // namespace podlane
