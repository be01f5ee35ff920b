// podlaned's configuration: the plain structs a YAML file is loaded into, and
// the loader that validates it. The schema is documented in docs/config.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"
#include "control/config/bgp_config.h"
#include "control/config/clustermesh_config.h"
#include "control/config/health_config.h"
#include "control/config/lb_ipam_config.h"
#include "control/config/policy_config.h"
#include "control/config/service_config.h"

namespace podlane {

/// Where DPDK's EAL runs and how the worker loop behaves.
struct DataplaneConfig {
    uint32_t main_lcore = 0;                  ///< lcore of the control thread
    std::vector<uint32_t> worker_lcores{1};   ///< one worker per lcore, 1..16 of them
    std::string lcore_map;                    ///< optional EAL --lcores map, e.g. "(0-1)@0"
    bool hugepages = false;                   ///< false: --no-huge; true: hugepages (--in-memory)
    uint32_t memory_mb = 256;                 ///< EAL -m
    std::string file_prefix;                  ///< EAL --file-prefix; default "podlane-<node>"
    std::vector<std::string> eal_args;        ///< extra EAL arguments, passed as they are
    uint32_t mbufs = 8191;                    ///< mbufs in the packet pool
    uint16_t burst_size = 32;                 ///< rx burst, 1..64
    uint16_t rx_ring_size = 1024;
    uint16_t tx_ring_size = 1024;
    uint32_t idle_sleep_us = 0;               ///< sleep after a run of empty polls; 0 = busy poll
    uint32_t idle_polls_before_sleep = 256;   ///< empty polls before the first sleep
};

/// The node's pod network.
struct NetworkConfig {
    Ipv4Prefix pod_cidr;   ///< this node's PodCIDR
    Ipv4Addr gateway_ip;   ///< owned by podlane, inside pod_cidr
    MacAddr gateway_mac;   ///< default: 0a:58 + gateway_ip
    uint32_t pod_mtu = 1500;
    /// ipam kubernetes with the Kubernetes source and no pod_cidr in the
    /// file: podlaned takes it from this node's Node object (spec.podCIDRs)
    /// before it starts (k8s_node_cidr.h).
    bool pod_cidr_from_node = false;
};

/// A static DPDK port given as devargs (an uplink, a traffic generator port...).
struct PortConfig {
    std::string name;     ///< operator-facing name
    std::string devargs;  ///< e.g. "net_null0" or "net_af_packet0,iface=veth0"
};

/// Who serves a memif pod's socket: podlaned (server) or the pod's application.
enum class MemifRole { Server, Client };
inline const char* memif_role_name(MemifRole r) { return r == MemifRole::Server ? "server" : "client"; }

/// A pod endpoint attached over a hot-plugged TAP port, or over vhost-user
/// or memif on a unix socket.
struct EndpointConfig {
    std::string id;                            ///< unique, e.g. "default/web-1"
    Ipv4Addr ip;                               ///< inside pod_cidr, not the gateway
    MacAddr mac;                               ///< default: 0a:58 + ip
    std::string netns;                         ///< name under /run/netns, or an absolute path
    std::string ifname = "eth0";               ///< interface name inside the pod
    std::map<std::string, std::string> labels; ///< e.g. app=web
    std::vector<HostPortConfig> host_ports;    ///< hostPort mappings on the node IP
    std::map<std::string, std::pair<uint8_t, uint16_t>> named_ports; ///< containerPort names -> (protocol, port), for policies' named ports
    std::string vhost_socket;                  ///< non-empty: served over vhost-user at this path, not a TAP
    std::string memif_socket;                  ///< non-empty: attached over memif on this socket, not a TAP
    MemifRole memif_role = MemifRole::Server;  ///< server: podlaned listens; client: it connects to the pod
    bool memif_zero_copy = false;              ///< client only: the pod's application copies in podlane's mbufs

