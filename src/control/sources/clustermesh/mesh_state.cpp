#include "control/sources/clustermesh/mesh_state.h"

#include "control/tables/identity.h"

namespace podlane {

namespace {

bool starts(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

} // namespace

std::string check_remote_config(const mesh::ClusterConfig& remote, const ClusterInfoConfig& local) {
    const uint32_t remote_max = remote.max_connected_clusters == 0 ? 255 : remote.max_connected_clusters;
    if (remote.id == 0)
        return "remote cluster has no cluster id (cluster id 0 is reserved)";
    if (remote_max != local.max_connected_clusters)
        return "remote cluster has max_connected_clusters " + std::to_string(remote_max) + ", this cluster " +
               std::to_string(local.max_connected_clusters);
    if (remote.id > remote_max)
        return "remote cluster id " + std::to_string(remote.id) + " is out of range (1.." + std::to_string(remote_max) + ")";
    if (remote.id == local.id)
        return "remote cluster has this cluster's own id " + std::to_string(local.id);
    return "";
}

MeshClusterState decode_mesh_state(const std::string& cluster, const mesh::ClusterConfig& config,
                                   uint32_t max_connected_clusters, const std::map<std::string, std::string>& kvs) {
    MeshClusterState st;
    st.cluster = cluster;
    auto synced = [&](const char* prefix) {
        return !config.synced_canaries || kvs.count(mesh::synced_key(cluster, prefix)) > 0;
    };
    st.nodes_synced = synced(mesh::kNodesPrefix);
    st.services_synced = synced(mesh::kServicesPrefix);
    st.ipcache_synced = synced(mesh::kIpPrefix);
    st.identities_synced = synced(mesh::kIdentitiesPrefix);

    const std::string nodes = std::string(mesh::kNodesPrefix) + "/" + cluster + "/";
    const std::string services = std::string(mesh::kServicesPrefix) + "/" + cluster + "/";
    const std::string ips = std::string(mesh::kIpPrefix) + "/default/";
    const std::string ids = std::string(mesh::kIdentitiesPrefix) + "/id/";
    std::map<uint32_t, std::map<std::string, std::string>> identities;
    std::map<uint32_t, std::string> node_by_ip; // host IP -> "<cluster>/<node>"
    for (const auto& [key, value] : kvs) {
        if (starts(key, nodes)) {
            auto n = mesh::decode_node(value);
            if (!n) {
                st.errors.push_back(key + ": " + n.error().message);
                continue;
            }
            if (n->cluster != cluster || key != nodes + n->name) {
                st.errors.push_back(key + ": node " + n->cluster + "/" + n->name + " does not match its key");
                continue;
            }
            PeerNodeConfig p;
            p.name = cluster + "/" + n->name;
            p.ip = n->ip;
            p.pod_cidrs = n->pod_cidrs;
            node_by_ip[p.ip.host()] = p.name;
            st.nodes.push_back(std::move(p));
        } else if (starts(key, services)) {
            auto s = mesh::decode_service(value);
            if (!s) {
                st.errors.push_back(key + ": " + s.error().message);
                continue;
            }
            if (s->cluster != cluster || key != services + s->ns + "/" + s->name) {
                st.errors.push_back(key + ": service " + s->cluster + "/" + s->ns + "/" + s->name +
                                    " does not match its key");
                continue;
            }
            MeshRemoteService r{s->ns + "/" + s->name, s->shared, {}};
            for (const auto& [ip, ports] : s->backends)
                r.backends.push_back(BackendConfig{*Ipv4Addr::parse(ip), "", BackendState::Active, 1});
            st.services.push_back(std::move(r));
        } else if (starts(key, ids)) {
            const std::string id_text = key.substr(ids.size());
            uint32_t id = 0;
            try {
                id = static_cast<uint32_t>(std::stoul(id_text));
            } catch (const std::exception&) {
                st.errors.push_back(key + ": not a numeric identity");
                continue;
            }
            auto labels = mesh::decode_identity_labels(value);
            if (!labels) {
                st.errors.push_back(key + ": " + labels.error().message);
                continue;
            }
            identities[id] = std::move(*labels);
        }
    }
    st.identities = identities.size();
    for (const auto& [key, value] : kvs) {
        if (!starts(key, ips))
            continue;
        auto p = mesh::decode_ip_identity(value);
        if (!p) {
            st.errors.push_back(key + ": " + p.error().message);
            continue;
        }
        if (p->mask_len != 32 || p->host_ip.is_zero())
            continue; // CIDR entries and entries without a node: not a remote pod
        if (!identity_in_cluster_range(p->id, config.id, max_connected_clusters)) {
            ++st.refused;
            st.errors.push_back(key + ": identity " + std::to_string(p->id) + " lies outside cluster " + cluster +
                                "'s range");
            continue;
        }
        RemoteEndpointConfig e;
        auto node = node_by_ip.find(p->host_ip.host());
        e.node = node != node_by_ip.end() ? node->second : cluster + "/" + p->host_ip.str();
        e.ip = p->ip;
        e.name = e.node + "/" + e.ip.str();
        e.identity = p->id;
        if (auto labels = identities.find(p->id); labels != identities.end())
            e.labels = labels->second;
        st.endpoints.push_back(std::move(e));
    }
    return st;
}

} // namespace podlane
