#include "control/kubeconfig.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "control/etcd_client.h" // base64_decode

namespace podlane {

namespace {

Result<std::string> read_all(const std::string& path, const std::string& what) {
    std::ifstream f(path, std::ios::binary);
    if (!f)
        return make_error(what + " " + path + ": cannot read");
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

/// The entry of `list` (clusters, users, contexts) named `name`, its `field` member.
YAML::Node named(const YAML::Node& list, const std::string& name, const char* field) {
    if (list.IsSequence())
        for (const auto& item : list)
            if (item["name"] && item["name"].as<std::string>() == name)
                return item[field];
    return YAML::Node();
}

/// `key`'s -data (base64) or file form, "" if neither.
Result<std::string> data_or_file(const YAML::Node& n, const std::string& key, const std::string& where) {
    if (n[key + "-data"]) {
        auto d = base64_decode(n[key + "-data"].as<std::string>());
        if (!d)
            return make_error(where + "." + key + "-data: not base64");
        return *d;
    }
    if (n[key])
        return read_all(n[key].as<std::string>(), where + "." + key);
    return std::string();
}

Result<KubeAccess> from_kubeconfig(const std::string& path) {
    auto text = read_all(path, "kubernetes.kubeconfig");
    if (!text)
        return text.error();
    try {
        const YAML::Node root = YAML::Load(*text);
        const std::string context = root["current-context"] ? root["current-context"].as<std::string>() : "";
        const YAML::Node ctx = named(root["contexts"], context, "context");
        if (!ctx.IsMap())
            return make_error(path + ": current-context \"" + context + "\" is not among its contexts");
        const std::string cluster_name = ctx["cluster"] ? ctx["cluster"].as<std::string>() : "";
        const std::string user_name = ctx["user"] ? ctx["user"].as<std::string>() : "";
        const YAML::Node cluster = named(root["clusters"], cluster_name, "cluster");
        if (!cluster.IsMap() || !cluster["server"])
            return make_error(path + ": cluster \"" + cluster_name + "\" has no server");
        KubeAccess a;
        a.source = path;
        a.server = cluster["server"].as<std::string>();
        a.tls.insecure = cluster["insecure-skip-tls-verify"] && cluster["insecure-skip-tls-verify"].as<bool>();
        auto ca = data_or_file(cluster, "certificate-authority", path + ": clusters[" + cluster_name + "]");
        if (!ca)
            return ca.error();
        a.tls.ca_pem = *ca;
        const YAML::Node user = named(root["users"], user_name, "user");
        if (user.IsMap()) {
            if (user["token"])
                a.token = user["token"].as<std::string>();
            else if (user["tokenFile"]) {
                auto t = read_all(user["tokenFile"].as<std::string>(), path + ": users[" + user_name + "].tokenFile");
                if (!t)
                    return t.error();
                a.token = *t;
            }
            const std::string where = path + ": users[" + user_name + "]";
            auto cert = data_or_file(user, "client-certificate", where);
            auto key = data_or_file(user, "client-key", where);
            if (!cert)
                return cert.error();
            if (!key)
                return key.error();
            a.tls.client_cert_pem = *cert;
            a.tls.client_key_pem = *key;
        }
        return a;
    } catch (const YAML::Exception& e) {
        return make_error(path + ": not a kubeconfig: " + e.what());
    }
}

} // namespace

Result<KubeAccess> kube_access(const KubernetesSourceConfig& c) {
    KubeAccess a;
    if (!c.kubeconfig.empty()) {
        auto k = from_kubeconfig(c.kubeconfig);
        if (!k)
            return k.error();
        a = std::move(*k);
    } else {
        const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
        const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
        if ((!host || !port) && c.server.empty())
            return make_error("source kubernetes: no kubernetes.kubeconfig, and not in a cluster "
                              "(KUBERNETES_SERVICE_HOST/_PORT unset)");
        if (host && port)
            a.server = "https://" + std::string(host) + ":" + port;
        a.source = "in-cluster";
        auto token = read_all(c.token_file, "kubernetes.token_file");
        if (!token)
            return token.error();
        a.token = *token;
        auto ca = read_all(c.ca_file, "kubernetes.ca_file");
        if (!ca)
            return ca.error();
        a.tls.ca_pem = *ca;
    }
    while (!a.token.empty() && (a.token.back() == '\n' || a.token.back() == '\r' || a.token.back() == ' '))
        a.token.pop_back();
    if (!c.server.empty())
        a.server = c.server;
    if (auto u = parse_http_url(a.server); !u)
        return make_error("kubernetes server: " + u.error().message);
    return a;
}

} // namespace podlane