    /// Attached over vhost-user or memif: nothing is configured in a netns.
    bool over_socket() const { return !vhost_socket.empty() || !memif_socket.empty(); }
};

/// An uplink: a DPDK port that carries the node IP to the underlay.
struct UplinkConfig {
    std::string name;         ///< operator-facing name, e.g. "eth0"
    std::string devargs;      ///< e.g. "net_af_packet0,iface=uplink0"
    uint32_t mtu = 1500;      ///< underlay MTU of this link, 576..9216
    Ipv4Prefix subnet;        ///< the on-link subnet; default: node.ip's /24
    Ipv4Addr gateway;         ///< router for destinations off the subnet; zero: none
};

/// The host path: a TAP interface in podlaned's own namespace that carries
/// the node IP for the node's kernel (Cilium's cilium_host), so the node
/// stays reachable while podlane owns the uplink.
struct HostConfig {
    bool enabled = true;              ///< with uplinks; false: podlane only answers ping for the node IP
    std::string ifname = "pl_host";   ///< kernel interface name, 1..15 characters
};

enum class RoutingMode { Native, Tunnel };
enum class TunnelProtocol { Vxlan, Geneve };

/// How pod traffic reaches other nodes.
struct RoutingConfig {
    RoutingMode mode = RoutingMode::Tunnel;          ///< "native" or "tunnel"
    TunnelProtocol protocol = TunnelProtocol::Vxlan; ///< "vxlan" or "geneve" (tunnel mode)
    uint16_t tunnel_port = 0;                        ///< UDP port; parse_config fills the default, 8472 (VXLAN) or 6081 (Geneve)
    Ipv4Prefix native_routing_cidr;                  ///< ipv4NativeRoutingCIDR: what is inside the cluster (native mode: required)
};

/// Another node of the cluster, as this node learns it (from the config for now).
struct PeerNodeConfig {
    std::string name;
    Ipv4Addr ip;                         ///< its node IP on the underlay
    std::vector<Ipv4Prefix> pod_cidrs;   ///< its PodCIDRs: as given (ipam kubernetes), or {its allocated block} (cluster-pool)
    MacAddr tunnel_mac;                  ///< inner destination MAC of tunnelled packets to it; zero: its node MAC.
                                         ///< A node without podlane sets its kernel VXLAN device's MAC here.

    friend bool operator==(const PeerNodeConfig&, const PeerNodeConfig&) = default;
};

/// A pod on another node, as that node published it in the kvstore (etcd):
/// its address and its security identity, for the ipcache.
struct RemoteEndpointConfig {
    std::string name;                          ///< "<node>/<ip>", unique
    Ipv4Addr ip;
    std::string node;                          ///< the node it runs on
    uint32_t identity = 0;                     ///< the identity its node gave its labels
    std::map<std::string, std::string> labels;

