// `podlane clustermesh status`, `service list --clustermesh-affinity` and the
// ClusterMesh line of `podlane status` (docs/clustermesh.md).
#include "cli/format.h"

namespace podlane {

namespace {

const Json& array_of(const Json& v) {
    static const Json empty = Json::array();
    return v.is_array() ? v : empty;
}

std::string str(const Json& v) {
    if (v.is_string())
        return v.get<std::string>();
    if (v.is_null())
        return "-";
    return v.dump();
}

} // namespace

std::string clustermesh_status_line(const Json& mesh) {
    if (!mesh.is_object() || !mesh.value("enabled", false))
        return "disabled";
    return str(mesh.value("ready", Json(0))) + "/" + str(mesh.value("remote_clusters", Json(0))) +
           " remote clusters ready, " + str(mesh.value("global_services", Json(0))) + " global-services";
}

std::string format_clustermesh_status(const Json& data) {
    std::string out = "ClusterMesh: " + clustermesh_status_line(data) + "\n";
    out += "This cluster: " + str(data.value("cluster", Json())) + " (id " + str(data.value("cluster_id", Json())) + ")\n";
    const Json clusters = array_of(data.value("clusters", Json()));
    for (const Json& c : clusters) {
        const bool connected = c.value("connected", false);
        const bool ready = c.value("ready", false);
        out += str(c["name"]) + ": " + (ready ? "ready" : connected ? "not ready" : "disconnected") + ", " +
               str(c["nodes"]) + " nodes, " + str(c["endpoints"]) + " endpoints, " + str(c["identities"]) +
               " identities, " + str(c["services"]) + " services, " + str(c["reconnects"]) + " reconnections\n";
        out += "└ etcd: " + str(c["endpoint"]) + (connected ? " connected" : " not connected") + ", cluster-id=" +
               str(c["cluster_id"]) + "\n";
        const Json synced = c.value("synced", Json::object());
        out += "└ synchronization status: nodes=" + str(synced.value("nodes", Json(false))) +
               ", endpoints=" + str(synced.value("ipcache", Json(false))) +
               ", identities=" + str(synced.value("identities", Json(false))) +
               ", services=" + str(synced.value("services", Json(false))) + "\n";
        if (c.value("refused_ipcache_entries", 0) > 0)
            out += "└ refused ipcache entries (identity outside the cluster's range): " +
                   str(c["refused_ipcache_entries"]) + "\n";
        if (!c.value("last_error", std::string()).empty())
            out += "└ last error: " + str(c["last_error"]) + "\n";
    }
    if (data.contains("export") && data["export"].value("enabled", false)) {
        const Json& e = data["export"];
        out += "Export: " + std::string(e.value("connected", false) ? "connected" : "not connected") + ", " +
               str(e["keys"]) + " keys written by this node";
        if (!e.value("last_error", std::string()).empty())
            out += " (last error: " + str(e["last_error"]) + ")";
        out += "\n";
    }
    return out;
}

std::string format_services_clustermesh(const Json& data) {
    Table t({"ID", "FRONTEND", "SERVICE TYPE", "NAME", "BACKEND"});
    t.align_right(0);
    for (const Json& s : array_of(data)) {
        if (!s.contains("clustermesh"))
            continue;
        const Json& m = s["clustermesh"];
        std::string type = str(s["type"]) + " (global, affinity " + str(m["affinity"]) +
                           (m.value("shared", true) ? "" : ", shared false") + ")";
        const Json backends = array_of(m.value("backends", Json()));
        if (backends.empty())
            t.add_row({str(s["id"]), str(s["frontend"]), type, str(s["name"]), "-"});
        for (size_t i = 0; i < backends.size(); ++i) {
            const Json& b = backends[i];
            std::string cell = std::to_string(i + 1) + " => " + str(b["ip"]) + " (" + str(b["cluster"]) +
                               (b.value("in_use", false) ? ", active" : ", not used") +
                               (b.value("preferred", false) ? ", preferred" : "") + ")";
            if (i == 0)
                t.add_row({str(s["id"]), str(s["frontend"]), type, str(s["name"]), cell});
            else
                t.add_row({"", "", "", "", cell});
        }
    }
    if (t.rows() == 0)
        return "no global services\n";
    return t.render();
}

} // namespace podlane
