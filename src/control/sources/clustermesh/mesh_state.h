// A remote cluster's state as podlane uses it, decoded from the keys of its
// etcd (mesh_kvstore.h): its nodes (routes/tunnels to their PodCIDRs), its
// pods with their identities (the ipcache), and its global services. A pure
// function of the keys, so that it is tested without an etcd.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "control/config/config.h"
#include "control/sources/clustermesh/mesh_kvstore.h"

namespace podlane {

/// A remote cluster's global service: "namespace/name" and its backends.
struct MeshRemoteService {
    std::string name;
    bool shared = true;
    std::vector<BackendConfig> backends;
};

struct MeshClusterState {
    std::string cluster;
    /// Which prefixes the remote cluster has marked synced (sync canaries,
    /// or all of them when it does not write canaries). Only synced ones are used.
    bool nodes_synced = false, services_synced = false, ipcache_synced = false, identities_synced = false;
    std::vector<PeerNodeConfig> nodes;            ///< named "<cluster>/<node>"
    std::vector<RemoteEndpointConfig> endpoints;  ///< named "<cluster>/<node>/<ip>"
    std::vector<MeshRemoteService> services;      ///< by name
    size_t identities = 0;                        ///< identities the remote cluster lists
    uint64_t refused = 0;                         ///< ipcache entries whose identity lies outside the cluster's range
    std::vector<std::string> errors;              ///< "<key>: <why>" for values that do not decode
    bool ready() const { return nodes_synced && services_synced && ipcache_synced && identities_synced; }
};

/// Decodes the keys (key -> value) read from remote cluster `cluster`'s etcd,
/// whose cluster config is `config`; `max_connected_clusters` is this
/// cluster's (the identity layout both sides must share).
MeshClusterState decode_mesh_state(const std::string& cluster, const mesh::ClusterConfig& config,
                                   uint32_t max_connected_clusters, const std::map<std::string, std::string>& kvs);

/// Why a remote cluster config cannot be used ("" if it can): no id, an id
/// out of range, this cluster's own id, or another max_connected_clusters.
std::string check_remote_config(const mesh::ClusterConfig& remote, const ClusterInfoConfig& local);

} // namespace podlane
