#include "control/sources/k8s/k8s_client.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <array>
#include <charconv>
#include <limits>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace podlane {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using boost::system::error_code;

namespace {

constexpr uint64_t kMaxListBytes = uint64_t{1} << 30; ///< a list of every object of a large cluster
constexpr size_t kMaxLineBytes = size_t{64} << 20;    ///< one watch event
constexpr size_t kMaxErrorBody = size_t{1} << 20;     ///< the Status of a refused watch

/// Completion token: the error lands in `ec` instead of being thrown.
auto into(error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

bool is_ip_address(const std::string& host) {
    error_code ec;
    (void)asio::ip::make_address(host, ec);
    return !ec;
}

/// The oldest queued OpenSSL error as text ("" when none), and clears the queue.
std::string openssl_error() {
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0)
        return "";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

/// True when `pem` holds a private key OpenSSL can read.
bool is_pem_private_key(const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    if (!bio)
        return false;
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    ERR_clear_error();
    const bool ok = key != nullptr;
    EVP_PKEY_free(key);
    return ok;
}

/// Why an I/O step failed, for an operator.
std::string why(const error_code& ec, std::chrono::milliseconds timeout) {
    if (ec == beast::error::timeout)
        return "no answer within " + std::to_string(timeout.count()) + " ms";
    return ec.message();
}

} // namespace

Result<ApiServerUrl> ApiServerUrl::parse(const std::string& url) {
    const std::string scheme = "https://";
    auto bad = [&](const std::string& why) { return make_error("API server URL \"" + url + "\": " + why); };
    if (url.rfind(scheme, 0) != 0)
        return bad("expected https://host[:port]");
    std::string rest = url.substr(scheme.size());
    ApiServerUrl u;
    if (const size_t slash = rest.find('/'); slash != std::string::npos) {
        u.base_path = rest.substr(slash);
        rest.resize(slash);
        while (!u.base_path.empty() && u.base_path.back() == '/')
            u.base_path.pop_back();
    }
    std::string port;
    if (!rest.empty() && rest[0] == '[') { // [IPv6]:port
        const size_t close = rest.find(']');
        if (close == std::string::npos)
            return bad("unbalanced [ in the host");
        u.host = rest.substr(1, close - 1);
        if (close + 1 < rest.size()) {
            if (rest[close + 1] != ':')
                return bad("expected :port after ]");
            port = rest.substr(close + 2);
        }
    } else if (const size_t colon = rest.find(':'); colon != std::string::npos) {
        u.host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
    } else {
        u.host = rest;
    }
    if (u.host.empty())
        return bad("no host");
    if (!port.empty()) {
        unsigned v = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
        if (ec != std::errc{} || end != port.data() + port.size() || v == 0 || v > 65535)
            return bad("port \"" + port + "\" is not in 1..65535");
        u.port = port;
    }
    return u;
}

void split_lines(std::string& pending, std::string_view data, std::vector<std::string>& lines) {
    pending.append(data);
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
        size_t end = nl;
        if (end > start && pending[end - 1] == '\r')
            --end;
        if (end > start)
            lines.emplace_back(pending, start, end - start);
    }
    pending.erase(0, start);
}

/// One TLS connection to the API server with its request sent; registered
/// with its client so that K8sClient::cancel() can abort it.
class K8sConnection {
public:
    explicit K8sConnection(std::shared_ptr<K8sClient> client)
        : client_(std::move(client)), resolver_(client_->io_), stream_(client_->io_, client_->tls_) {
        client_->live_.insert(this);
    }
    ~K8sConnection() { client_->live_.erase(this); }
    K8sConnection(const K8sConnection&) = delete;
    K8sConnection& operator=(const K8sConnection&) = delete;

    /// Closes the socket: operations in progress finish with an error.
    void abort() {
        resolver_.cancel();
        error_code ignored;
        beast::get_lowest_layer(stream_).socket().close(ignored);
    }

    /// Reads some of a streamed body (watch) and appends it to `out`; false
    /// once the body is complete. Fails when nothing arrives for `idle`.
    awaitable<Result<bool>> read_body_some(std::string& out, std::chrono::seconds idle) {
        if (parser_->is_done())
            co_return false;
        auto& body = parser_->get().body();
        body.data = chunk_.data();
        body.size = chunk_.size();
        beast::get_lowest_layer(stream_).expires_after(idle);
        error_code ec;
        co_await http::async_read_some(stream_, buffer_, *parser_, into(ec));
        if (ec == http::error::need_buffer)
            ec = {};
        if (ec)
            co_return make_error(why(ec, std::chrono::duration_cast<std::chrono::milliseconds>(idle)));
        out.append(chunk_.data(), chunk_.size() - body.size);
        co_return true;
    }

