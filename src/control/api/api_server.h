// The local API server: serves ControlApi over a root-only unix stream socket
// on the control thread's io_context (protocol in docs/api.md). Everything runs
// on that one thread, so handlers call ControlApi directly, without locks.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <list>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "control/api/control_api.h"

namespace podlane {

/// Longest request line the server accepts, newline included.
inline constexpr std::size_t kMaxRequestLine = 64 * 1024;

/// Answers one request line (without its newline) with one response line
/// (without newline); never throws.
std::string handle_request_line(ControlApi& api, std::string_view line);

/// Listens on a unix socket and serves one JSON response per JSON request line.
class ApiServer {
public:
    ApiServer(boost::asio::io_context& io, ControlApi& api, std::string socket_path);
    ~ApiServer();
    ApiServer(const ApiServer&) = delete;
    ApiServer& operator=(const ApiServer&) = delete;

    /// Creates the parent directory (0700) if missing, replaces a stale socket, binds (0600) and listens.
    Result<void> start();
    /// Closes the acceptor and open connections and removes the socket file; idempotent.
    void stop();
    /// The socket's path.
    const std::string& socket_path() const { return path_; }

private:
    class Session;

    void accept_next();

    ControlApi& api_;
    std::string path_;
    boost::asio::local::stream_protocol::acceptor acceptor_;
    boost::asio::steady_timer retry_timer_;
    std::list<std::weak_ptr<Session>> sessions_;
    bool bound_ = false;                                           ///< the socket file is ours to remove
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  ///< false once destroyed, for late handlers
};

} // namespace podlane
