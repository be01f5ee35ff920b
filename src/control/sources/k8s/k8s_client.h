// A small Kubernetes API client: HTTPS GETs (lists) and watches (a streamed
// body read line by line) with Boost.Beast over Asio SSL, on the caller's
// io_context, as C++20 coroutines. The server is verified against the CA of
// the KubeAccess (and its host name or IP); requests carry a bearer token or
// present a client certificate.
#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <utility> // before Boost 1.74 asio, whose awaitable.hpp needs std::exchange
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "common/result.h"
#include "control/sources/k8s/kubeconfig.h"

namespace podlane {

/// A complete HTTP response.
struct HttpReply {
    unsigned status = 0;   ///< e.g. 200, 401, 410
    std::string reason;    ///< e.g. "Unauthorized"
    std::string body;
};

/// The parts of an https:// URL the client needs.
struct ApiServerUrl {
    std::string host;      ///< name or address, without IPv6 brackets
    std::string port = "443";
    std::string base_path; ///< "" or a path prefix without the trailing '/', e.g. "/k8s/clusters/c-1"

    /// Parses "https://host[:port][/path]"; errors name the URL.
    static Result<ApiServerUrl> parse(const std::string& url);
};

class K8sConnection;
class WatchStream;

/// Talks to one API server. Create it with create(); every request opens its
/// own TLS connection (a watch holds its connection while it runs).
class K8sClient : public std::enable_shared_from_this<K8sClient> {
public:
    /// Sets up TLS from `access` (trusted CA, client certificate and key).
    /// `timeout` bounds connecting, the TLS handshake and a whole GET.
    static Result<std::shared_ptr<K8sClient>> create(boost::asio::io_context& io, KubeAccess access,
                                                     std::chrono::milliseconds timeout);
    ~K8sClient();

    /// GET `target` (path and query, e.g. "/api/v1/nodes"): the whole response.
    /// An error means no response (connect, TLS, timeout, malformed HTTP).
    boost::asio::awaitable<Result<HttpReply>> get(std::string target);
    /// PATCH `target` with a JSON merge patch (RFC 7386): the whole response.
    boost::asio::awaitable<Result<HttpReply>> patch(std::string target, std::string merge_patch);

    /// GET `target` as a watch. With status 200 the body is then read with
    /// WatchStream::read_lines(); with another status, its whole body is in
    /// WatchStream::error_reply(). A read that gets nothing for `idle` fails.
    boost::asio::awaitable<Result<std::unique_ptr<WatchStream>>> watch(std::string target, std::chrono::seconds idle);

    /// Aborts every request and watch in progress (they finish with an error)
    /// and refuses new ones. Idempotent.
    void cancel();

    const std::string& server() const { return access_.server; }
    boost::asio::io_context& io() const { return io_; }
    /// The bearer token for the next request: the token, or the token file's
    /// first line as it is now (service-account tokens are rotated).
    Result<std::string> bearer_token() const;

private:
    friend class K8sConnection;
    K8sClient(boost::asio::io_context& io, KubeAccess access, ApiServerUrl url, std::chrono::milliseconds timeout);
    Result<void> setup_tls();
    /// Connects and sends a GET of `target`, or a PATCH with `merge_patch`.
    boost::asio::awaitable<Result<std::unique_ptr<K8sConnection>>> open(const std::string& target,
                                                                        const std::string* merge_patch = nullptr);
    boost::asio::awaitable<Result<HttpReply>> send(std::string target, const std::string* merge_patch);

    boost::asio::io_context& io_;
    KubeAccess access_;
    ApiServerUrl url_;
    std::chrono::milliseconds timeout_;
    boost::asio::ssl::context tls_;
    std::set<K8sConnection*> live_; ///< open connections, for cancel()
    bool cancelled_ = false;
};

/// A watch response being read. Destroying it closes the connection.
class WatchStream {
public:
    explicit WatchStream(std::unique_ptr<K8sConnection> conn, std::chrono::seconds idle);
    ~WatchStream();
    WatchStream(const WatchStream&) = delete;
    WatchStream& operator=(const WatchStream&) = delete;

    /// The HTTP status; 200 for a running watch.
    unsigned status() const;
    /// With a status other than 200: the whole response.
    const HttpReply& error_reply() const { return error_; }

    /// The next complete lines of the body (without their '\n'), at least one;
    /// an empty vector at the clean end of the body (the server's
    /// timeoutSeconds). An error when the connection breaks or stays silent.
    boost::asio::awaitable<Result<std::vector<std::string>>> read_lines();

private:
    friend class K8sClient;
    std::unique_ptr<K8sConnection> conn_;
    std::chrono::seconds idle_;
    HttpReply error_;
    std::string pending_; ///< body bytes after the last complete line
};

/// The lines of `data` appended to `pending`: every complete line ("\n"
/// ended, a "\r" before it dropped) is moved to `lines`, the rest stays in
/// `pending`. Empty lines are skipped.
void split_lines(std::string& pending, std::string_view data, std::vector<std::string>& lines);

} // namespace podlane
