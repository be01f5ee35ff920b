// What podlaned keeps about pods attached through the CNI plugin
// (podlane-cni): the key a container runtime names an attachment by, the
// attachment itself as the IPAM store persists it, and the cni.add request.
// The wire form of the cni.* commands is in docs/api.md.
#pragma once

#include <compare>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "control/config/service_config.h"

namespace podlane {

/// A runtime names an attachment by (CNI_CONTAINERID, CNI_IFNAME).
struct CniKey {
    std::string container_id;
    std::string ifname;

    friend auto operator<=>(const CniKey&, const CniKey&) = default;
    friend bool operator==(const CniKey&, const CniKey&) = default;
    /// "container_id/ifname", for messages.
    std::string str() const { return container_id + "/" + ifname; }
};

/// A pod attached through CNI: everything needed to attach it again after
/// an agent restart. Owns exactly one address of the node's PodCIDR.
struct CniAttachment {
    CniKey key;
    std::string netns;                         ///< CNI_NETNS, a path such as /run/netns/pod-a
    std::string pod_namespace;                 ///< K8S_POD_NAMESPACE; may be empty
    std::string pod_name;                      ///< K8S_POD_NAME; may be empty
    std::string endpoint_id;                   ///< the endpoint's id: "namespace/name", else the container id
    Ipv4Addr ip;                               ///< allocated from the PodCIDR
    MacAddr mac;                               ///< the pod interface's MAC
    std::map<std::string, std::string> labels; ///< the endpoint's labels (identity)
    std::vector<HostPortConfig> host_ports;    ///< from the runtime's portMappings
    std::string vhost_socket;                  ///< non-empty: a vhost-user pod served on this socket
};

/// cni.add: what the plugin asks for.
struct CniAddRequest {
    CniKey key;
    std::string netns;                         ///< CNI_NETNS
    std::string pod_namespace;                 ///< K8S_POD_NAMESPACE
    std::string pod_name;                      ///< K8S_POD_NAME
    std::map<std::string, std::string> labels; ///< args.cni.labels of the network config
    std::optional<Ipv4Addr> ip;                ///< a requested address (CNI_ARGS IP=, runtimeConfig ips)
    std::optional<MacAddr> mac;                ///< a requested MAC; default 0a:58 + IP
    std::vector<HostPortConfig> host_ports;    ///< runtimeConfig portMappings
    bool vhost = false;                        ///< attach over vhost-user instead of a TAP
    std::string vhost_socket_dir;              ///< where the vhost-user socket goes (absolute)
};

} // namespace podlane
