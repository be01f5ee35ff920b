// The service side of podlaned's configuration: Services with their
// frontends and backends, HostPorts, and the node-wide load-balancer,
// conntrack and masquerade settings. Loaded by config_services.cpp; the
// schema is documented in docs/config.md ("Services").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "control/config/clustermesh_config.h"
#include "control/config/label_selector.h"
#include "dataplane/service_table.h" // LbAlgorithm, NodePortMode, NoBackendAction, BackendState

namespace podlane {

enum class L4Proto : uint8_t { Tcp = 6, Udp = 17 };

/// Kubernetes Service types podlane handles.
enum class ServiceType : uint8_t { ClusterIP, NodePort, LoadBalancer };

/// externalTrafficPolicy / internalTrafficPolicy.
enum class TrafficPolicy : uint8_t { Cluster, Local };

/// One port of a service (a Kubernetes ServicePort).
struct ServicePortConfig {
    std::string name;               ///< optional
    L4Proto protocol = L4Proto::Tcp; ///< "TCP" or "UDP"
    uint16_t port = 0;              ///< the frontend port on ClusterIP, LB IPs and ExternalIPs (1..65535)
    uint16_t target_port = 0;       ///< the backends' port; default: `port`
    uint16_t node_port = 0;         ///< NodePort/LoadBalancer: inside loadbalancer.nodeport_range; 0 = none

    friend bool operator==(const ServicePortConfig&, const ServicePortConfig&) = default;
};

/// One backend (an endpoint of an EndpointSlice).
struct BackendConfig {
    Ipv4Addr ip;
    std::string node;                     ///< the node it runs on; default: the node whose PodCIDR holds `ip`, else none
    BackendState state = BackendState::Active; ///< "active" or "terminating"
    uint16_t weight = 1;                  ///< Maglev weight, 1..65535 (0 is refused)

    friend bool operator==(const BackendConfig&, const BackendConfig&) = default;
};

/// Whether backend `b` runs on node `node` (whose PodCIDR is `pod_cidr`):
/// as its `node` says, or when it names none, by its address. The service
/// compiler and the BGP advertisements (externalTrafficPolicy Local) agree on it.
inline bool backend_on_node(const BackendConfig& b, const std::string& node, const Ipv4Prefix& pod_cidr) {
    return b.node == node || (b.node.empty() && pod_cidr.len > 0 && pod_cidr.contains(b.ip));
}

/// What LB IPAM (control/lbipam) decided for a LoadBalancer service without
/// load_balancer_ips: its addresses and their pool, or why it has none.
/// Status, not spec: it is computed from the services and the pools, so it
/// takes no part in comparing services (a source's update never carries it).
struct LbIpamStatus {
    std::vector<Ipv4Addr> ips{}; ///< assigned; served and advertised like load_balancer_ips
    std::string pool{};        ///< the pool of `ips`
    std::string pending{};     ///< non-empty: no address, and why
    bool managed = false;      ///< LB IPAM handles this service (type LoadBalancer without load_balancer_ips)

    friend bool operator==(const LbIpamStatus&, const LbIpamStatus&) { return true; }
    bool same_as(const LbIpamStatus& o) const {
        return ips == o.ips && pool == o.pool && pending == o.pending && managed == o.managed;
    }
};

/// A remote cluster's backend of a global service (Cluster Mesh).
struct MeshBackend {
    std::string cluster; ///< the remote cluster's name
    BackendConfig backend;
    friend bool operator==(const MeshBackend&, const MeshBackend&) = default;
};

/// The remote clusters' backends of a global service. Status, not spec: the
/// agent fills it from the clusters it watches (control/sources/clustermesh),
/// so it takes no part in comparing services a source hands over.
struct MeshBackends {
    std::vector<MeshBackend> list{};
    friend bool operator==(const MeshBackends&, const MeshBackends&) { return true; }
    bool same_as(const MeshBackends& o) const { return list == o.list; }
};

/// A Kubernetes Service as podlane load-balances it.
struct ServiceConfig {
    std::string name;                        ///< "namespace/name", unique
    ServiceType type = ServiceType::ClusterIP;
    Ipv4Addr cluster_ip;                     ///< required; "None" (headless) is not supported
    std::vector<Ipv4Addr> external_ips;
    std::vector<Ipv4Addr> load_balancer_ips; ///< type LoadBalancer only
    std::vector<ServicePortConfig> ports;    ///< at least one; (protocol, port) unique
    TrafficPolicy external_traffic_policy = TrafficPolicy::Cluster;
    TrafficPolicy internal_traffic_policy = TrafficPolicy::Cluster;
    bool session_affinity = false;           ///< sessionAffinity: ClientIP
    uint32_t session_affinity_timeout_s = 10800;
    LbAlgorithm algorithm = LbAlgorithm::Random; ///< parse_config fills loadbalancer.algorithm when absent
    std::vector<BackendConfig> backends;     ///< may be empty
    std::vector<Ipv4Addr> lbipam_ips{};      ///< addresses asked of LB IPAM (lbipam.cilium.io/ips); LoadBalancer only
    std::string lbipam_sharing_key{};        ///< lbipam.cilium.io/sharing-key: share an address with services of the same key
    LabelMap labels{};                         ///< the Service's labels (BGP advertisement and LB IPAM pool selectors)
    /// The addresses LB IPAM gave this service before, as the cluster
    /// records them (the Service's status.loadBalancer with the Kubernetes
    /// source): kept while still valid, so that an assignment is sticky.
    /// Served as they are while LB IPAM is off (no pools).
    std::vector<Ipv4Addr> lbipam_recorded{};
    LbIpamStatus lb_ipam{};                  ///< filled by the agent (assign_lb_ips), not by the loader
    bool global = false;                     ///< service.cilium.io/global: merged with the same service of remote clusters
    bool shared = true;                      ///< service.cilium.io/shared: its backends are exported to the other clusters
    MeshAffinity mesh_affinity = MeshAffinity::None; ///< service.cilium.io/affinity
    MeshBackends mesh{};                     ///< remote clusters' backends, filled by the agent, not by the loader

