#include "control/health/health_responder.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <utility> // before Boost 1.74 asio, whose awaitable.hpp needs std::exchange

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "control/ports/netlink.h"

namespace podlane {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

/// One connection: read a request, answer it, close.
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket socket, const std::string& body, std::atomic<uint64_t>& served)
        : stream_(std::move(socket)), body_(body), served_(served) {}

    void run() {
        stream_.expires_after(std::chrono::seconds(5));
        http::async_read(stream_, buffer_, request_,
                         [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
    }

private:
    void on_read(beast::error_code ec) {
        if (ec)
            return;
        const bool get = request_.method() == http::verb::get || request_.method() == http::verb::head;
        response_.version(request_.version());
        response_.result(get ? http::status::ok : http::status::method_not_allowed);
        response_.set(http::field::server, "podlaned-health");
        response_.set(http::field::content_type, "text/plain");
        response_.keep_alive(false);
        response_.body() = get ? body_ : "only GET\n";
        response_.prepare_payload();
        served_.fetch_add(1, std::memory_order_relaxed);
        http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, size_t) {
            beast::error_code ignored;
            self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        });
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
    http::response<http::string_body> response_;
    const std::string& body_;
    std::atomic<uint64_t>& served_;
};

/// A listening socket on addr:port made in podlaned's own namespace (the
/// calling thread's); the caller runs it in another one with run_in_netns.
Result<int> listen_socket(Ipv4Addr addr, uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return make_error(std::string("socket: ") + std::strerror(errno));
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // The address may be configured just after (the host TAP, the endpoint).
    ::setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = addr.be;
    sa.sin_port = htons(port);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 64) != 0) {
        const int e = errno;
        ::close(fd);
        return make_error("health responder: cannot listen on " + addr.str() + ":" + std::to_string(port) + ": " +
                          std::strerror(e));
    }
    return fd;
}

} // namespace

struct HealthResponder::Impl {
    asio::io_context io;
    tcp::acceptor acceptor{io};
    std::string body;
    std::atomic<uint64_t> served{0};
    std::thread thread;

    void accept() {
        acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
            if (ec == asio::error::operation_aborted)
                return;
            if (!ec)
                std::make_shared<Session>(std::move(socket), body, served)->run();
            accept();
        });
    }
};

HealthResponder::HealthResponder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<HealthResponder>> HealthResponder::start(Ipv4Addr addr, uint16_t port,
                                                                const std::string& node_name,
                                                                const std::string& netns_path) {
    int fd = -1;
    if (netns_path.empty()) {
        auto s = listen_socket(addr, port);
        if (!s)
            return s.error();
        fd = *s;
    } else {
        auto r = run_in_netns(netns_path, [&]() -> Result<void> {
            auto s = listen_socket(addr, port);
            if (!s)
                return s.error();
            fd = *s;
            return {};
        });
        if (!r)
            return r.error();
    }
    auto impl = std::make_unique<Impl>();
    impl->body = "podlane-health node=" + node_name + "\n";
    beast::error_code ec;
    impl->acceptor.assign(tcp::v4(), fd, ec);
    if (ec) {
        ::close(fd);
        return make_error("health responder: " + ec.message());
    }
    impl->accept();
    Impl* raw = impl.get();
    impl->thread = std::thread([raw] { raw->io.run(); });
    return std::unique_ptr<HealthResponder>(new HealthResponder(std::move(impl)));
}

HealthResponder::~HealthResponder() {
    impl_->io.stop();
    if (impl_->thread.joinable())
        impl_->thread.join();
}

uint64_t HealthResponder::served() const { return impl_->served.load(std::memory_order_relaxed); }

} // namespace podlane
