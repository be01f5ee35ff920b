// A small etcd v3 client over etcd's JSON gateway (HTTP/1.1: POST /v3/kv/range,
// /v3/kv/put, /v3/kv/deleterange, /v3/kv/txn, /v3/lease/grant,
// /v3/lease/keepalive, and the streaming /v3/watch). Keys and values are
// base64 on the wire; revisions are decimal strings. Calls block, with a
// timeout; a source runs them on a thread of its own.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "control/sources/http_client.h"

namespace podlane {

std::string base64_encode(const std::string& bytes);
/// nullopt for text that is not base64.
std::optional<std::string> base64_decode(const std::string& text);
/// The range_end that makes [prefix, range_end) every key starting with prefix.
std::string etcd_prefix_end(const std::string& prefix);

/// One key-value pair as etcd returns it (decoded).
struct EtcdKv {
    std::string key;
    std::string value;
    int64_t mod_revision = 0;
};

/// What a range read returns: the pairs and the store's revision then.
struct EtcdRange {
    std::vector<EtcdKv> kvs;
    int64_t revision = 0;
};

/// One watch response: its events (deletes have an empty value) and revision.
struct EtcdWatchEvent {
    bool deleted = false;
    EtcdKv kv;
};
struct EtcdWatchResponse {
    int64_t revision = 0;            ///< the header's revision (0 when absent)
    int64_t compact_revision = 0;    ///< > 0: the start revision was compacted, relist
    bool canceled = false;
    bool created = false;
    std::vector<EtcdWatchEvent> events;
};
/// Decodes one watch message ({"result": {...}}); an error names what is wrong.
Result<EtcdWatchResponse> parse_watch_message(const nlohmann::json& message);
/// Decodes a range response.
Result<EtcdRange> parse_range_response(const nlohmann::json& response);

/// A URL "http://host:port" or "https://host:port" split, or an error.
struct EtcdEndpoint {
    std::string host;
    std::string port;
    std::string url;
    bool tls = false;
};
Result<EtcdEndpoint> parse_etcd_url(const std::string& url);

class EtcdWatch;

class EtcdClient {
public:
    /// `tls` is used for https:// endpoints: the CA that signs etcd's
    /// certificate (empty: the system's) and, when etcd asks for one
    /// (--client-cert-auth), this client's certificate and key.
    EtcdClient(std::vector<std::string> urls, uint32_t timeout_ms, TlsSettings tls = {});

    /// The endpoint the last successful call used ("" before any).
    const std::string& current_url() const noexcept { return current_; }

    /// POSTs `body` to `path` on the first endpoint that answers; the JSON answer.
    Result<nlohmann::json> call(const std::string& path, const nlohmann::json& body);

    Result<EtcdRange> range_prefix(const std::string& prefix);
    Result<int64_t> put(const std::string& key, const std::string& value, int64_t lease = 0);
    Result<int64_t> delete_key(const std::string& key);
    /// One operation of a transaction: a put, or a delete when `value` is nullopt.
    struct Op {
        std::string key;
        std::optional<std::string> value;
    };
    /// etcd's default --max-txn-ops: the most operations one txn() may carry.
    static constexpr size_t kMaxTxnOps = 128;
    /// Applies `ops` (at most kMaxTxnOps, each key once) in one transaction
    /// (/v3/kv/txn, no compare: all or nothing); the store's revision after.
    Result<int64_t> txn(const std::vector<Op>& ops);
    /// Puts the key only if it does not exist; true if this call created it.
    Result<bool> create_if_absent(const std::string& key, const std::string& value);
    /// One compare-and-swap transaction: when the key holds `expected`
    /// (nullopt: the key does not exist), puts `next` (nullopt: deletes the
    /// key). True if it applied; false when another writer was first.
    Result<bool> swap_if(const std::string& key, const std::optional<std::string>& expected,
                         const std::optional<std::string>& next);
    Result<int64_t> lease_grant(uint32_t ttl_s);
    /// Refreshes the lease; false when the lease is gone (expired or revoked).
    Result<bool> lease_keepalive(int64_t lease);
    /// Opens a watch of every key under `prefix` from `start_revision`.
    Result<std::unique_ptr<EtcdWatch>> watch_prefix(const std::string& prefix, int64_t start_revision);

private:
    std::vector<EtcdEndpoint> endpoints_;
    uint32_t timeout_ms_;
    TlsSettings tls_;
    std::string current_;
};

/// An open watch stream.
class EtcdWatch {
public:
    virtual ~EtcdWatch() = default;
    /// The next response, nullopt if none arrived within `timeout_ms`; an
    /// error when the stream broke (etcd went away).
    virtual Result<std::optional<EtcdWatchResponse>> next(uint32_t timeout_ms) = 0;
};

} // namespace podlane
