#include "client/api_client.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace podlane {

namespace {

constexpr int kTimeoutSeconds = 60;                 // endpoint.add may take a while; a hung daemon must not hang us
constexpr std::size_t kMaxResponse = 64u << 20;     // sanity cap on one response line

std::string errno_text(int e) { return std::generic_category().message(e); }

} // namespace

Result<ApiClient> ApiClient::connect(const std::string& socket_path) {
    sockaddr_un addr{};
    if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path)
        return make_error("invalid API socket path \"" + socket_path + "\" (empty or longer than 107 bytes)");
    addr.sun_family = AF_UNIX;
    socket_path.copy(addr.sun_path, sizeof addr.sun_path - 1);

    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return make_error("cannot create a socket: " + errno_text(errno));
    ApiClient client(fd, socket_path);
    timeval timeout{kTimeoutSeconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        int e = errno;
        std::string msg = "cannot reach podlaned at " + socket_path + ": " + errno_text(e);
        if (e == ENOENT || e == ECONNREFUSED)
            msg += " (is podlaned running?)";
        else if (e == EACCES || e == EPERM)
            msg += " (the podlane API serves root only: run podlane as root)";
        return make_error(msg);
    }
    return client;
}

ApiClient::ApiClient(ApiClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)), in_(std::move(other.in_)) {}

ApiClient& ApiClient::operator=(ApiClient&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
        path_ = std::move(other.path_);
        in_ = std::move(other.in_);
    }
    return *this;
}

ApiClient::~ApiClient() {
    if (fd_ >= 0)
        ::close(fd_);
}

Result<Json> ApiClient::exchange(const std::string& line) {
    std::string out = line + '\n';
    int send_errno = 0;
    for (std::size_t sent = 0; sent < out.size();) {
        ssize_t n = ::send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            send_errno = errno;
            break;
        }
        sent += static_cast<std::size_t>(n);
    }
    std::size_t newline;
    while ((newline = in_.find('\n')) == std::string::npos) {
        // If sending failed, podlaned may still have answered before closing (e.g. a refusal): read it.
        if (send_errno != 0 && send_errno != EPIPE && send_errno != ECONNRESET)
            return make_error("cannot send the request to podlaned at " + path_ + ": " + errno_text(send_errno));
        if (in_.size() > kMaxResponse)
            return make_error("podlaned's answer is larger than 64 MiB");
        char buf[16384];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        int e = n < 0 ? errno : 0;
        if (n <= 0 && send_errno != 0) // no answer after all: report why sending failed
            return make_error("cannot send the request to podlaned at " + path_ + ": " + errno_text(send_errno));
        if (e == EAGAIN || e == EWOULDBLOCK)
            return make_error("no answer from podlaned at " + path_ + " after " + std::to_string(kTimeoutSeconds) + " s");
        if (n < 0)
            return make_error("cannot read podlaned's answer: " + errno_text(e));
        if (n == 0)
            return make_error(in_.empty() ? "podlaned closed the connection without answering"
                                          : "podlaned's answer was cut off");
        in_.append(buf, static_cast<std::size_t>(n));
    }
    std::string response = in_.substr(0, newline);
    in_.erase(0, newline + 1);
    try {
        return Json::parse(response);
    } catch (const Json::parse_error& e) {
        return make_error(std::string("podlaned's answer is not valid JSON: ") + e.what());
    }
}

Result<Json> ApiClient::request(const std::string& cmd, const Json& args) {
    Json req{{"cmd", cmd}, {"args", args}};
    return exchange(req.dump(-1, ' ', false, Json::error_handler_t::replace));
}

Result<Json> call_api(const std::string& socket_path, const std::string& cmd, const Json& args) {
    auto client = ApiClient::connect(socket_path);
    if (!client)
        return client.error();
    auto response = client->request(cmd, args);
    if (!response)
        return response.error();
    const Json& r = *response;
    if (!r.is_object() || !r.contains("ok") || !r["ok"].is_boolean())
        return make_error("podlaned's answer has no \"ok\" field");
    if (!r["ok"].get<bool>()) {
        auto it = r.find("error");
        return make_error(it != r.end() && it->is_string() ? it->get<std::string>()
                                                           : "podlaned reported an error without a message");
    }
    return r.contains("data") ? r["data"] : Json(nullptr);
}

} // namespace podlane
