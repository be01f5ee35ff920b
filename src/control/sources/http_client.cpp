#include "control/sources/http_client.h"

#include <cctype>
#include <chrono>
#include <utility> // before Boost 1.74 asio, whose awaitable.hpp needs std::exchange

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include "common/file.h"

namespace podlane {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

Result<HttpUrl> parse_http_url(const std::string& url) {
    HttpUrl u;
    std::string rest;
    if (url.rfind("https://", 0) == 0) {
        u.tls = true;
        rest = url.substr(8);
    } else if (url.rfind("http://", 0) == 0) {
        rest = url.substr(7);
    } else {
        return make_error(url + ": expected http://host:port or https://host:port");
    }
    rest = rest.substr(0, rest.find('/'));
    const size_t colon = rest.rfind(':');
    u.host = colon == std::string::npos ? rest : rest.substr(0, colon);
    u.port = colon == std::string::npos ? (u.tls ? "443" : "80") : rest.substr(colon + 1);
    if (u.host.empty() || u.port.empty())
        return make_error(url + ": expected http://host:port or https://host:port");
    return u;
}

struct HttpConnection::Impl {
    asio::io_context io;
    tcp::socket socket{io};
    std::unique_ptr<asio::ssl::context> ctx;
    std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;
    std::string host;
    std::string buf;
    int status = 0;
    bool chunked = false;
    bool has_length = false;
    size_t length = 0;

    /// Runs until `done` or the timeout; on timeout cancels and returns false.
    bool run(uint32_t timeout_ms, bool& done) {
        io.restart();
        io.run_for(std::chrono::milliseconds(timeout_ms));
        if (done)
            return true;
        boost::system::error_code ignored;
        socket.cancel(ignored);
        io.restart();
        io.run();
        return false;
    }

