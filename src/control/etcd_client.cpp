#include "control/etcd_client.h"

#include <chrono>
#include <utility> // before Boost 1.74 asio, whose awaitable.hpp needs std::exchange

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace podlane {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Json = nlohmann::json;

// ---- base64 and keys ----

namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int64_t as_revision(const Json& v) {
    if (v.is_string())
        return std::stoll(v.get<std::string>());
    if (v.is_number_integer())
        return v.get<int64_t>();
    return 0;
}

} // namespace

std::string base64_encode(const std::string& in) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const uint32_t v = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8 | uint8_t(in[i + 2]);
        for (int s = 18; s >= 0; s -= 6)
            out += kB64[v >> s & 63];
    }
    if (i + 1 == in.size()) {
        const uint32_t v = uint32_t(uint8_t(in[i])) << 16;
        out += kB64[v >> 18 & 63];
        out += kB64[v >> 12 & 63];
        out += "==";
    } else if (i + 2 == in.size()) {
        const uint32_t v = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8;
        out += kB64[v >> 18 & 63];
        out += kB64[v >> 12 & 63];
        out += kB64[v >> 6 & 63];
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(const std::string& in) {
    if (in.size() % 4 != 0)
        return std::nullopt;
    std::string out;
    uint32_t v = 0;
    int bits = 0;
    size_t pad = 0;
    for (size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        int d;
        if (c >= 'A' && c <= 'Z') d = c - 'A';
        else if (c >= 'a' && c <= 'z') d = c - 'a' + 26;
        else if (c >= '0' && c <= '9') d = c - '0' + 52;
        else if (c == '+') d = 62;
        else if (c == '/') d = 63;
        else if (c == '=' && i + 2 >= in.size()) { ++pad; continue; }
        else return std::nullopt;
        if (pad)
            return std::nullopt; // data after padding
        v = v << 6 | static_cast<uint32_t>(d);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>(v >> bits & 0xff);
        }
    }
    return out;
}

std::string etcd_prefix_end(const std::string& prefix) {
    std::string end = prefix;
    while (!end.empty()) {
        if (static_cast<uint8_t>(end.back()) < 0xff) {
            end.back() = static_cast<char>(end.back() + 1);
            return end;
        }
        end.pop_back();
    }
    return std::string(1, '\0'); // every key
}

Result<EtcdEndpoint> parse_etcd_url(const std::string& url) {
    const std::string scheme = "http://";
    if (url.rfind(scheme, 0) != 0)
        return make_error("etcd endpoint " + url + ": expected http://host:port");
    const std::string rest = url.substr(scheme.size());
    const size_t colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size() || rest.find('/') != std::string::npos)
        return make_error("etcd endpoint " + url + ": expected http://host:port");
    return EtcdEndpoint{rest.substr(0, colon), rest.substr(colon + 1), url};
}

Result<EtcdRange> parse_range_response(const Json& r) {
    if (!r.is_object() || !r.contains("header"))
        return make_error("etcd range: unexpected answer " + r.dump().substr(0, 120));
    EtcdRange out;
    out.revision = as_revision(r["header"].value("revision", Json("0")));
    for (const Json& kv : r.value("kvs", Json::array())) {
        auto key = base64_decode(kv.value("key", ""));
        auto value = base64_decode(kv.value("value", ""));
        if (!key || !value)
            return make_error("etcd range: a key or value is not base64");
        out.kvs.push_back(EtcdKv{*key, *value, as_revision(kv.value("mod_revision", Json("0")))});
    }
    return out;
}

Result<EtcdWatchResponse> parse_watch_message(const Json& message) {
    if (message.contains("error"))
        return make_error("etcd watch: " + message["error"].dump().substr(0, 200));
    if (!message.contains("result") || !message["result"].is_object())
        return make_error("etcd watch: unexpected message " + message.dump().substr(0, 120));
    const Json& r = message["result"];
    EtcdWatchResponse out;
    if (r.contains("header"))
        out.revision = as_revision(r["header"].value("revision", Json("0")));
    out.compact_revision = as_revision(r.value("compact_revision", Json("0")));
    out.canceled = r.value("canceled", false);
    out.created = r.value("created", false);
    for (const Json& e : r.value("events", Json::array())) {
        EtcdWatchEvent ev;
        ev.deleted = e.value("type", "PUT") == "DELETE";
        const Json& kv = e.value("kv", Json::object());
        auto key = base64_decode(kv.value("key", ""));
        auto value = base64_decode(kv.value("value", ""));
        if (!key || !value)
            return make_error("etcd watch: a key or value is not base64");
        ev.kv = EtcdKv{*key, *value, as_revision(kv.value("mod_revision", Json("0")))};
        out.events.push_back(std::move(ev));
    }
    return out;
}