    std::shared_ptr<K8sClient> client_;
    asio::ip::tcp::resolver resolver_;
    beast::ssl_stream<beast::tcp_stream> stream_;
    beast::flat_buffer buffer_;
    std::string verify_error_; ///< why the server's certificate was refused
    std::unique_ptr<http::response_parser<http::buffer_body>> parser_; ///< a watch's response
    std::array<char, 16384> chunk_{};
};

K8sClient::K8sClient(asio::io_context& io, KubeAccess access, ApiServerUrl url, std::chrono::milliseconds timeout)
    : io_(io), access_(std::move(access)), url_(std::move(url)), timeout_(timeout),
      tls_(asio::ssl::context::tls_client) {}

K8sClient::~K8sClient() = default;

Result<std::shared_ptr<K8sClient>> K8sClient::create(asio::io_context& io, KubeAccess access,
                                                     std::chrono::milliseconds timeout) {
    auto url = ApiServerUrl::parse(access.server);
    if (!url)
        return make_error(access.origin + ": " + url.error().message);
    std::shared_ptr<K8sClient> client(new K8sClient(io, std::move(access), std::move(*url), timeout));
    if (auto r = client->setup_tls(); !r)
        return r.error();
    return client;
}

Result<void> K8sClient::setup_tls() {
    using ctx = asio::ssl::context;
    error_code ec;
    tls_.set_options(ctx::default_workarounds | ctx::no_sslv2 | ctx::no_sslv3 | ctx::no_tlsv1 | ctx::no_tlsv1_1, ec);
    if (ec)
        return make_error("TLS setup: " + ec.message());
    if (access_.insecure_skip_tls_verify) {
        tls_.set_verify_mode(asio::ssl::verify_none);
    } else {
        tls_.set_verify_mode(asio::ssl::verify_peer);
        if (access_.ca_pem.empty())
            tls_.set_default_verify_paths(ec);
        else
            tls_.add_certificate_authority(asio::buffer(access_.ca_pem), ec);
        if (ec)
            return make_error(access_.origin + ": the CA certificate is not usable (expected PEM): " + ec.message());
    }
    if (!access_.client_cert_pem.empty()) {
        tls_.use_certificate_chain(asio::buffer(access_.client_cert_pem), ec);
        if (ec)
            return make_error(access_.origin + ": the client certificate is not usable (expected PEM): " + ec.message());
        tls_.use_private_key(asio::buffer(access_.client_key_pem), ctx::pem, ec);
        if (ec && !is_pem_private_key(access_.client_key_pem))
            return make_error(access_.origin + ": the client key is not usable (expected a PEM private key): " +
                              ec.message());
        if (ec || SSL_CTX_check_private_key(tls_.native_handle()) != 1)
            return make_error(access_.origin + ": the client key does not belong to the client certificate (" +
                              openssl_error() + ")");
    }
    return {};
}

Result<std::string> K8sClient::bearer_token() const {
    if (access_.token_file.empty())
        return access_.token;
    auto text = read_text_file(access_.token_file, "bearer token file");
    if (!text)
        return text.error();
    std::string token = text->substr(0, text->find('\n'));
    while (!token.empty() && (token.back() == '\r' || token.back() == ' '))
        token.pop_back();
    if (token.empty())
        return make_error("bearer token file " + access_.token_file + " is empty");
    return token;
}

awaitable<Result<std::unique_ptr<K8sConnection>>> K8sClient::open(const std::string& target,
                                                                    const std::string* merge_patch) {
    if (cancelled_)
        co_return make_error("stopped");
    auto token = bearer_token();
    if (!token)
        co_return token.error();
    auto conn = std::make_unique<K8sConnection>(shared_from_this());
    const bool v6 = url_.host.find(':') != std::string::npos;
    const std::string where = (v6 ? "[" + url_.host + "]" : url_.host) + ":" + url_.port;
    error_code ec;
    auto& tcp = beast::get_lowest_layer(conn->stream_);
    const auto endpoints = co_await conn->resolver_.async_resolve(url_.host, url_.port, into(ec));
    if (ec)
        co_return make_error("cannot resolve " + url_.host + ": " + ec.message());
    tcp.expires_after(timeout_); // connect, handshake, request and (for a GET) the response
    co_await tcp.async_connect(endpoints, into(ec));
    if (ec)
        co_return make_error("cannot connect to " + where + ": " + why(ec, timeout_));

    const std::string name = access_.tls_server_name.empty() ? url_.host : access_.tls_server_name;
    if (!is_ip_address(name))
        SSL_set_tlsext_host_name(conn->stream_.native_handle(), name.c_str());
    if (!access_.insecure_skip_tls_verify) {
        conn->stream_.set_verify_callback([c = conn.get(), name](bool preverified, asio::ssl::verify_context& vc) {
            X509_STORE_CTX* store = vc.native_handle();
            if (!preverified) {
                const KubeAccess& a = c->client_->access_;
                c->verify_error_ = "the server certificate is not trusted by " +
                                   (a.ca_pem.empty() ? std::string("the system's CAs") : "the CA of " + a.origin) + ": " +
                                   X509_verify_cert_error_string(X509_STORE_CTX_get_error(store));
                return false;
            }
            if (!asio::ssl::host_name_verification(name)(preverified, vc)) {
                c->verify_error_ = "the server certificate is not valid for " + name;
                return false;
            }
            return true;
        });
    }
    co_await conn->stream_.async_handshake(asio::ssl::stream_base::client, into(ec));
    if (ec)
        co_return make_error("TLS handshake with " + where + " failed: " +
                             (conn->verify_error_.empty() ? why(ec, timeout_) : conn->verify_error_));

    http::request<http::string_body> req{merge_patch ? http::verb::patch : http::verb::get, url_.base_path + target, 11};
    req.set(http::field::host, url_.port == "443" ? where.substr(0, where.rfind(':')) : where);
    req.set(http::field::user_agent, "podlaned");
    req.set(http::field::accept, "application/json");
    if (!token->empty())
        req.set(http::field::authorization, "Bearer " + *token);
    if (merge_patch) {
        req.set(http::field::content_type, "application/merge-patch+json");
        req.body() = *merge_patch;
        req.prepare_payload();
    }
    co_await http::async_write(conn->stream_, req, into(ec));
    if (ec)
        co_return make_error(std::string("cannot send ") + (merge_patch ? "PATCH " : "GET ") + target + " to " + where +
                             ": " + why(ec, timeout_));
    co_return conn;
}

