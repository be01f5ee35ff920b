// podlaned's configuration: the plain structs a YAML file is loaded into, and
// the loader that validates it. The schema is documented in docs/config.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"

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
};

/// A static DPDK port given as devargs (an uplink, a traffic generator port...).
struct PortConfig {
    std::string name;     ///< operator-facing name
    std::string devargs;  ///< e.g. "net_null0" or "net_af_packet0,iface=veth0"
};

/// A pod endpoint attached over a hot-plugged TAP port.
struct EndpointConfig {
    std::string id;                            ///< unique, e.g. "default/web-1"
    Ipv4Addr ip;                               ///< inside pod_cidr, not the gateway
    MacAddr mac;                               ///< default: 0a:58 + ip
    std::string netns;                         ///< name under /run/netns, or an absolute path
    std::string ifname = "eth0";               ///< interface name inside the pod
    std::map<std::string, std::string> labels; ///< e.g. app=web
};

/// Limits on table sizes.
struct TablesConfig {
    uint32_t max_endpoints = 1024;
};

/// The local API.
struct ApiConfig {
    std::string socket = "/run/podlane/podlane.sock";
};

/// The whole configuration.
struct Config {
    std::string node_name = "node1";
    DataplaneConfig dataplane;
    NetworkConfig network;
    std::vector<PortConfig> ports;
    std::vector<EndpointConfig> endpoints;
    TablesConfig tables;
    ApiConfig api;
};

/// Parses and validates YAML text. Errors name the key path, the value and
/// what was expected, e.g. `endpoints[1].ip: "10.0.0.300" is not an IPv4 address`.
Result<Config> parse_config(const std::string& yaml_text, const std::string& source_name);

/// Reads and validates a YAML file.
Result<Config> load_config_file(const std::string& path);

/// Checks one endpoint against the network config and table limits
/// (used for config endpoints and for endpoints added over the API).
Result<void> validate_endpoint(const EndpointConfig& ep, const Config& config, const std::string& where);

/// The default configuration text, embedded from configs/podlane.yaml at build time.
extern const char* const kEmbeddedDefaultConfig;

} // namespace podlane