// ---- HTTP/1.1 over a blocking-with-timeout socket ----

namespace {

/// One HTTP connection with its own io_context; every operation has a timeout.
class HttpConnection {
public:
    Result<void> connect(const EtcdEndpoint& ep, uint32_t timeout_ms) {
        tcp::resolver resolver(io_);
        boost::system::error_code ec;
        auto addrs = resolver.resolve(ep.host, ep.port, ec);
        if (ec)
            return make_error("cannot resolve " + ep.url + ": " + ec.message());
        bool done = false;
        asio::async_connect(socket_, addrs, [&](const boost::system::error_code& e, const tcp::endpoint&) {
            ec = e;
            done = true;
        });
        if (!run(timeout_ms, done))
            return make_error("cannot connect to " + ep.url + ": timed out after " + std::to_string(timeout_ms) + " ms");
        if (ec)
            return make_error("cannot connect to " + ep.url + ": " + ec.message());
        host_ = ep.host + ":" + ep.port;
        return {};
    }

    Result<void> post(const std::string& path, const std::string& body, uint32_t timeout_ms) {
        const std::string req = "POST " + path + " HTTP/1.1\r\nHost: " + host_ +
                                "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                                "\r\n\r\n" + body;
        boost::system::error_code ec;
        bool done = false;
        asio::async_write(socket_, asio::buffer(req), [&](const boost::system::error_code& e, size_t) {
            ec = e;
            done = true;
        });
        if (!run(timeout_ms, done))
            return make_error("etcd " + path + ": request timed out");
        if (ec)
            return make_error("etcd " + path + ": " + ec.message());
        return {};
    }

    /// Reads the status line and headers; then body() or chunk() read what follows.
    Result<void> read_head(uint32_t timeout_ms) {
        size_t end;
        while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
            auto r = fill(timeout_ms);
            if (!r)
                return r.error();
            if (!*r)
                return make_error("etcd: no answer within " + std::to_string(timeout_ms) + " ms");
        }
        const std::string head = buf_.substr(0, end);
        buf_.erase(0, end + 4);
        if (head.size() < 12 || head.rfind("HTTP/1.", 0) != 0)
            return make_error("etcd: not an HTTP answer");
        status_ = std::stoi(head.substr(9, 3));
        std::string lower = head;
        for (char& c : lower)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        chunked_ = lower.find("transfer-encoding: chunked") != std::string::npos;
        length_ = 0;
        if (auto p = lower.find("content-length:"); p != std::string::npos)
            length_ = std::stoul(lower.substr(p + 15));
        return {};
    }
    int status() const noexcept { return status_; }

    /// The whole body (Content-Length or chunked).
    Result<std::string> body(uint32_t timeout_ms) {
        if (!chunked_) {
            while (buf_.size() < length_) {
                auto r = fill(timeout_ms);
                if (!r)
                    return r.error();
                if (!*r)
                    return make_error("etcd: answer timed out");
            }
            return buf_.substr(0, length_);
        }
        std::string out;
        for (;;) {
            auto c = chunk(timeout_ms);
            if (!c)
                return c.error();
            if (!*c)
                return make_error("etcd: answer timed out");
            if ((*c)->empty())
                return out;
            out += **c;
        }
    }