    friend bool operator==(const RemoteEndpointConfig&, const RemoteEndpointConfig&) = default;
};

enum class IpamMode { Kubernetes, ClusterPool };

/// Where PodCIDRs come from.
struct IpamConfig {
    IpamMode mode = IpamMode::Kubernetes; ///< "kubernetes": per node in the config; "cluster-pool": allocated
    Ipv4Prefix cluster_pool_cidr;         ///< cluster-pool: the pool, e.g. 10.0.0.0/8
    uint8_t mask_size = 24;               ///< cluster-pool: block size per node
    std::string state_dir;                ///< CNI pod address allocations; default /var/lib/podlane/ipam-<node.name>
};

/// Neighbour (ARP) cache timers for next hops on the uplink.
struct NeighborConfig {
    uint32_t refresh_ms = 10000;   ///< re-ARP a next hop this often
    uint32_t timeout_ms = 30000;   ///< forget an entry not confirmed for this long
};

/// Limits on table sizes.
struct TablesConfig {
    uint32_t max_endpoints = 1024;
    /// Publishes a second at most while source updates stream in; updates
    /// in between are merged into one publish (a lone update goes at once).
    uint32_t max_publish_rate = 20;
};

/// The local API.
/// Restarts (docs/restart.md): the state file is written on every graceful
/// stop; checkpoints bound what a crash loses.
struct RestartConfig {
    uint32_t checkpoint_interval_s = 10; ///< 0: no checkpoints (a crash loses every flow)
};

struct ApiConfig {
    std::string socket = "/run/podlane/podlane.sock";
};

/// The Prometheus metrics endpoint (docs/metrics.md).
struct MetricsConfig {
    bool enabled = true;
    Ipv4Addr address = Ipv4Addr::from_host(0x7f000001); ///< 127.0.0.1; 0.0.0.0: every interface
    uint16_t port = 9962;                                ///< 0: any free port
    /// "address:port", as civetweb and the status show it.
    std::string listen() const { return address.str() + ":" + std::to_string(port); }
};

/// Flow events for `podlane observe` (docs/config.md "observe").
struct ObserveConfig {
    bool enabled = true;
    uint32_t sample_every = 64;   ///< one event per this many forwarded packets per worker; 0: drops only
    uint32_t ring_size = 4096;    ///< events each worker's ring holds (a power of two)
    uint32_t history = 8192;      ///< events the agent keeps for observe
    uint32_t aggregate_ms = 1000; ///< like events within this interval become one, with a count; 0: off
};

enum class SourceKind { File, Etcd, Kubernetes };

/// etcd v3 as the cluster-state source (docs/config.md "Sources").
struct EtcdSourceConfig {
    std::vector<std::string> endpoints{"http://127.0.0.1:2379"}; ///< client URLs, tried in order
    std::string prefix = "/podlane/";  ///< every key podlane reads or writes starts with this
    uint32_t dial_timeout_ms = 2000;   ///< connect timeout per endpoint
    uint32_t lease_ttl_s = 15;         ///< TTL of this node's registration key
    std::string ca_file;               ///< https endpoints: PEM CA(s) that sign etcd's certificate; empty: the system's
    std::string cert_file;             ///< https endpoints: this client's certificate (etcd --client-cert-auth)
    std::string key_file;              ///< and its key
};

/// The Kubernetes API as the cluster-state source.
struct KubernetesSourceConfig {
    std::string kubeconfig;  ///< a kubeconfig file; empty: in-cluster (KUBERNETES_SERVICE_HOST, service-account token and CA)
    std::string server;      ///< overrides the kubeconfig's or in-cluster server URL, e.g. https://127.0.0.1:6443
    std::string token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
    std::string ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
    uint32_t timeout_ms = 5000; ///< connect and request timeout (watches excepted)
};

/// Where nodes, PodCIDRs, services and endpoints come from at run time.
struct SourceConfig {
    SourceKind kind = SourceKind::File;  ///< "file" (this config file, hot reloaded), "etcd" or "kubernetes"
    bool file_watch = true;              ///< file: reload the config file when it changes
    uint32_t file_poll_ms = 500;         ///< file: how often to look for a change
    EtcdSourceConfig etcd;
    KubernetesSourceConfig kubernetes;
};

/// The whole configuration.
struct Config {
    std::string node_name = "node1";
    Ipv4Addr node_ip;                       ///< node.ip: this node's IP on the uplink (required with uplinks)
    LabelMap node_labels;                     ///< node.labels: what BGP node selectors match (Kubernetes: the Node's labels)
    DataplaneConfig dataplane;
    NetworkConfig network;
    std::vector<UplinkConfig> uplinks;      ///< empty: a single-node dataplane
    RoutingConfig routing;
    IpamConfig ipam;
    std::vector<PeerNodeConfig> nodes;      ///< the other nodes of the cluster
    std::vector<RemoteEndpointConfig> remote_endpoints; ///< pods of other nodes (kvstore source only), by name
    NeighborConfig neighbor;
    HostConfig host;
    std::vector<PortConfig> ports;
    std::vector<EndpointConfig> endpoints;
    std::vector<ServiceConfig> services;
    LoadBalancerConfig loadbalancer;
    ConntrackConfig conntrack;
    MasqueradeConfig masquerade;
    TablesConfig tables;
    ApiConfig api;
    MetricsConfig metrics;
    SourceConfig source;
    ObserveConfig observe;
    BgpConfig bgp;                          ///< BGP speaker and peers (docs/bgp.md); off without instances
    RestartConfig restart;                  ///< what survives a podlaned restart (docs/restart.md)
    LbIpamConfig lb_ipam;                   ///< pools for LoadBalancer services without addresses (docs/lb-ipam.md)
    ClusterInfoConfig cluster;              ///< this cluster's name and id (Cilium's --cluster-name/--cluster-id)
    ClusterMeshConfig clustermesh;          ///< remote clusters and where this cluster exports (docs/clustermesh.md)
    HealthConfig health;                    ///< node health probing (docs/health.md)
    std::vector<PolicyConfig> policies;     ///< network policies (docs/policy.md)
};

/// Parses and validates YAML text. Errors name the key path, the value and
/// what was expected, e.g. `endpoints[1].ip: "10.0.0.300" is not an IPv4 address`.
Result<Config> parse_config(const std::string& yaml_text, const std::string& source_name);

/// Reads and validates a YAML file.
Result<Config> load_config_file(const std::string& path);

/// Checks one endpoint against the network config and table limits
/// (used for config endpoints and for endpoints added over the API or CNI).
/// Refuses host_ports on a node without an uplink: they are served only on
/// node.ip through the uplink, so they would be silently unreachable.
Result<void> validate_endpoint(const EndpointConfig& ep, const Config& config, const std::string& where);

/// Parses one NetworkPolicy/CiliumNetworkPolicy object, or a list of them,
/// from YAML or JSON text (etcd values, Kubernetes API objects); errors
/// name the key, like config errors.
Result<std::vector<PolicyConfig>> parse_policy_objects(const std::string& text, const std::string& source_name);

/// The default configuration text, embedded from configs/podlane.yaml at build time.
extern const char* const kEmbeddedDefaultConfig;

} // namespace podlane
