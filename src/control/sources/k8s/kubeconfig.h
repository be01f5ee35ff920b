// How podlaned reaches and authenticates to the Kubernetes API server: from a
// kubeconfig file (its current context's cluster and user) or in-cluster (the
// KUBERNETES_SERVICE_HOST/_PORT environment and the pod's service-account
// token and CA), with source.kubernetes.server overriding the URL.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "common/result.h"
#include "control/config/config.h"

namespace podlane {

/// Everything the API client needs to connect: the server, how to trust it,
/// and the credentials to present. Certificates and keys are PEM text.
struct KubeAccess {
    std::string server;                 ///< https://host:port (no path)
    std::string ca_pem;                 ///< trusted CA certificates; empty: the system's CAs
    bool insecure_skip_tls_verify = false; ///< kubeconfig insecure-skip-tls-verify: the server is not verified
    std::string tls_server_name;        ///< name the server certificate must carry; empty: the URL's host
    std::string token;                  ///< bearer token (kubeconfig `token`)
    std::string token_file;             ///< bearer token read at every connection (rotated service-account tokens)
    std::string client_cert_pem;        ///< client certificate chain (kubeconfig client-certificate[-data])
    std::string client_key_pem;         ///< its private key (kubeconfig client-key[-data])
    std::string origin;                 ///< where this came from, for messages: `kubeconfig FILE (context C)` or `in-cluster settings (...)`
};

/// Parses a kubeconfig's text: current-context → its cluster (server,
/// certificate-authority[-data], insecure-skip-tls-verify, tls-server-name)
/// and user (token, tokenFile, client-certificate[-data], client-key[-data]).
/// Relative file paths are resolved against `base_dir` (the kubeconfig's
/// directory), and the files are read. Errors name the file and the key, e.g.
/// `kubeconfig /etc/kc: users[0].user.client-key-data (user "admin"): not valid base64`.
Result<KubeAccess> parse_kubeconfig(const std::string& text, const std::string& path, const std::string& base_dir);

/// Reads and parses a kubeconfig file.
Result<KubeAccess> load_kubeconfig(const std::string& path);

/// The in-cluster settings: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
/// (unless `cfg.server` is set), `cfg.token_file` as the bearer token and
/// `cfg.ca_file` as the CA. `getenv` looks up an environment variable.
Result<KubeAccess> in_cluster_access(const KubernetesSourceConfig& cfg,
                                     const std::function<std::optional<std::string>(const std::string&)>& getenv);

/// The access source.kubernetes describes: its kubeconfig, else in-cluster;
/// `server`, when set, replaces the URL either way.
Result<KubeAccess> resolve_kube_access(const KubernetesSourceConfig& cfg);

/// Reads a whole file; errors name the file and what it is (`what`).
Result<std::string> read_text_file(const std::string& path, const std::string& what);

/// Decodes standard base64 (whitespace ignored); nullopt when it is not base64.
std::optional<std::string> base64_decode(std::string_view text);

} // namespace podlane