    /// The next chunk of a chunked body: empty string at the end, nullopt if
    /// nothing complete arrived within the timeout.
    Result<std::optional<std::string>> chunk(uint32_t timeout_ms) {
        for (;;) {
            const size_t eol = buf_.find("\r\n");
            if (eol != std::string::npos) {
                const size_t size = std::stoul(buf_.substr(0, eol), nullptr, 16);
                if (buf_.size() >= eol + 2 + size + 2) {
                    std::string data = buf_.substr(eol + 2, size);
                    buf_.erase(0, eol + 2 + size + 2);
                    return std::optional<std::string>(std::move(data));
                }
            }
            auto r = fill(timeout_ms);
            if (!r)
                return r.error();
            if (!*r)
                return std::optional<std::string>();
        }
    }

private:
    /// Reads what arrives within the timeout into buf_: false on timeout.
    Result<bool> fill(uint32_t timeout_ms) {
        char data[16384];
        boost::system::error_code ec;
        size_t n = 0;
        bool done = false;
        socket_.async_read_some(asio::buffer(data), [&](const boost::system::error_code& e, size_t got) {
            ec = e;
            n = got;
            done = true;
        });
        if (!run(timeout_ms, done))
            return false;
        if (ec)
            return make_error(ec == asio::error::eof ? "etcd closed the connection" : "etcd: " + ec.message());
        buf_.append(data, n);
        return true;
    }

    /// Runs the io_context until `done` or the timeout; on timeout cancels the
    /// operation and lets its handler run. True if it completed.
    bool run(uint32_t timeout_ms, bool& done) {
        io_.restart();
        io_.run_for(std::chrono::milliseconds(timeout_ms));
        if (done)
            return true;
        boost::system::error_code ignored;
        socket_.cancel(ignored);
        io_.restart();
        io_.run();
        return false;
    }

    asio::io_context io_;
    tcp::socket socket_{io_};
    std::string host_;
    std::string buf_;
    int status_ = 0;
    bool chunked_ = false;
    size_t length_ = 0;
};

/// A watch over one HttpConnection: the gateway sends one JSON object per chunk or line.
class HttpWatch : public EtcdWatch {
public:
    explicit HttpWatch(std::unique_ptr<HttpConnection> c) : conn_(std::move(c)) {}
    Result<std::optional<EtcdWatchResponse>> next(uint32_t timeout_ms) override {
        for (;;) {
            if (const size_t nl = pending_.find('\n'); nl != std::string::npos) {
                const std::string line = pending_.substr(0, nl);
                pending_.erase(0, nl + 1);
                if (line.find_first_not_of(" \r\t") == std::string::npos)
                    continue;
                Json msg = Json::parse(line, nullptr, false);
                if (msg.is_discarded())
                    return make_error("etcd watch: a message is not JSON");
                auto r = parse_watch_message(msg);
                if (!r)
                    return r.error();
                return std::optional<EtcdWatchResponse>(std::move(*r));
            }
            auto c = conn_->chunk(timeout_ms);
            if (!c)
                return c.error();
            if (!*c)
                return std::optional<EtcdWatchResponse>();
            if ((*c)->empty())
                return make_error("etcd ended the watch");
            pending_ += **c;
            // A chunk may hold a whole object without a newline.
            if (pending_.find('\n') == std::string::npos) {
                Json msg = Json::parse(pending_, nullptr, false);
                if (!msg.is_discarded()) {
                    pending_.clear();
                    auto r = parse_watch_message(msg);
                    if (!r)
                        return r.error();
                    return std::optional<EtcdWatchResponse>(std::move(*r));
                }
            }
        }
    }

private:
    std::unique_ptr<HttpConnection> conn_;
    std::string pending_;
};

} // namespace

EtcdClient::EtcdClient(std::vector<std::string> urls, uint32_t timeout_ms) : timeout_ms_(timeout_ms) {
    for (const std::string& u : urls)
        if (auto ep = parse_etcd_url(u))
            endpoints_.push_back(*ep);
}