awaitable<Result<HttpReply>> K8sClient::get(std::string target) { co_return co_await send(std::move(target), nullptr); }

awaitable<Result<HttpReply>> K8sClient::patch(std::string target, std::string merge_patch) {
    co_return co_await send(std::move(target), &merge_patch);
}

awaitable<Result<HttpReply>> K8sClient::send(std::string target, const std::string* merge_patch) {
    auto conn = co_await open(target, merge_patch);
    if (!conn)
        co_return conn.error();
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxListBytes);
    error_code ec;
    co_await http::async_read((*conn)->stream_, (*conn)->buffer_, parser, into(ec));
    if (ec)
        co_return make_error(std::string(merge_patch ? "PATCH " : "GET ") + target + ": no complete response: " +
                             why(ec, timeout_));
    auto& res = parser.get();
    co_return HttpReply{res.result_int(), std::string(res.reason()), std::move(res.body())};
}

awaitable<Result<std::unique_ptr<WatchStream>>> K8sClient::watch(std::string target, std::chrono::seconds idle) {
    auto opened = co_await open(target);
    if (!opened)
        co_return opened.error();
    std::unique_ptr<K8sConnection> conn = std::move(*opened);
    conn->parser_ = std::make_unique<http::response_parser<http::buffer_body>>();
    // A watch streams as long as it lasts. (Not boost::none: Beast 1.74 then
    // refuses any response with a Content-Length, such as a 410's Status.)
    conn->parser_->body_limit(std::numeric_limits<uint64_t>::max());
    error_code ec;
    co_await http::async_read_header(conn->stream_, conn->buffer_, *conn->parser_, into(ec));
    if (ec)
        co_return make_error("watch " + target + ": no response: " + why(ec, timeout_));
    auto stream = std::make_unique<WatchStream>(std::move(conn), idle);
    if (stream->status() != 200) { // keep the Status the server explains itself with
        HttpReply& e = stream->error_;
        e.status = stream->status();
        e.reason = std::string(stream->conn_->parser_->get().reason());
        while (e.body.size() < kMaxErrorBody) {
            auto more = co_await stream->conn_->read_body_some(e.body, std::chrono::seconds(5));
            if (!more || !*more)
                break;
        }
    }
    co_return stream;
}

void K8sClient::cancel() {
    cancelled_ = true;
    for (K8sConnection* c : live_)
        c->abort();
}

WatchStream::WatchStream(std::unique_ptr<K8sConnection> conn, std::chrono::seconds idle)
    : conn_(std::move(conn)), idle_(idle) {}

WatchStream::~WatchStream() = default;

unsigned WatchStream::status() const { return conn_->parser_->get().result_int(); }

awaitable<Result<std::vector<std::string>>> WatchStream::read_lines() {
    std::vector<std::string> lines;
    std::string data;
    while (lines.empty()) {
        data.clear();
        auto more = co_await conn_->read_body_some(data, idle_);
        if (!more)
            co_return more.error();
        split_lines(pending_, data, lines);
        if (pending_.size() > kMaxLineBytes)
            co_return make_error("a watch event longer than " + std::to_string(kMaxLineBytes) + " bytes");
        if (!*more || conn_->parser_->is_done()) {
            if (lines.empty() && !pending_.empty()) // the last line had no '\n'
                lines.push_back(std::move(pending_));
            pending_.clear();
            break;
        }
    }
    co_return lines;
}

} // namespace podlane
