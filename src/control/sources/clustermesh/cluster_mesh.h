// Cluster Mesh at run time: one thread per remote cluster reads that
// cluster's etcd (its cluster config first, then every key under cilium/,
// then a watch), and hands the decoded state (mesh_state.h) to the agent on
// the control thread; one thread writes this node's share of this cluster's
// state (its node, pods, identities, global services, sync canaries) to the
// cluster's own etcd under a lease. A remote etcd that goes away leaves its
// last state with the agent (nothing is sent) and is retried with back-off;
// back, it is listed again and the watch resumes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/config/config.h"
#include "control/sources/clustermesh/mesh_state.h"

namespace boost::asio {
class io_context;
}

namespace podlane {

/// One remote cluster as `podlane clustermesh status` shows it.
struct MeshRemoteStatus {
    std::string name;
    std::string endpoint;      ///< the etcd endpoints configured
    bool connected = false;    ///< its etcd answers and its cluster config is valid
    bool ready = false;        ///< connected and every prefix synced
    uint32_t cluster_id = 0;   ///< from its cluster config
    bool synced_nodes = false, synced_services = false, synced_ipcache = false, synced_identities = false;
    size_t nodes = 0, endpoints = 0, identities = 0, services = 0;
    uint64_t refused = 0;      ///< ipcache entries refused: identity outside the cluster's range (last listing)
    uint64_t reconnects = 0;
    uint64_t updates = 0;      ///< states handed to the agent
    std::string last_error;    ///< why it is not connected, or a value it holds that does not decode; cleared on connecting
};

/// The export to this cluster's etcd.
struct MeshExportStatus {
    bool enabled = false;
    bool connected = false;
    size_t keys = 0;           ///< keys this node keeps written
    std::string last_error;
};

class ClusterMesh {
public:
    using Sink = std::function<void(MeshClusterState)>;
    explicit ClusterMesh(Config config);
    ~ClusterMesh();
    ClusterMesh(const ClusterMesh&) = delete;
    ClusterMesh& operator=(const ClusterMesh&) = delete;

    /// Starts a thread per remote cluster (and the exporter); `sink` runs on `io`.
    Result<void> start(boost::asio::io_context& io, Sink sink);
    /// Stops every thread; no sink call after it returns. Idempotent.
    void stop();
    std::vector<MeshRemoteStatus> status() const;
    MeshExportStatus export_status() const;
    /// What this node keeps written in this cluster's etcd (key -> value),
    /// under its lease; keys it wrote before and not named now are deleted.
    void set_export(std::map<std::string, std::string> kvs);

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

} // namespace podlane