Result<Json> EtcdClient::call(const std::string& path, const Json& body) {
    if (endpoints_.empty())
        return make_error("etcd: no valid endpoint");
    std::string errors;
    for (const EtcdEndpoint& ep : endpoints_) {
        HttpConnection c;
        auto r = c.connect(ep, timeout_ms_);
        if (r)
            r = c.post(path, body.dump(), timeout_ms_);
        if (r)
            r = c.read_head(timeout_ms_);
        if (!r) {
            errors += (errors.empty() ? "" : "; ") + r.error().message;
            continue;
        }
        auto text = c.body(timeout_ms_);
        if (!text) {
            errors += (errors.empty() ? "" : "; ") + text.error().message;
            continue;
        }
        Json answer = Json::parse(*text, nullptr, false);
        if (answer.is_discarded())
            return make_error("etcd " + path + ": answer is not JSON");
        if (c.status() != 200)
            return make_error("etcd " + path + ": HTTP " + std::to_string(c.status()) + " " +
                              answer.value("message", answer.value("error", std::string())));
        current_ = ep.url;
        return answer;
    }
    return make_error(errors);
}

Result<EtcdRange> EtcdClient::range_prefix(const std::string& prefix) {
    auto r = call("/v3/kv/range", Json{{"key", base64_encode(prefix)}, {"range_end", base64_encode(etcd_prefix_end(prefix))}});
    if (!r)
        return r.error();
    return parse_range_response(*r);
}

Result<int64_t> EtcdClient::put(const std::string& key, const std::string& value, int64_t lease) {
    Json body{{"key", base64_encode(key)}, {"value", base64_encode(value)}};
    if (lease != 0)
        body["lease"] = std::to_string(lease);
    auto r = call("/v3/kv/put", body);
    if (!r)
        return r.error();
    return as_revision((*r)["header"].value("revision", Json("0")));
}

Result<int64_t> EtcdClient::delete_key(const std::string& key) {
    auto r = call("/v3/kv/deleterange", Json{{"key", base64_encode(key)}});
    if (!r)
        return r.error();
    return as_revision(r->value("deleted", Json("0")));
}

Result<bool> EtcdClient::create_if_absent(const std::string& key, const std::string& value) {
    const std::string k = base64_encode(key);
    Json body{{"compare", Json::array({{{"key", k}, {"target", "CREATE"}, {"create_revision", "0"}}})},
              {"success", Json::array({{{"request_put", {{"key", k}, {"value", base64_encode(value)}}}}})}};
    auto r = call("/v3/kv/txn", body);
    if (!r)
        return r.error();
    return r->value("succeeded", false);
}

Result<int64_t> EtcdClient::lease_grant(uint32_t ttl_s) {
    auto r = call("/v3/lease/grant", Json{{"TTL", std::to_string(ttl_s)}});
    if (!r)
        return r.error();
    const int64_t id = as_revision(r->value("ID", Json("0")));
    if (id == 0)
        return make_error("etcd lease grant: " + r->value("error", std::string("no lease id")));
    return id;
}

Result<bool> EtcdClient::lease_keepalive(int64_t lease) {
    auto r = call("/v3/lease/keepalive", Json{{"ID", std::to_string(lease)}});
    if (!r)
        return r.error();
    const Json& result = r->value("result", Json::object());
    return as_revision(result.value("TTL", Json("0"))) > 0;
}

Result<std::unique_ptr<EtcdWatch>> EtcdClient::watch_prefix(const std::string& prefix, int64_t start_revision) {
    if (endpoints_.empty())
        return make_error("etcd: no valid endpoint");
    std::string errors;
    for (const EtcdEndpoint& ep : endpoints_) {
        auto c = std::make_unique<HttpConnection>();
        Json req{{"create_request",
                  {{"key", base64_encode(prefix)},
                   {"range_end", base64_encode(etcd_prefix_end(prefix))},
                   {"start_revision", std::to_string(start_revision)},
                   {"progress_notify", true}}}};
        auto r = c->connect(ep, timeout_ms_);
        if (r)
            r = c->post("/v3/watch", req.dump(), timeout_ms_);
        if (r)
            r = c->read_head(timeout_ms_);
        if (r && c->status() != 200)
            r = make_error("etcd watch: HTTP " + std::to_string(c->status()));
        if (!r) {
            errors += (errors.empty() ? "" : "; ") + r.error().message;
            continue;
        }
        current_ = ep.url;
        return std::unique_ptr<EtcdWatch>(std::make_unique<HttpWatch>(std::move(c)));
    }
    return make_error(errors);
}

} // namespace podlane
