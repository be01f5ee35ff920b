// Human-readable rendering of API responses for the `podlane` CLI: a small
// column-aligned table helper and one formatter per command's `data`.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace podlane {

using Json = nlohmann::json;

/// A text table: columns are padded to their widest cell and separated by two spaces.
class Table {
public:
    /// A table with these column headers; with none, no header line is printed.
    explicit Table(std::vector<std::string> headers = {});
    /// Right-aligns column `column` (for numbers).
    Table& align_right(std::size_t column);
    /// Appends one row; missing trailing cells are left blank.
    Table& add_row(std::vector<std::string> cells);
    /// Number of rows added (the header not counted).
    std::size_t rows() const { return rows_.size(); }
    /// The rendered table, each line ending in '\n' and without trailing spaces.
    std::string render() const;

private:
    std::vector<std::string> headers_;
    std::vector<std::vector<std::string>> rows_;
    std::vector<bool> right_;
};

/// `obj[key]` as a table cell: strings as they are, numbers in decimal, bools yes/no, missing or null "-".
std::string cell(const Json& obj, const char* key);

/// `health.status` as cilium-health status: probe time, then per node its
/// host and endpoint connectivity by ICMP and HTTP with round-trip times.
std::string format_health_status(const Json& data);
/// The per-node lines of format_health_status, each line starting with `indent`.
std::string format_health_nodes(const Json& data, const std::string& indent);
/// status's cluster_health as cilium-dbg's line: "3/3 reachable   (2026-12-07T22:00:00Z)".
std::string cluster_health_text(const Json& cluster_health);
/// Seconds since the epoch as RFC 3339 UTC ("2026-12-07T22:00:00Z"); "never" for 0.
std::string utc_time(double epoch_seconds);

/// `status` data as aligned "Key: value" lines.
std::string format_status(const Json& data);
/// `endpoint.list` data (or one endpoint object) as a table: ID IP MAC PORT NETNS LABELS.
std::string format_endpoints(const Json& data);
/// `stats` data: per-worker counters with a TOTAL row, nonzero drops by reason, then per-port counters.
std::string format_stats(const Json& data);
/// `stats` data's per-stage counters (`stats --stages`): one row per worker and
/// stage in pipeline order, then the TOTAL rows: WORKER STAGE IN TRANSLATED FINISHED.
std::string format_stage_stats(const Json& data);
/// `stats` data cut down to the per-stage counters (`stats --stages -o json`):
/// {"workers": [{"id", "lcore", "stages"}], "totals": {"stages"}}.
Json stage_stats(const Json& data);
/// `ipcache.list` data as a table: PREFIX IDENTITY TUNNELENDPOINT SOURCE, the identity
/// with its reserved name, e.g. "2 (reserved:world)", and 0.0.0.0 for a local entry.
std::string format_ipcache(const Json& data);
/// `identity.list` data as a table: ID LABELS ENDPOINTS.
std::string format_identities(const Json& data);
/// `policy get`: the policies in force and each endpoint's enforcement.
std::string format_policy(const Json& data);
/// `neighbor.list` data as a table: IP MAC STATE PORT AGE.
std::string format_neighbors(const Json& data);
/// `service.list` as cilium-dbg service list: ID FRONTEND TYPE NAME and one backend per line.
std::string format_services(const Json& data);
/// lbipam.pools as `kubectl get ippools`: NAME, DISABLED, CONFLICTING, IPS AVAILABLE, IPS USED; then pending services.
std::string format_lb_ipam_pools(const Json& data);
/// `service.maglev`: the backends' slot counts and the lookup table.
std::string format_maglev(const Json& data);
/// `service.update` / `service.delete`: what changed and the generation now in use.
std::string format_applied(const Json& data);
/// `ct.list`: one tracked flow per line.
std::string format_ct(const Json& data);
/// `nat.list`: OUT and IN mappings as cilium bpf nat list.
std::string format_nat(const Json& data);
/// `cni.list` data: the pods attached through podlane-cni.
std::string format_cni_list(const Json& data);
/// `capture.status` / `capture.stop` data.
std::string format_capture(const Json& data);
/// `bgp.peers` data: the speaker, then one row per peer: state, uptime,
/// prefixes received/advertised, applied hold/keepalive, graceful restart.
std::string format_bgp_peers(const Json& data);
/// `bgp.routes` data: one row per advertised prefix.
std::string format_bgp_routes(const Json& data);
/// `clustermesh.status` as `cilium clustermesh status`: each remote cluster, its sync state and counts.
std::string format_clustermesh_status(const Json& data);
/// The ClusterMesh line of `podlane status`: "1/1 remote clusters ready, 1 global-services" or "disabled".
std::string clustermesh_status_line(const Json& mesh);
/// `service list --clustermesh-affinity`: the global services, every backend with its cluster, marked preferred.
std::string format_services_clustermesh(const Json& data);
/// `cni.status` data: PodCIDR address usage.
std::string format_cni_status(const Json& data);

} // namespace podlane
