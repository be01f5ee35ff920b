// The socket files podlaned serves pods on (src/control/ports/unix_socket.cpp):
// path checks, and clearing a stale socket but never a live one or a file.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>

#include "control/ports/unix_socket.h"

using namespace podlane;
using Catch::Matchers::Contains;

namespace {

/// A fresh directory under /tmp, removed at the end of the test.
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/podlane-sock-test.XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

/// A unix socket of `type` bound at `path`, listening when `listen`; once
/// closed, the file stays and nobody accepts (a stale socket).
int bound_socket(const std::string& path, bool listen, int type = SOCK_STREAM) {
    int fd = ::socket(AF_UNIX, type, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    if (listen)
        REQUIRE(::listen(fd, 4) == 0);
    return fd;
}

} // namespace

TEST_CASE("unix sockets: paths DPDK devargs can carry", "[unix-socket]") {
    CHECK(check_socket_path("/run/podlane/a.sock", "memif").ok());
    CHECK(check_socket_path("run/a.sock", "memif").error().message ==
          "memif socket path \"run/a.sock\" must be absolute, without commas or spaces");
    CHECK_FALSE(check_socket_path("/run/a,b.sock", "memif").ok());
    CHECK_FALSE(check_socket_path("/run/a b.sock", "memif").ok());
    CHECK(check_socket_path("/" + std::string(106, 'a'), "memif").ok());
    CHECK_THAT(check_socket_path("/" + std::string(107, 'a'), "vhost-user").error().message,
               Contains("is too long (at most 107 bytes)"));
}

TEST_CASE("unix sockets: a stale socket is replaced, a live one or a file is not", "[unix-socket]") {
    TempDir dir;
    const std::string path = dir.path + "/sub/pod.sock";
    // No file yet: the directory is created.
    REQUIRE(prepare_server_socket(path, "memif").ok());
    CHECK(std::filesystem::is_directory(dir.path + "/sub"));
    CHECK(probe_unix_socket(path, SOCK_STREAM) == ENOENT);

    int live = bound_socket(path, true);
    CHECK(probe_unix_socket(path, SOCK_STREAM) == 0);
    CHECK(prepare_server_socket(path, "memif").error().message ==
          "memif socket " + path + " is already served by another process");
    CHECK(std::filesystem::exists(path));
    ::close(live);

    // Closed: the file stays but nobody accepts.
    CHECK(probe_unix_socket(path, SOCK_STREAM) == ECONNREFUSED);
    REQUIRE(prepare_server_socket(path, "memif").ok());
    CHECK_FALSE(std::filesystem::exists(path));

    // memif listens on SOCK_SEQPACKET: live too, though a stream connect is refused with EPROTOTYPE.
    live = bound_socket(path, true, SOCK_SEQPACKET);
    CHECK(probe_unix_socket(path, SOCK_SEQPACKET) == 0);
    CHECK(probe_unix_socket(path, SOCK_STREAM) == EPROTOTYPE);
    CHECK_THAT(prepare_server_socket(path, "vhost-user").error().message, Contains("is already served"));
    ::close(live);
    REQUIRE(prepare_server_socket(path, "memif").ok());

    std::ofstream(path) << "not a socket";
    CHECK_THAT(prepare_server_socket(path, "vhost-user").error().message,
               Contains("exists and is not a socket; refusing to replace it"));
    CHECK(std::filesystem::exists(path));
}
