// How podlane keeps cluster state in etcd, and turning etcd data into
// ClusterDeltas. Keys (docs/config.md "Sources"):
//   <prefix>nodes/<name>                 a node: {"name", "ip", "pod_cidrs"}
//   <prefix>services/<namespace>/<name>  a service in the config schema
//   <prefix>ipam/blocks/<a.b.c.d>-<len>  a cluster-pool block: its node's name
//   <prefix>endpoints/<node>/<ip>        a pod: {"ip", "node", "identity", "labels"},
//                                        written by its node under the node's lease
//   <prefix>cilium.io/v2/<plural>/<name> a Cilium object as JSON (CiliumBGPClusterConfig,
//                                        CiliumBGPPeerConfig, CiliumBGPAdvertisement,
//                                        CiliumLoadBalancerIPPool: cilium/cilium_policy.h)
//   <prefix>lbipam/services/<ns>/<name>  LB IPAM's record of a service's addresses:
//                                        {"ips": [...]}, created by the first node to assign
//   <prefix>policies/<anything>          a NetworkPolicy or CiliumNetworkPolicy object
//                                        (YAML or JSON, as kubectl shows it; docs/policy.md)
#pragma once

#include <map>
#include <string>
#include <vector>

#include "control/sources/cilium/cilium_policy.h"
#include "control/sources/cluster_source.h"
#include "control/sources/etcd/etcd_client.h"

namespace podlane {

/// The key names under a prefix (which ends in '/').
struct EtcdKeys {
    std::string prefix;
    std::string nodes() const { return prefix + "nodes/"; }
    std::string services() const { return prefix + "services/"; }
    std::string blocks() const { return prefix + "ipam/blocks/"; }
    std::string endpoints() const { return prefix + "endpoints/"; }
    std::string policies() const { return prefix + "policies/"; }
    std::string endpoint(const std::string& name) const { return endpoints() + name; }
    std::string node(const std::string& name) const { return nodes() + name; }
    std::string service(const std::string& name) const { return services() + name; }
    std::string block(const Ipv4Prefix& p) const { return blocks() + p.addr.str() + "-" + std::to_string(p.len); }
    std::string cilium() const { return prefix + "cilium.io/v2/"; }
    std::string cilium(CiliumKind k, const std::string& name) const {
        return cilium() + cilium_kind_plural(k) + "/" + name;
    }
    std::string lb_records() const { return prefix + "lbipam/services/"; }
    std::string lb_record(const std::string& service) const { return lb_records() + service; }
};

/// Validates etcd values against this node's config and makes deltas of them.
class EtcdObjects {
public:
    EtcdObjects(Config node_config, std::string prefix);

    /// A full listing: a replace delta (with this node's BGP instances and
    /// the pools: the config file's and the Cilium objects'). Values that do
    /// not parse are left out and described in `errors` ("<key>: <why>").
    ClusterDelta load(const std::vector<EtcdKv>& kvs, std::vector<std::string>& errors);
    /// Watch events: upserts and deletes (and the BGP instances and pools
    /// again when a Cilium object changed). An invalid value changes nothing
    /// (the object's last good version stays) and is described in `errors`.
    ClusterDelta apply(const std::vector<EtcdWatchEvent>& events, std::vector<std::string>& errors);
    /// A record's value ({"ips": [...]}) and back.
    static std::string lb_record_value(const std::vector<Ipv4Addr>& ips);
    static Result<std::vector<Ipv4Addr>> parse_lb_record(const std::string& value);

    /// JSON text of a node / service in the config schema, as stored.
    static std::string node_value(const PeerNodeConfig& n);
    /// JSON text of a pod's endpoint key.
    static std::string endpoint_value(const RemoteEndpointConfig& e);
    /// An endpoint key's value, checked against its key name ("<node>/<ip>").
    static Result<RemoteEndpointConfig> parse_endpoint(const std::string& name, const std::string& value);

private:
    /// Adds the object of one key to `d` (upsert, or delete when `deleted`).
    void add(const EtcdKv& kv, bool deleted, ClusterDelta& d, std::vector<std::string>& errors);
    /// Sets the delta's BGP instances and pools from cilium_ and the config file.
    void add_cilium_settings(ClusterDelta& d, std::vector<std::string>& errors) const;
    /// A policy key's upsert or delete into policies_; true if it changed the set.
    bool add_network_policy(const EtcdKv& kv, bool deleted, std::vector<std::string>& errors);
    Config config_;
    EtcdKeys keys_;
    CiliumObjects cilium_;
    bool cilium_changed_ = false;
    /// The policies seen so far, by key: every delta that touches one carries
    /// the whole set (ClusterDelta::policies). Only the source's thread uses it.
    std::map<std::string, PolicyConfig> policies_;
};

} // namespace podlane
