// What the Kubernetes source knows of the cluster: the Nodes, Services and
// EndpointSlices it listed and watched (converted as they arrive), the
// resourceVersion of each resource, and what changed since the last delta
// handed to the agent. Pure: fed with JSON, asked for ClusterDeltas.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <optional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "control/sources/cluster_source.h"
#include "control/sources/cilium/cilium_policy.h"
#include "control/sources/k8s/k8s_convert.h"

namespace podlane {

/// The resources the source lists and watches: the cluster state, and
/// Cilium's BGP and LB IPAM objects (cilium.io/v2; optional: a cluster
/// without their CRDs answers 404, which reads as none).
enum class K8sResource : uint8_t {
    Nodes,
    Services,
    EndpointSlices,
    CiliumBgpClusterConfigs,
    CiliumBgpPeerConfigs,
    CiliumBgpAdvertisements,
    CiliumLoadBalancerIPPools,
};
inline constexpr size_t kK8sResourceCount = 7;
inline constexpr std::array<K8sResource, kK8sResourceCount> kK8sResources{
    K8sResource::Nodes,
    K8sResource::Services,
    K8sResource::EndpointSlices,
    K8sResource::CiliumBgpClusterConfigs,
    K8sResource::CiliumBgpPeerConfigs,
    K8sResource::CiliumBgpAdvertisements,
    K8sResource::CiliumLoadBalancerIPPools,
};

/// "nodes", "services", "endpointslices", "ciliumbgpclusterconfigs", ...
const char* resource_name(K8sResource r);
/// The collection's path: /api/v1/nodes, /api/v1/services,
/// /apis/discovery.k8s.io/v1/endpointslices, /apis/cilium.io/v2/<plural>.
std::string resource_path(K8sResource r);
/// The Cilium kind of a cilium.io resource, nullopt for the others.
std::optional<CiliumKind> cilium_kind(K8sResource r);
/// The watch request resuming after `resource_version`, with bookmarks,
/// ended by the server after `timeout_s`.
std::string watch_target(K8sResource r, const std::string& resource_version, unsigned timeout_s);

/// What one watch event did.
struct WatchOutcome {
    enum class Kind : uint8_t {
        Applied,  ///< ADDED, MODIFIED or DELETED: the object changed
        Bookmark, ///< only the resourceVersion advanced
        Expired,  ///< ERROR 410 Gone: the resourceVersion is too old, relist
        Failed,   ///< another ERROR, or not a watch event: restart the watch
    };
    Kind kind = Kind::Applied;
    std::string message; ///< Expired and Failed: the server's message or what was wrong
};

class K8sCache {
public:
    explicit K8sCache(ConvertSettings settings) : settings_(std::move(settings)) {}
    /// With the config file's BGP instances and pools, which the Cilium
    /// objects' join (cilium_policy.h add_file_policy), and this node's IP.
    K8sCache(ConvertSettings settings, const Config& file);

    /// A list response (NodeList, ServiceList, EndpointSliceList): replaces
    /// every object of the resource and takes the list's resourceVersion.
    /// An error when it is not a list; objects that do not convert are
    /// skipped and reported (take_problems).
    Result<void> apply_list(K8sResource r, const nlohmann::json& list);

    /// One watch event ({"type": ..., "object": {...}}).
    WatchOutcome apply_event(K8sResource r, const nlohmann::json& event);

    /// The resourceVersion to resume the resource's watch from ("" before its list).
    const std::string& resource_version(K8sResource r) const { return rv_[index(r)]; }
    bool listed(K8sResource r) const { return listed_[index(r)]; }
    bool all_listed() const {
        return std::all_of(listed_.begin(), listed_.end(), [](bool b) { return b; });
    }
    /// An optional resource the API server does not have (404: its CRD is
    /// not installed): listed, with no objects.
    void apply_absent(K8sResource r);

    /// What changed since the last call, as a delta for the agent; with
    /// `replace`, the whole state (nodes and services it does not name go).
    /// With `replace` or when a Cilium object or this node's labels changed,
    /// the delta carries the BGP instances and pools.
    ClusterDelta take_delta(bool replace);

    /// A served Service as converted, and its metadata.resourceVersion; nullptr / "" if unknown.
    const K8sService* service(const std::string& key) const {
        auto it = services_.find(key);
        return it == services_.end() ? nullptr : &it->second;
    }
    std::string service_resource_version(const std::string& key) const {
        auto it = service_rv_.find(key);
        return it == service_rv_.end() ? "" : it->second;
    }

    /// Objects skipped or partly converted since the last call, one line
    /// each, naming the object and why (e.g. `Service shop/x: spec.type: ...`).
    std::vector<std::string> take_problems();

private:
    static size_t index(K8sResource r) { return static_cast<size_t>(r); }
    void upsert(K8sResource r, const nlohmann::json& obj);
    void remove(K8sResource r, const std::string& key);
    void upsert_slice(const std::string& key, K8sEndpointSlice slice);
    void remove_slice(const std::string& key);
    /// The service's config now (its Service joined with its slices), if it is served.
    std::optional<ServiceConfig> build_service(const std::string& key);

    ConvertSettings settings_;
    std::array<std::string, kK8sResourceCount> rv_;
    std::array<bool, kK8sResourceCount> listed_{};
    // Cilium's objects and what selecting among them needs.
    CiliumObjects cilium_;
    Config file_;                    ///< the config file's bgp and lb_ipam
    LabelMap own_labels_;              ///< this node's Node's labels
    bool policy_dirty_ = false;
    std::vector<std::string> policy_problems_; ///< reported the last time
    void add_policy(ClusterDelta& d);
    std::map<std::string, PeerNodeConfig> nodes_;          ///< by node name
    std::map<std::string, K8sService> services_;           ///< by "namespace/name", served ones only
    std::map<std::string, std::string> service_rv_;        ///< by "namespace/name": resourceVersion
    std::map<std::string, K8sEndpointSlice> slices_;       ///< by "namespace/name"
    std::map<std::string, std::set<std::string>> slices_of_; ///< service key -> its slices' keys
    std::set<std::string> dirty_nodes_, dirty_services_;
    std::map<std::string, PeerNodeConfig> sent_nodes_;     ///< as the agent has them
    std::map<std::string, ServiceConfig> sent_services_;
    std::map<std::string, std::string> reported_;          ///< object -> the problem last reported for it
    std::vector<std::string> problems_;
};

} // namespace podlane
