// Cluster Mesh configuration: this cluster's name and id (Cilium's
// --cluster-name / --cluster-id / --max-connected-clusters), the remote
// clusters whose etcd podlaned reads, and the etcd this cluster exports to.
// Loaded by config_clustermesh.cpp; documented in docs/config.md
// ("cluster, clustermesh") and docs/clustermesh.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace podlane {

/// This cluster (Cilium's cluster.name / cluster.id).
struct ClusterInfoConfig {
    std::string name = "default";         ///< 1..32 of [a-z0-9-], alphanumeric at both ends
    uint32_t id = 0;                      ///< 0: no mesh; 1..255, or 1..511 with max_connected_clusters 511
    uint32_t max_connected_clusters = 255; ///< 255 or 511: how many bits of an identity are the cluster id
};

/// A remote cluster: its name (as its own config says) and its etcd.
struct MeshClusterConfig {
    std::string name;
    std::vector<std::string> endpoints; ///< etcd client URLs (http:// or https://)
    std::string ca_file;                ///< https: PEM CA(s) signing that etcd's certificate
    std::string cert_file;              ///< https with --client-cert-auth: this client's certificate
    std::string key_file;               ///< and its key
};

/// Where this cluster's own state goes (its clustermesh-apiserver's etcd).
struct MeshExportConfig {
    std::vector<std::string> endpoints; ///< empty: no export
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    uint32_t lease_ttl_s = 15;          ///< TTL of the exported keys' lease
};

struct ClusterMeshConfig {
    MeshExportConfig export_to;               ///< the `export:` key
    std::vector<MeshClusterConfig> clusters;  ///< remote clusters
    bool enabled() const { return !clusters.empty() || !export_to.endpoints.empty(); }
};

/// service.cilium.io/affinity: which backends of a global service are preferred.
enum class MeshAffinity : uint8_t { None, Local, Remote };

inline const char* mesh_affinity_name(MeshAffinity a) {
    return a == MeshAffinity::Local ? "local" : a == MeshAffinity::Remote ? "remote" : "none";
}

} // namespace podlane
