// The loader's source section (docs/config.md "Sources"): where podlaned
// learns nodes, PodCIDRs, services and endpoints at run time.
#include "control/config/config_reader.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace podlane::config_detail {

/// An etcd client URL: http://host:port or https://host:port.
std::string as_etcd_url(const Field& f) {
    const std::string s = as_nonempty(f);
    const size_t scheme = s.rfind("https://", 0) == 0 ? 8 : s.rfind("http://", 0) == 0 ? 7 : 0;
    if (scheme == 0 || s.size() == scheme || s.find('/', scheme) != std::string::npos)
        invalid(f, "an etcd client URL like http://127.0.0.1:2379 or https://127.0.0.1:2379");
    return s;
}

/// A readable file named by an absolute path.
std::string as_readable_file(const Field& f) {
    const std::string s = as_nonempty(f);
    if (s[0] != '/')
        invalid(f, "an absolute path to a PEM file");
    if (::access(s.c_str(), R_OK) != 0)
        invalid(f, "a readable PEM file (" + std::string(std::strerror(errno)) + ")");
    return s;
}

void read_source(const Mapping& top, SourceConfig& s) {
    const Mapping m = top.section("source", {"kind", "file", "etcd", "kubernetes"});
    m.read("kind", s.kind, [](const Field& f) {
        return as_enum<SourceKind>(f, {{"file", SourceKind::File}, {"etcd", SourceKind::Etcd},
                                       {"kubernetes", SourceKind::Kubernetes}});
    });
    const Mapping file = m.section("file", {"watch", "poll_ms"});
    file.read("watch", s.file_watch, as_bool);
    file.read("poll_ms", s.file_poll_ms, as_uint<uint32_t>(50, 60000));

    const Mapping etcd =
        m.section("etcd", {"endpoints", "prefix", "dial_timeout_ms", "lease_ttl_s", "ca_file", "cert_file", "key_file"});
    if (auto list = etcd.get("endpoints")) {
        s.etcd.endpoints.clear();
        for (const Field& f : items(*list, "a list of etcd client URLs, like [http://127.0.0.1:2379]"))
            s.etcd.endpoints.push_back(as_etcd_url(f));
        if (s.etcd.endpoints.empty())
            invalid(*list, "at least one etcd client URL, like [http://127.0.0.1:2379]");
    }
    if (etcd.read("prefix", s.etcd.prefix, as_nonempty) && s.etcd.prefix.back() != '/')
        s.etcd.prefix += '/';
    etcd.read("dial_timeout_ms", s.etcd.dial_timeout_ms, as_uint<uint32_t>(100, 60000));
    etcd.read("lease_ttl_s", s.etcd.lease_ttl_s, as_uint<uint32_t>(5, 3600));
    etcd.read("ca_file", s.etcd.ca_file, as_readable_file);
    const bool cert = etcd.read("cert_file", s.etcd.cert_file, as_readable_file);
    const bool key = etcd.read("key_file", s.etcd.key_file, as_readable_file);
    if (cert != key)
        invalid(*etcd.get(cert ? "cert_file" : "key_file"), std::string("etcd.cert_file and etcd.key_file together (") +
                                                                 (cert ? "key_file" : "cert_file") + " is missing)");

    const Mapping k8s = m.section("kubernetes", {"kubeconfig", "server", "token_file", "ca_file", "timeout_ms"});
    k8s.read("kubeconfig", s.kubernetes.kubeconfig, as_nonempty);
    // The API is reached over HTTPS only (the insecure port is gone since Kubernetes 1.20).
    const std::string https = "https://";
    if (k8s.read("server", s.kubernetes.server, as_nonempty) &&
        (s.kubernetes.server.rfind(https, 0) != 0 || s.kubernetes.server.size() == https.size()))
        invalid(*k8s.get("server"), "an https:// API server URL like https://127.0.0.1:6443");
    k8s.read("token_file", s.kubernetes.token_file, as_nonempty);
    k8s.read("ca_file", s.kubernetes.ca_file, as_nonempty);
    k8s.read("timeout_ms", s.kubernetes.timeout_ms, as_uint<uint32_t>(100, 600000));
}

} // namespace podlane::config_detail
