// vhost-user pods: instead of a TAP, podlaned serves the pod a net_vhost
// port in server mode on a unix socket, and a DPDK application in the pod
// attaches to it as a virtio device (net_virtio_user0,path=<socket>). Nothing
// is configured in the pod's network namespace: the application owns its
// MAC and address (podlane delivers to the endpoint's MAC and IP).
#include "control/agent.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace podlane {

namespace {

/// Removes a socket file that nobody serves; refuses a live socket or a
/// file that is not a socket.
Result<void> remove_stale_socket(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0)
        return errno == ENOENT ? Result<void>{} : make_error("cannot stat " + path + ": " + std::strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return make_error(path + " exists and is not a socket; refusing to replace it");
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return make_error(std::string("cannot create a socket: ") + std::strerror(errno));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    const int e = errno;
    ::close(fd);
    if (rc == 0 || e == EAGAIN)
        return make_error("vhost-user socket " + path + " is already served by another process");
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return make_error("cannot remove stale vhost-user socket " + path + ": " + std::strerror(errno));
    return {};
}

} // namespace

Result<void> Agent::attach_vhost(EndpointRecord& rec) {
    const std::string& path = rec.spec.vhost_socket;
    if (path.empty() || path[0] != '/' || path.find_first_of(", \t\n") != std::string::npos)
        return make_error("vhost-user socket path \"" + path + "\" must be absolute, without commas or spaces");
    if (path.size() >= sizeof(sockaddr_un{}.sun_path))
        return make_error("vhost-user socket path " + path + " is too long (at most 107 bytes)");
    std::error_code ec;
    const auto dir = std::filesystem::path(path).parent_path();
    std::filesystem::create_directories(dir, ec);
    if (ec)
        return make_error("cannot create vhost-user socket directory " + dir.string() + ": " + ec.message());
    if (auto r = remove_stale_socket(path); !r)
        return r;
    // One queue pair per worker: each worker transmits on its own tx queue.
    // The application in the pod must enable as many (virtio_user queues=N).
    const std::string devargs = "net_vhost_pl" + std::to_string(tap_seq_++) + ",iface=" + path +
                                ",queues=" + std::to_string(config_.dataplane.worker_lcores.size());
    auto port = ports_->attach(devargs);
    if (!port)
        return make_error("endpoint \"" + rec.spec.id + "\": vhost-user port on " + path + ": " +
                          port.error().message);
    rec.port = *port;
    return {};
}

} // namespace podlane
