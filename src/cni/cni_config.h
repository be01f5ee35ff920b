// The network configuration a runtime hands podlane-cni on stdin (CNI spec,
// "Network configuration"), with the podlane keys, the conventions' args and
// runtimeConfig (ips, mac, portMappings), prevResult when chained, and GC's
// valid attachments. docs/cni.md lists every key.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cni/cni_error.h"
#include "common/net_types.h"

namespace podlane::cni {

using Json = nlohmann::json;

/// CNI versions podlane-cni speaks, oldest first; the last is the newest.
inline constexpr const char* kSupportedVersions[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
/// True when version `a` is `b` or later ("0.4.0" < "1.0.0").
bool version_at_least(std::string_view a, std::string_view b);

/// A runtimeConfig.portMappings entry (the portMappings capability).
struct PortMapping {
    uint16_t host_port = 0;
    uint16_t container_port = 0;
    std::string protocol = "TCP"; ///< TCP or UDP
};

/// What podlane-cni reads from stdin.
struct NetConf {
    std::string cni_version;                   ///< "cniVersion"
    std::string name;                          ///< "name", the network's
    std::string type;                          ///< "type", normally podlane-cni
    std::string socket = "/run/podlane/podlane.sock"; ///< "socket": podlaned's API socket
    std::string vhost_socket_dir = "/run/podlane/vhost"; ///< "vhostSocketDir": where vhost-user sockets go
    std::map<std::string, std::string> labels; ///< args.cni.labels: the endpoint's labels
    std::vector<Ipv4Addr> ips;                 ///< runtimeConfig.ips and args.cni.ips (addresses only)
    std::optional<MacAddr> mac;                ///< runtimeConfig.mac or args.cni.mac
    std::vector<PortMapping> port_mappings;    ///< runtimeConfig.portMappings
    bool vhost = false;                        ///< runtimeConfig.vhostUser: a vhost-user pod
    Json dns = Json::object();                 ///< "dns", copied into the result
    Json prev_result;                          ///< "prevResult"; null when podlane-cni is first
    /// GC: "cni.dev/valid-attachments" as (containerID, ifname).
    std::vector<std::pair<std::string, std::string>> valid_attachments;
    bool has_valid_attachments = false;        ///< the key was given (an empty list is valid)
};

/// Parses stdin for `command` (ADD, DEL, CHECK, GC or STATUS). Errors: not
/// JSON (6), an unsupported cniVersion or one too old for the command (1),
/// a missing or mistyped field (7), an "ipam" section (2: podlane allocates
/// addresses itself).
CniResult<NetConf> parse_netconf(std::string_view text, const std::string& command);

} // namespace podlane::cni
