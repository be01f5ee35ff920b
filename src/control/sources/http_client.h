// A small blocking HTTP/1.1 client for the control plane's sources (etcd's
// JSON gateway, the Kubernetes API): one connection, optionally TLS, every
// operation with a timeout, chunked bodies read chunk by chunk for watches.
// Sources run it on threads of their own, never on the control thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace podlane {

/// TLS for a connection: the CA that signs the server (PEM), or no check.
struct TlsSettings {
    std::string ca_pem;           ///< PEM of the CA(s) to trust; empty: the system's
    bool insecure = false;        ///< skip verifying the server (insecure-skip-tls-verify)
    std::string client_cert_pem;  ///< client certificate (kubeconfig client-certificate-data)
    std::string client_key_pem;
};

/// TlsSettings from PEM files (each may be empty: not used); an error names
/// the file that cannot be read.
Result<TlsSettings> tls_from_files(const std::string& ca_file, const std::string& cert_file,
                                   const std::string& key_file);

/// "http(s)://host:port[/...]" split; the port defaults to 80 or 443.
struct HttpUrl {
    bool tls = false;
    std::string host;
    std::string port;
};
Result<HttpUrl> parse_http_url(const std::string& url);

class HttpConnection {
public:
    HttpConnection();
    ~HttpConnection();
    HttpConnection(const HttpConnection&) = delete;
    HttpConnection& operator=(const HttpConnection&) = delete;

    /// Connects (and with `tls`, handshakes and verifies the server).
    Result<void> connect(const HttpUrl& url, uint32_t timeout_ms, const TlsSettings* tls = nullptr);
    /// Sends a request; `headers` are whole lines without CRLF ("Authorization: Bearer ...").
    Result<void> send(const std::string& method, const std::string& path, const std::string& body,
                      const std::vector<std::string>& headers, uint32_t timeout_ms);
    /// Reads the status line and headers.
    Result<void> read_head(uint32_t timeout_ms);
    int status() const noexcept;
    /// The whole body (Content-Length, chunked, or until the server closes).
    Result<std::string> body(uint32_t timeout_ms);
    /// The next chunk of a chunked body: "" at its end, nullopt if nothing
    /// complete arrived within the timeout; an error when the connection broke.
    Result<std::optional<std::string>> chunk(uint32_t timeout_ms);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace podlane
