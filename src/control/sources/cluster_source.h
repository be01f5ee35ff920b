// The cluster state podlaned learns at run time, and the interface every
// source of it implements (the YAML file, etcd, the Kubernetes API).
//
// A source watches where the cluster keeps its state and hands the agent
// ClusterDeltas on the control thread. The agent applies them to its one
// state model (other nodes with their PodCIDRs, services with their
// backends), recompiles what changed and publishes it RCU-style. A source
// that loses its backend sends nothing: the last good state stays in the
// dataplane until the source is back (and sends a `replace` delta).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/config/config.h"

namespace boost::asio {
class io_context;
}

namespace YAML {
class Node;
}

namespace podlane {

/// Nodes and services as a document or a store holds them.
struct ClusterObjects {
    std::vector<PeerNodeConfig> nodes;   ///< other nodes (this node's own entry is left out)
    std::vector<ServiceConfig> services; ///< by unique name ("namespace/name")
};

/// A change to the cluster state. With `replace`, the delta is the whole
/// state (a first sync or a relist): nodes and services it does not name are
/// removed. Otherwise only the named objects change.
struct ClusterDelta {
    bool replace = false;
    std::vector<PeerNodeConfig> upsert_nodes;
    std::vector<std::string> delete_nodes;       ///< by name
    std::vector<ServiceConfig> upsert_services;
    std::vector<std::string> delete_services;    ///< by name
    std::vector<RemoteEndpointConfig> upsert_endpoints; ///< other nodes' pods (etcd)
    std::vector<std::string> delete_endpoints;   ///< by name
    /// This node's BGP instances and the LB IPAM pools, when the source
    /// carries them (the config file on reload; Cilium's objects in etcd or
    /// Kubernetes): they replace the running ones. nullopt: unchanged.
    std::optional<std::vector<BgpInstanceConfig>> bgp_instances;
    std::optional<LbIpamConfig> lb_ipam;
    /// LB IPAM's records kept apart from the services (etcd's
    /// <prefix>lbipam/services/ keys): service name -> addresses. With
    /// `replace`, the whole set.
    std::vector<std::pair<std::string, std::vector<Ipv4Addr>>> upsert_lb_records;
    std::vector<std::string> delete_lb_records;
    bool has_policies = false;                   ///< the delta carries the whole set of network policies
    std::vector<PolicyConfig> policies;          ///< with has_policies: every policy (replaces the set)
    /// When the source received the event that caused this delta (for the
    /// update-latency histogram); default: when the delta was made.
    std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();

    bool empty() const noexcept {
        return !replace && upsert_nodes.empty() && delete_nodes.empty() && upsert_services.empty() &&
               delete_services.empty() && upsert_endpoints.empty() && delete_endpoints.empty() && !bgp_instances &&
               !lb_ipam && upsert_lb_records.empty() && delete_lb_records.empty() && !has_policies;
    }
};

/// A source's health, as `podlane status` and the metrics show it.
enum class SourceState : uint8_t {
    Connecting,   ///< not synced yet
    Synced,       ///< the agent has its whole state and is watching for changes
    Disconnected, ///< lost its backend; the last good state stays, reconnecting
    Error,        ///< its data is invalid (e.g. a YAML file that does not parse); the last good state stays
};

inline const char* source_state_name(SourceState s) {
    switch (s) {
    case SourceState::Connecting: return "connecting";
    case SourceState::Synced: return "synced";
    case SourceState::Disconnected: return "disconnected";
    case SourceState::Error: return "error";
    }
    return "unknown";
}

struct SourceStatus {
    std::string kind;        ///< "file", "etcd", "kubernetes"
    std::string endpoint;    ///< what it reads: a path, etcd endpoints, the API server URL
    SourceState state = SourceState::Connecting;
    std::string last_error;  ///< the latest problem, kept after recovery ("" if none ever)
    std::string revision;    ///< etcd revision / resourceVersion / file mtime, as text
    uint64_t events = 0;     ///< deltas handed to the agent
    uint64_t reconnects = 0; ///< times the backend was lost and found again
    uint64_t resyncs = 0;    ///< full relists (replace deltas after the first)
    uint64_t lease_expiries = 0; ///< etcd: times this node's registration lease was found expired
};

/// Where the agent's cluster state comes from. All methods run on the
/// control thread; a source may do blocking I/O on a thread of its own, but
/// it calls the sink only on the io_context it was started with.
class ClusterSource {
public:
    using Sink = std::function<void(ClusterDelta)>;
    virtual ~ClusterSource() = default;
    /// Starts watching. The first delta (replace) follows once synced.
    virtual Result<void> start(boost::asio::io_context& io, Sink sink) = 0;
    /// Stops watching; no sink call happens after it returns. Idempotent.
    virtual void stop() = 0;
    virtual SourceStatus status() const = 0;
    /// This node's pods with their identities, for a source that shares them
    /// with the other nodes (etcd). Called whenever they change; the default
    /// ignores them.
    virtual void publish_endpoints(std::vector<RemoteEndpointConfig> /*local*/) {}
    /// LB IPAM gave `service` the addresses `ips` (empty: none any more)
    /// while the cluster recorded `recorded`. A source that keeps records
    /// (etcd: a transaction; Kubernetes: the Service's status) writes them
    /// so that the first node to write wins and the others read its record
    /// back; the default (the file source) keeps none.
    virtual void record_lb_ips(const std::string& /*service*/, const std::vector<Ipv4Addr>& /*ips*/,
                               const std::vector<Ipv4Addr>& /*recorded*/) {}
};

/// Parses nodes and services in the config schema (docs/config.md: the
/// `nodes:` and `services:` lists, both optional, no other keys) from YAML or
/// JSON text, and validates them against this node's config (node name,
/// routing, ipam, loadbalancer settings). Unlike the config file, nodes may
/// carry pod_cidrs with ipam cluster-pool (allocated through the source), and
/// an entry for this node itself is skipped. Errors name the key path and line.
Result<ClusterObjects> parse_cluster_objects(const std::string& text, const Config& node_config,
                                             const std::string& source_name);
/// The same for a document already loaded with yaml-cpp (a caller that reads
/// the document itself, such as `podlane kvstore apply`, loads it once).
Result<ClusterObjects> parse_cluster_objects(const YAML::Node& root, const Config& node_config,
                                             const std::string& source_name);

} // namespace podlane
