#include "control/sources/etcd/etcd_client.h"

#include "control/sources/http_client.h"

namespace podlane {

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
    const bool tls = url.rfind("https://", 0) == 0;
    if (!tls && url.rfind("http://", 0) != 0)
        return make_error("etcd endpoint " + url + ": expected http://host:port or https://host:port");
    const std::string rest = url.substr(tls ? 8 : 7);
    const size_t colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size() || rest.find('/') != std::string::npos)
        return make_error("etcd endpoint " + url + ": expected http://host:port or https://host:port");
    return EtcdEndpoint{rest.substr(0, colon), rest.substr(colon + 1), url, tls};
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

// ---- the gateway over HTTP/1.1 ----

namespace {

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

EtcdClient::EtcdClient(std::vector<std::string> urls, uint32_t timeout_ms, TlsSettings tls)
    : timeout_ms_(timeout_ms), tls_(std::move(tls)) {
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
        auto r = c.connect(HttpUrl{ep.tls, ep.host, ep.port}, timeout_ms_, ep.tls ? &tls_ : nullptr);
        if (r)
            r = c.send("POST", path, body.dump(), {}, timeout_ms_);
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

Result<int64_t> EtcdClient::txn(const std::vector<Op>& ops) {
    if (ops.size() > kMaxTxnOps)
        return make_error("etcd txn: " + std::to_string(ops.size()) + " operations, at most " +
                          std::to_string(kMaxTxnOps) + " in one transaction");
    Json success = Json::array();
    for (const Op& op : ops) {
        const std::string k = base64_encode(op.key);
        if (op.value)
            success.push_back({{"request_put", {{"key", k}, {"value", base64_encode(*op.value)}}}});
        else
            success.push_back({{"request_delete_range", {{"key", k}}}});
    }
    auto r = call("/v3/kv/txn", Json{{"success", success}});
    if (!r)
        return r.error();
    if (!r->value("succeeded", false))
        return make_error("etcd txn: not applied: " + r->dump().substr(0, 200));
    return as_revision((*r)["header"].value("revision", Json("0")));
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

Result<bool> EtcdClient::swap_if(const std::string& key, const std::optional<std::string>& expected,
                                  const std::optional<std::string>& next) {
    const std::string k = base64_encode(key);
    Json compare = expected ? Json{{"key", k}, {"target", "VALUE"}, {"result", "EQUAL"}, {"value", base64_encode(*expected)}}
                            : Json{{"key", k}, {"target", "CREATE"}, {"create_revision", "0"}};
    Json op = next ? Json{{"request_put", {{"key", k}, {"value", base64_encode(*next)}}}}
                   : Json{{"request_delete_range", {{"key", k}}}};
    auto r = call("/v3/kv/txn", Json{{"compare", Json::array({compare})}, {"success", Json::array({op})}});
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
        auto r = c->connect(HttpUrl{ep.tls, ep.host, ep.port}, timeout_ms_, ep.tls ? &tls_ : nullptr);
        if (r)
            r = c->send("POST", "/v3/watch", req.dump(), {}, timeout_ms_);
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