    /// Reads what arrives within the timeout into buf: false on timeout.
    Result<bool> fill(uint32_t timeout_ms) {
        char data[16384];
        boost::system::error_code ec;
        size_t n = 0;
        bool done = false;
        auto handler = [&](const boost::system::error_code& e, size_t got) {
            ec = e;
            n = got;
            done = true;
        };
        if (tls)
            tls->async_read_some(asio::buffer(data), handler);
        else
            socket.async_read_some(asio::buffer(data), handler);
        if (!run(timeout_ms, done))
            return false;
        if (ec && n == 0)
            return make_error(ec == asio::error::eof || ec == asio::ssl::error::stream_truncated
                                  ? host + " closed the connection"
                                  : host + ": " + ec.message());
        buf.append(data, n);
        return true;
    }
};

HttpConnection::HttpConnection() : impl_(std::make_unique<Impl>()) {}
HttpConnection::~HttpConnection() = default;
int HttpConnection::status() const noexcept { return impl_->status; }

Result<void> HttpConnection::connect(const HttpUrl& url, uint32_t timeout_ms, const TlsSettings* tls) {
    Impl& m = *impl_;
    m.host = url.host + ":" + url.port;
    tcp::resolver resolver(m.io);
    boost::system::error_code ec;
    auto addrs = resolver.resolve(url.host, url.port, ec);
    if (ec)
        return make_error("cannot resolve " + m.host + ": " + ec.message());
    bool done = false;
    asio::async_connect(m.socket, addrs, [&](const boost::system::error_code& e, const tcp::endpoint&) {
        ec = e;
        done = true;
    });
    if (!m.run(timeout_ms, done))
        return make_error("cannot connect to " + m.host + ": timed out after " + std::to_string(timeout_ms) + " ms");
    if (ec)
        return make_error("cannot connect to " + m.host + ": " + ec.message());
    if (!url.tls)
        return {};
    m.ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    const TlsSettings none;
    const TlsSettings& t = tls ? *tls : none;
    if (t.ca_pem.empty())
        m.ctx->set_default_verify_paths(ec);
    else
        m.ctx->add_certificate_authority(asio::buffer(t.ca_pem), ec);
    if (ec)
        return make_error(m.host + ": the CA certificate is not usable: " + ec.message());
    if (!t.client_cert_pem.empty()) {
        m.ctx->use_certificate_chain(asio::buffer(t.client_cert_pem), ec);
        if (!ec)
            m.ctx->use_private_key(asio::buffer(t.client_key_pem), asio::ssl::context::pem, ec);
        if (ec)
            return make_error(m.host + ": the client certificate or key is not usable: " + ec.message());
    }
    m.tls = std::make_unique<asio::ssl::stream<tcp::socket&>>(m.socket, *m.ctx);
    if (t.insecure) {
        m.tls->set_verify_mode(asio::ssl::verify_none);
    } else {
        m.tls->set_verify_mode(asio::ssl::verify_peer);
        m.tls->set_verify_callback(asio::ssl::host_name_verification(url.host));
    }
    SSL_set_tlsext_host_name(m.tls->native_handle(), url.host.c_str());
    done = false;
    m.tls->async_handshake(asio::ssl::stream_base::client, [&](const boost::system::error_code& e) {
        ec = e;
        done = true;
    });
    if (!m.run(timeout_ms, done))
        return make_error(m.host + ": TLS handshake timed out");
    if (ec)
        return make_error(m.host + ": TLS handshake failed: " + ec.message());
    return {};
}

Result<void> HttpConnection::send(const std::string& method, const std::string& path, const std::string& body,
                                  const std::vector<std::string>& headers, uint32_t timeout_ms) {
    Impl& m = *impl_;
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + m.host + "\r\n";
    for (const std::string& h : headers)
        req += h + "\r\n";
    if (!body.empty() || method == "POST")
        req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    boost::system::error_code ec;
    bool done = false;
    auto handler = [&](const boost::system::error_code& e, size_t) {
        ec = e;
        done = true;
    };
    if (m.tls)
        asio::async_write(*m.tls, asio::buffer(req), handler);
    else
        asio::async_write(m.socket, asio::buffer(req), handler);
    if (!m.run(timeout_ms, done))
        return make_error(m.host + " " + path + ": request timed out");
    if (ec)
        return make_error(m.host + " " + path + ": " + ec.message());
    return {};
}

Result<void> HttpConnection::read_head(uint32_t timeout_ms) {
    Impl& m = *impl_;
    size_t end;
    while ((end = m.buf.find("\r\n\r\n")) == std::string::npos) {
        auto r = m.fill(timeout_ms);
        if (!r)
            return r.error();
        if (!*r)
            return make_error(m.host + ": no answer within " + std::to_string(timeout_ms) + " ms");
    }
    std::string head = m.buf.substr(0, end);
    m.buf.erase(0, end + 4);
    if (head.size() < 12 || head.rfind("HTTP/1.", 0) != 0)
        return make_error(m.host + ": not an HTTP answer");
    m.status = std::stoi(head.substr(9, 3));
    for (char& c : head)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    m.chunked = head.find("transfer-encoding: chunked") != std::string::npos;
    m.has_length = false;
    if (auto p = head.find("content-length:"); p != std::string::npos) {
        m.length = std::stoul(head.substr(p + 15));
        m.has_length = true;
    }
    return {};
}

Result<std::string> HttpConnection::body(uint32_t timeout_ms) {
    Impl& m = *impl_;
    if (m.chunked) {
        std::string out;
        for (;;) {
            auto c = chunk(timeout_ms);
            if (!c)
                return c.error();
            if (!*c)
                return make_error(m.host + ": answer timed out");
            if ((*c)->empty())
                return out;
            out += **c;
        }
    }
    for (;;) {
        if (m.has_length && m.buf.size() >= m.length)
            return m.buf.substr(0, m.length);
        auto r = m.fill(timeout_ms);
        if (!r) {
            if (!m.has_length)
                return m.buf; // the body ends where the connection does
            return r.error();
        }
        if (!*r)
            return make_error(m.host + ": answer timed out");
    }
}

Result<std::optional<std::string>> HttpConnection::chunk(uint32_t timeout_ms) {
    Impl& m = *impl_;
    for (;;) {
        const size_t eol = m.buf.find("\r\n");
        if (eol != std::string::npos) {
            const size_t size = std::stoul(m.buf.substr(0, eol), nullptr, 16);
            if (m.buf.size() >= eol + 2 + size + 2) {
                std::string data = m.buf.substr(eol + 2, size);
                m.buf.erase(0, eol + 2 + size + 2);
                return std::optional<std::string>(std::move(data));
            }
        }
        auto r = m.fill(timeout_ms);
        if (!r)
            return r.error();
        if (!*r)
            return std::optional<std::string>();
    }
}

Result<TlsSettings> tls_from_files(const std::string& ca_file, const std::string& cert_file,
                                   const std::string& key_file) {
    TlsSettings t;
    for (auto [path, out] : {std::pair{&ca_file, &t.ca_pem}, std::pair{&cert_file, &t.client_cert_pem},
                             std::pair{&key_file, &t.client_key_pem}}) {
        if (path->empty())
            continue;
        auto text = read_file(*path);
        if (!text)
            return text.error();
        if (text->empty())
            return make_error("cannot read " + *path + ": empty");
        *out = std::move(*text);
    }
    return t;
}

} // namespace podlane
