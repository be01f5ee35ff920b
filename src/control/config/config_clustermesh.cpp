// The loader's cluster, max_connected_clusters and clustermesh sections
// (docs/config.md "cluster, clustermesh"). Names and ids follow Cilium's
// rules (pkg/clustermesh/types: ValidateClusterID, and the cluster name
// check of Cilium's ClusterInfo.Validate).
#include "control/config/config_reader.h"

#include <cctype>

namespace podlane::config_detail {

namespace {

bool alnum(char ch) { return std::islower(static_cast<unsigned char>(ch)) || std::isdigit(static_cast<unsigned char>(ch)); }

/// 1..32 characters of [a-z0-9-], starting and ending alphanumeric.
std::string as_cluster_name(const Field& f) {
    const std::string s = f.node.IsScalar() ? f.node.Scalar() : std::string();
    bool ok = !s.empty() && s.size() <= 32 && alnum(s.front()) && alnum(s.back());
    for (char ch : s)
        ok = ok && (alnum(ch) || ch == '-');
    if (!ok)
        invalid(f, "a cluster name of 1..32 characters [a-z0-9-], starting and ending with a letter or digit, like west");
    return s;
}

std::vector<std::string> read_endpoints(const Mapping& m) {
    std::vector<std::string> out;
    const Field list = m.require("endpoints", "etcd client URLs, like [http://192.168.50.3:2379]");
    for (const Field& f : items(list, "a list of etcd client URLs, like [http://192.168.50.3:2379]"))
        out.push_back(as_etcd_url(f));
    if (out.empty())
        invalid(list, "at least one etcd client URL, like [http://192.168.50.3:2379]");
    return out;
}

template <typename T>
void read_tls(const Mapping& m, T& t) {
    m.read("ca_file", t.ca_file, as_readable_file);
    const bool cert = m.read("cert_file", t.cert_file, as_readable_file);
    const bool key = m.read("key_file", t.key_file, as_readable_file);
    if (cert != key)
        invalid(*m.get(cert ? "cert_file" : "key_file"),
                std::string("cert_file and key_file together (") + (cert ? "key_file" : "cert_file") + " is missing)");
}

} // namespace

void read_clustermesh(const Mapping& top, Config& c) {
    top.read("max_connected_clusters", c.cluster.max_connected_clusters, [](const Field& f) {
        const auto v = as_uint<uint32_t>(255, 511)(f);
        if (v != 255 && v != 511)
            invalid(f, "255 or 511");
        return v;
    });
    const uint32_t max_id = c.cluster.max_connected_clusters;
    const Mapping cluster = top.section("cluster", {"name", "id"});
    cluster.read("name", c.cluster.name, as_cluster_name);
    cluster.read("id", c.cluster.id, as_uint<uint32_t>(0, max_id));

    const Mapping mesh = top.section("clustermesh", {"export", "clusters"});
    if (auto f = mesh.get("export")) {
        const Mapping ex(*f, {"endpoints", "ca_file", "cert_file", "key_file", "lease_ttl_s"});
        c.clustermesh.export_to.endpoints = read_endpoints(ex);
        read_tls(ex, c.clustermesh.export_to);
        ex.read("lease_ttl_s", c.clustermesh.export_to.lease_ttl_s, as_uint<uint32_t>(5, 3600));
    }
    if (auto list = mesh.get("clusters"))
        for (const Field& item : items(*list, "a list of remote clusters, like [{name: east, endpoints: [http://192.168.50.3:2379]}]")) {
            const Mapping m(item, {"name", "endpoints", "ca_file", "cert_file", "key_file"});
            MeshClusterConfig rc;
            const Field name = m.require("name", "the remote cluster's name, like east");
            rc.name = as_cluster_name(name);
            if (rc.name == c.cluster.name)
                invalid(name, "a name other than this cluster's own (cluster.name is " + quote(c.cluster.name) + ")");
            for (const MeshClusterConfig& before : c.clustermesh.clusters)
                if (before.name == rc.name)
                    invalid(name, "a remote cluster not listed twice");
            rc.endpoints = read_endpoints(m);
            read_tls(m, rc);
            c.clustermesh.clusters.push_back(std::move(rc));
        }
    if (c.clustermesh.enabled() && c.cluster.id == 0) {
        if (auto id = cluster.get("id"))
            invalid(*id, "a cluster id in 1.." + std::to_string(max_id) + " with clustermesh (0 means no mesh)");
        fail_at(top.get("clustermesh")->node, "cluster.id",
                "required key is missing: expected a cluster id in 1.." + std::to_string(max_id) + " with clustermesh");
    }
    if (c.clustermesh.enabled() && !cluster.get("name"))
        fail_at(top.get("clustermesh")->node, "cluster.name",
                "required key is missing: expected this cluster's name, like west, with clustermesh");
}

} // namespace podlane::config_detail
