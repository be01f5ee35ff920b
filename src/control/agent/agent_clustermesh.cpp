// The agent's Cluster Mesh side (docs/clustermesh.md): remote clusters'
// nodes and pods join the cluster state under "<cluster>/" names, their
// global services' backends merge into the local global services, and this
// node's share of its cluster's state is handed to the exporter.
#include "control/agent/agent.h"

#include <algorithm>
#include <ctime>

#include "control/sources/clustermesh/mesh_kvstore.h"
#include "control/tables/identity.h"

namespace podlane {

namespace {

bool owned_by(const std::string& name, const std::string& cluster) { return name.rfind(cluster + "/", 0) == 0; }

std::string rfc3339_now() {
    char buf[32];
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

} // namespace

void Agent::attach_mesh(ClusterMesh* mesh) { mesh_ = mesh; }

void Agent::apply_mesh(MeshClusterState st) {
    MeshClusterState& kept = mesh_states_[st.cluster];
    kept.cluster = st.cluster;
    ClusterDelta d;
    d.received = std::chrono::steady_clock::now();
    // A prefix is used only once the remote cluster says it is listed
    // completely (its sync canary): a restart never removes what it has not
    // listed yet, and a global service never loses its remote backends briefly.
    if (st.nodes_synced) {
        for (const PeerNodeConfig& n : config_.nodes)
            if (owned_by(n.name, st.cluster) &&
                std::none_of(st.nodes.begin(), st.nodes.end(), [&](const PeerNodeConfig& m) { return m.name == n.name; }))
                d.delete_nodes.push_back(n.name);
        d.upsert_nodes = st.nodes;
        kept.nodes = std::move(st.nodes);
        kept.nodes_synced = true;
    }
    if (st.ipcache_synced && st.identities_synced) {
        for (const RemoteEndpointConfig& e : config_.remote_endpoints)
            if (owned_by(e.name, st.cluster) &&
                std::none_of(st.endpoints.begin(), st.endpoints.end(),
                             [&](const RemoteEndpointConfig& m) { return m.name == e.name; }))
                d.delete_endpoints.push_back(e.name);
        d.upsert_endpoints = st.endpoints;
        kept.endpoints = std::move(st.endpoints);
        kept.ipcache_synced = kept.identities_synced = true;
        kept.identities = st.identities;
        kept.refused = st.refused;
    }
    bool services_changed = false;
    if (st.services_synced) {
        kept.services = std::move(st.services);
        kept.services_synced = true;
        const auto changed = refresh_mesh_backends();
        changed_services_.insert(changed_services_.end(), changed.begin(), changed.end());
        services_changed = !changed.empty();
    }
    ++source_deltas_;
    const bool dirty = absorb(d).second;
    if (services_changed && !dirty) {
        ++state_updates_;
        unpublished_.push_back(d.received);
    }
    flush_updates();
}

std::vector<std::string> Agent::refresh_mesh_backends() {
    // The remote clusters' backends by service name, once (not per service).
    std::map<std::string, MeshBackends> remote;
    for (const auto& [cluster, st] : mesh_states_)
        for (const MeshRemoteService& r : st.services)
            if (r.shared) // shared: "false" keeps a cluster's backends at home
                for (const BackendConfig& b : r.backends)
                    remote[r.name].list.push_back(MeshBackend{cluster, b});
    std::vector<std::string> changed;
    for (ServiceConfig& s : config_.services) {
        MeshBackends next;
        if (s.global)
            if (auto it = remote.find(s.name); it != remote.end())
                next = it->second;
        if (!s.mesh.same_as(next)) {
            s.mesh = std::move(next);
            changed.push_back(s.name);
        }
    }
    return changed;
}

std::map<std::string, std::string> Agent::mesh_export() const {
    std::map<std::string, std::string> out;
    const ClusterInfoConfig& c = config_.cluster;
    out[mesh::cluster_config_key(c.name)] =
        mesh::encode_cluster_config({c.id, true, c.max_connected_clusters});
    if (!config_.node_ip.is_zero()) {
        mesh::Node n{config_.node_name, c.name, c.id, config_.node_ip, {config_.network.pod_cidr}};
        out[mesh::node_key(c.name, config_.node_name)] = mesh::encode_node(n);
    }
    for (const auto& [id, rec] : endpoints_) {
        const uint32_t identity = identity_for_labels(rec.spec.labels, c.id, c.max_connected_clusters);
        const size_t slash = rec.spec.id.find('/');
        mesh::IpIdentity p{rec.spec.ip, 32, config_.node_ip, identity,
                           slash == std::string::npos ? "" : rec.spec.id.substr(0, slash),
                           slash == std::string::npos ? rec.spec.id : rec.spec.id.substr(slash + 1)};
        out[mesh::ip_key(rec.spec.ip)] = mesh::encode_ip_identity(p);
        out[mesh::identity_key(identity)] = mesh::encode_identity_labels(rec.spec.labels);
    }
    for (const ServiceConfig& s : config_.services)
        if (s.global) {
            const mesh::ClusterService cs = mesh::cluster_service(s, c.name, c.id);
            out[mesh::service_key(c.name, cs.ns, cs.name)] = mesh::encode_service(cs);
        }
    // Everything above is written before the canaries (the exporter's order).
    static const std::string since = rfc3339_now();
    for (const char* prefix : mesh::kSyncedPrefixes)
        out[mesh::synced_key(c.name, prefix)] = since;
    return out;
}

void Agent::mesh_tick() {
    if (mesh_ == nullptr || config_.clustermesh.export_to.endpoints.empty())
        return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_mesh_export_ < std::chrono::milliseconds(200))
        return;
    last_mesh_export_ = now;
    mesh_->set_export(mesh_export());
}

Json Agent::mesh_json() const {
    if (!config_.clustermesh.enabled())
        return Json{{"enabled", false}};
    const auto remotes = mesh_ ? mesh_->status() : std::vector<MeshRemoteStatus>{};
    size_t ready = 0;
    for (const MeshRemoteStatus& r : remotes)
        ready += r.ready;
    size_t global = 0;
    for (const ServiceConfig& s : config_.services)
        global += s.global;
    return Json{{"enabled", true},
                {"cluster", config_.cluster.name},
                {"cluster_id", config_.cluster.id},
                {"remote_clusters", remotes.size()},
                {"ready", ready},
                {"global_services", global}};
}

Result<Json> Agent::clustermesh_status() {
    if (!config_.clustermesh.enabled())
        return make_error("Cluster Mesh is off: no clustermesh section in the config (docs/clustermesh.md)");
    Json clusters = Json::array();
    for (const MeshRemoteStatus& r : mesh_ ? mesh_->status() : std::vector<MeshRemoteStatus>{}) {
        clusters.push_back(Json{{"name", r.name},
                                {"endpoint", r.endpoint},
                                {"connected", r.connected},
                                {"ready", r.ready},
                                {"cluster_id", r.cluster_id},
                                {"synced", {{"nodes", r.synced_nodes}, {"services", r.synced_services},
                                            {"ipcache", r.synced_ipcache}, {"identities", r.synced_identities}}},
                                {"nodes", r.nodes},
                                {"endpoints", r.endpoints},
                                {"identities", r.identities},
                                {"services", r.services},
                                {"refused_ipcache_entries", r.refused},
                                {"reconnects", r.reconnects},
                                {"updates", r.updates},
                                {"last_error", r.last_error}});
    }
    Json out = mesh_json();
    out["clusters"] = clusters;
    if (mesh_) {
        const MeshExportStatus e = mesh_->export_status();
        out["export"] = Json{{"enabled", e.enabled}, {"connected", e.connected}, {"keys", e.keys}, {"last_error", e.last_error}};
    }
    return out;
}

} // namespace podlane
