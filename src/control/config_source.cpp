// The loader's source section (docs/config.md "Sources"): where podlaned
// learns nodes, PodCIDRs, services and endpoints at run time.
#include "control/config_reader.h"

namespace podlane::config_detail {

namespace {

/// An etcd client URL: http://host:port (https is not supported yet).
std::string as_etcd_url(const Field& f) {
    const std::string s = as_nonempty(f);
    const std::string scheme = "http://";
    if (s.rfind(scheme, 0) != 0 || s.size() == scheme.size() || s.find('/', scheme.size()) != std::string::npos)
        invalid(f, "an etcd client URL like http://127.0.0.1:2379");
    return s;
}

} // namespace

void read_source(const Mapping& top, SourceConfig& s) {
    const Mapping m = top.section("source", {"kind", "file", "etcd", "kubernetes"});
    m.read("kind", s.kind, [](const Field& f) {
        return as_enum<SourceKind>(f, {{"file", SourceKind::File}, {"etcd", SourceKind::Etcd},
                                       {"kubernetes", SourceKind::Kubernetes}});
    });
    const Mapping file = m.section("file", {"watch", "poll_ms"});
    file.read("watch", s.file_watch, as_bool);
    file.read("poll_ms", s.file_poll_ms, as_uint<uint32_t>(50, 60000));

    const Mapping etcd = m.section("etcd", {"endpoints", "prefix", "dial_timeout_ms", "lease_ttl_s"});
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