    /// Whether a backend (remote: from another cluster) is preferred under
    /// the service's affinity: local prefers this cluster's, remote the others'.
    bool preferred(bool remote) const {
        return global && (mesh_affinity == MeshAffinity::Local ? !remote : mesh_affinity == MeshAffinity::Remote && remote);
    }
    /// The backends a global service balances over: its own and the remote
    /// clusters', narrowed to the preferred ones while any of them is active
    /// (Cilium's affinity: the others are used only when none is).
    std::vector<BackendConfig> balanced_backends() const {
        std::vector<BackendConfig> all = backends, preferred_active;
        for (const MeshBackend& m : mesh.list)
            all.push_back(m.backend);
        for (size_t i = 0; i < all.size(); ++i)
            if (preferred(i >= backends.size()) && all[i].state == BackendState::Active)
                preferred_active.push_back(all[i]);
        return preferred_active.empty() ? all : preferred_active;
    }

    /// The LoadBalancer addresses served and advertised: load_balancer_ips,
    /// and those LB IPAM assigned (while LB IPAM is off: those recorded).
    std::vector<Ipv4Addr> lb_ips() const {
        std::vector<Ipv4Addr> all = load_balancer_ips;
        const auto& more = lb_ipam.managed ? lb_ipam.ips : lbipam_recorded;
        all.insert(all.end(), more.begin(), more.end());
        return all;
    }

    friend bool operator==(const ServiceConfig&, const ServiceConfig&) = default;
};

/// A pod's hostPort: node_ip:host_port goes to the pod's container_port.
struct HostPortConfig {
    uint16_t host_port = 0;
    uint16_t container_port = 0;
    L4Proto protocol = L4Proto::Tcp;
};

/// Node-wide load-balancer settings (Cilium's --bpf-lb-* flags).
struct LoadBalancerConfig {
    LbAlgorithm algorithm = LbAlgorithm::Random; ///< default for services: "random" or "maglev"
    uint32_t maglev_table_size = 16381;          ///< one of Cilium's primes (maglev.h)
    std::string maglev_hash_seed = "JLfvgnHc2kaSUFaI"; ///< base64 of 12 bytes; the same on every node
    uint16_t nodeport_min = 30000;               ///< "nodeport_range: 30000-32767"
    uint16_t nodeport_max = 32767;
    NodePortMode nodeport_mode = NodePortMode::Snat; ///< "snat", "dsr" or "hybrid" (dsr/hybrid need geneve)
    NoBackendAction no_backends = NoBackendAction::Reject; ///< "reject" or "drop"
    Ipv4Addr hairpin_ip = Ipv4Addr::from_host(0xA9FE2A01); ///< source of hairpinned flows (169.254.42.1, Cilium's IPV4_LOOPBACK)
};

/// Connection tracking sizes and timeouts (seconds), after Cilium's defaults.
struct ConntrackConfig {
    uint32_t max_flows = 262144;        ///< tracked flows (each takes two hash keys)
    uint32_t tcp_syn_timeout_s = 60;
    uint32_t tcp_established_timeout_s = 21600;
    uint32_t tcp_close_timeout_s = 10;
    uint32_t udp_timeout_s = 60;
    uint32_t icmp_timeout_s = 60;
    uint32_t gc_interval_ms = 1000;     ///< how often the control thread expires entries
    uint32_t max_fragment_datagrams = 8192; ///< IPv4 datagrams whose fragments are tracked at once (Cilium's default); 0: fragments to services dropped
};

/// Masquerading (SNAT) of pod traffic that leaves the cluster.
struct MasqueradeConfig {
    bool enabled = true;                             ///< with an uplink
    std::vector<Ipv4Prefix> non_masquerade_cidrs;    ///< never masqueraded (besides pod CIDRs, node IPs, native_routing_cidr)
    uint16_t port_min = 32768;                       ///< SNAT source ports ("port_range: 32768-65535");
    uint16_t port_max = 65535;                       ///< must not overlap the NodePort range
};

} // namespace podlane
