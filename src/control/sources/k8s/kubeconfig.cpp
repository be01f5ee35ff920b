#include "control/sources/k8s/kubeconfig.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>

#include "common/file.h"

namespace podlane {

namespace {

/// A problem in the kubeconfig; parse_kubeconfig turns it into its Result.
struct KubeconfigFailure {
    std::string text;
};

/// `node` at `path` of the kubeconfig, for reading scalars with messages that name the key.
struct KeyNode {
    YAML::Node node;
    std::string key_path; ///< "users[0].user.token"
    std::string note;     ///< which entry, for messages: " (user \"admin\")"

    /// The key and its entry, as messages show them.
    std::string path() const { return key_path + note; }
    KeyNode child(const std::string& key) const {
        return KeyNode{node.IsMap() ? node[key] : YAML::Node(), key_path.empty() ? key : key_path + "." + key, note};
    }
    bool present() const { return node.IsDefined() && !node.IsNull(); }
    std::string str() const {
        if (!node.IsScalar())
            throw KubeconfigFailure{path() + ": expected a string"};
        return node.Scalar();
    }
    std::string str_or(const std::string& fallback) const { return present() ? str() : fallback; }
    bool boolean() const {
        const std::string s = str();
        if (s == "true" || s == "True" || s == "TRUE")
            return true;
        if (s == "false" || s == "False" || s == "FALSE")
            return false;
        throw KubeconfigFailure{path() + ": \"" + s + "\" is not true or false"};
    }
};

/// The entry named `name` in the list `list` ("clusters", "contexts",
/// "users"), whose body is under `body` ("cluster", "context", "user"). The
/// path names the entry: `users[1].user (user "admin")`.
KeyNode named_entry(const YAML::Node& root, const std::string& list, const std::string& body, const std::string& name,
                    const std::string& wanted_by) {
    const YAML::Node items = root[list];
    if (items.IsDefined() && !items.IsNull() && !items.IsSequence())
        throw KubeconfigFailure{list + ": expected a list"};
    if (items.IsSequence()) {
        for (size_t i = 0; i < items.size(); ++i) {
            const YAML::Node entry = items[i];
            if (!entry.IsMap() || !entry["name"].IsScalar() || entry["name"].Scalar() != name)
                continue;
            return KeyNode{entry[body], list + "[" + std::to_string(i) + "]." + body, " (" + body + " \"" + name + "\")"};
        }
    }
    throw KubeconfigFailure{wanted_by + " names " + body + " \"" + name + "\", which is not in " + list};
}

std::string resolve_path(const std::string& path, const std::string& base_dir) {
    if (path.empty() || path[0] == '/' || base_dir.empty())
        return path;
    return (std::filesystem::path(base_dir) / path).string();
}

/// PEM (or token) text from `<key>-data` (base64) or `<key>` (a file path).
std::string data_or_file(const KeyNode& body, const std::string& key, const std::string& base_dir) {
    const KeyNode data = body.child(key + "-data");
    if (data.present()) {
        auto decoded = base64_decode(data.str());
        if (!decoded)
            throw KubeconfigFailure{data.path() + ": not valid base64"};
        return *decoded;
    }
    const KeyNode file = body.child(key);
    if (!file.present())
        return "";
    auto text = read_text_file(resolve_path(file.str(), base_dir), file.path());
    if (!text)
        throw KubeconfigFailure{text.error().message};
    return *text;
}

KubeAccess read_kubeconfig(const YAML::Node& root, const std::string& base_dir) {
    if (!root.IsMap())
        throw KubeconfigFailure{"expected a kubeconfig (a mapping with clusters, contexts, users and current-context)"};
    const KeyNode current{root["current-context"], "current-context", ""};
    if (!current.present() || current.str().empty())
        throw KubeconfigFailure{"current-context is not set: expected the name of one of the contexts"};
    const std::string context_name = current.str();
    const KeyNode context = named_entry(root, "contexts", "context", context_name, "current-context");
    const KeyNode cluster_ref = context.child("cluster");
    if (!cluster_ref.present())
        throw KubeconfigFailure{cluster_ref.path() + ": required key is missing: expected a cluster name"};
    const KeyNode cluster = named_entry(root, "clusters", "cluster", cluster_ref.str(), cluster_ref.path());

    KubeAccess a;
    a.origin = "(context " + context_name + ")";
    const KeyNode server = cluster.child("server");
    if (!server.present())
        throw KubeconfigFailure{server.path() + ": required key is missing: expected the API server URL, like https://127.0.0.1:6443"};
    a.server = server.str();
    if (a.server.rfind("https://", 0) != 0 || a.server.size() == 8)
        throw KubeconfigFailure{server.path() + ": \"" + a.server + "\" is not valid: expected an https:// URL"};
    if (auto insecure = cluster.child("insecure-skip-tls-verify"); insecure.present())
        a.insecure_skip_tls_verify = insecure.boolean();
    a.ca_pem = data_or_file(cluster, "certificate-authority", base_dir);
    a.tls_server_name = cluster.child("tls-server-name").str_or("");

    const KeyNode user_ref = context.child("user");
    if (!user_ref.present() || user_ref.str().empty())
        return a; // no user: anonymous
    const KeyNode user = named_entry(root, "users", "user", user_ref.str(), user_ref.path());
    for (const char* plugin : {"exec", "auth-provider"})
        if (user.child(plugin).present())
            throw KubeconfigFailure{user.child(plugin).path() +
                                    ": credential plugins are not supported: expected token, tokenFile or "
                                    "client-certificate and client-key"};
    if (user.child("username").present() || user.child("password").present())
        throw KubeconfigFailure{user.path() + ": basic authentication (username/password) is not supported: expected "
                                            "token, tokenFile or client-certificate and client-key"};
    a.token = user.child("token").str_or("");
    if (a.token.empty())
        a.token_file = resolve_path(user.child("tokenFile").str_or(""), base_dir);
    a.client_cert_pem = data_or_file(user, "client-certificate", base_dir);
    a.client_key_pem = data_or_file(user, "client-key", base_dir);
    if (a.client_cert_pem.empty() != a.client_key_pem.empty())
        throw KubeconfigFailure{user.path() + ": " +
                                (a.client_cert_pem.empty() ? "client-key without client-certificate"
                                                           : "client-certificate without client-key") +
                                ": expected both or neither"};
    return a;
}

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

} // namespace

std::optional<std::string> base64_decode(std::string_view text) {
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    size_t symbols = 0, padding = 0;
    for (char c : text) {
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '=') {
            ++padding;
            continue;
        }
        const int v = base64_value(c);
        if (v < 0 || padding > 0) // data after padding
            return std::nullopt;
        ++symbols;
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    if (symbols % 4 == 1 || padding > 2 || (padding > 0 && (symbols + padding) % 4 != 0))
        return std::nullopt;
    return out;
}

Result<std::string> read_text_file(const std::string& path, const std::string& what) {
    auto text = read_file(path);
    if (!text)
        return make_error(what + ": " + text.error().message);
    return text;
}

Result<KubeAccess> parse_kubeconfig(const std::string& text, const std::string& path, const std::string& base_dir) {
    try {
        KubeAccess a = read_kubeconfig(YAML::Load(text), base_dir);
        a.origin = "kubeconfig " + path + " " + a.origin;
        return a;
    } catch (const KubeconfigFailure& f) {
        return make_error("kubeconfig " + path + ": " + f.text);
    } catch (const YAML::Exception& e) {
        return make_error("kubeconfig " + path + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
}

Result<KubeAccess> load_kubeconfig(const std::string& path) {
    auto text = read_text_file(path, "source.kubernetes.kubeconfig");
    if (!text)
        return text.error();
    return parse_kubeconfig(*text, path, std::filesystem::path(path).parent_path().string());
}

Result<KubeAccess> in_cluster_access(const KubernetesSourceConfig& cfg,
                                     const std::function<std::optional<std::string>(const std::string&)>& getenv) {
    KubeAccess a;
    a.origin = "in-cluster settings (token_file " + cfg.token_file + ", ca_file " + cfg.ca_file + ")";
    if (cfg.server.empty()) {
        const auto host = getenv("KUBERNETES_SERVICE_HOST");
        const auto port = getenv("KUBERNETES_SERVICE_PORT");
        if (!host || host->empty() || !port || port->empty())
            return make_error("source.kubernetes: no kubeconfig, and KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT "
                              "are not set (not running in a pod): set source.kubernetes.kubeconfig or server");
        const bool v6 = host->find(':') != std::string::npos;
        a.server = "https://" + (v6 ? "[" + *host + "]" : *host) + ":" + *port;
    }
    a.token_file = cfg.token_file;
    if (auto token = read_text_file(cfg.token_file, "source.kubernetes.token_file"); !token)
        return token.error();
    auto ca = read_text_file(cfg.ca_file, "source.kubernetes.ca_file");
    if (!ca)
        return ca.error();
    a.ca_pem = std::move(*ca);
    return a;
}

Result<KubeAccess> resolve_kube_access(const KubernetesSourceConfig& cfg) {
    auto access = cfg.kubeconfig.empty()
                      ? in_cluster_access(cfg, [](const std::string& name) -> std::optional<std::string> {
                            const char* v = std::getenv(name.c_str());
                            return v ? std::optional<std::string>(v) : std::nullopt;
                        })
                      : load_kubeconfig(cfg.kubeconfig);
    if (!access)
        return access;
    if (!cfg.server.empty())
        access->server = cfg.server;
    return access;
}

} // namespace podlane
