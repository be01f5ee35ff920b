// The CNI_* environment a runtime runs podlane-cni with (CNI spec,
// "Parameters"), read and checked for the command: CNI_COMMAND,
// CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH and CNI_ARGS.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "cni/cni_error.h"
#include "common/net_types.h"

namespace podlane::cni {

/// What CNI_ARGS ("K=V;K2=V2") may carry. Unknown keys are an error unless
/// IgnoreUnknown=1 (or true) is among them, as the CNI conventions say.
struct CniArgs {
    std::string pod_namespace;           ///< K8S_POD_NAMESPACE
    std::string pod_name;                ///< K8S_POD_NAME
    std::string pod_uid;                 ///< K8S_POD_UID (accepted, unused)
    std::string infra_container_id;      ///< K8S_POD_INFRA_CONTAINER_ID (accepted, unused)
    std::optional<Ipv4Addr> ip;          ///< IP=10.210.1.11 or IP=10.210.1.11/24: the address to assign
    std::optional<MacAddr> mac;          ///< MAC=0a:58:0a:d2:01:0b
    bool vhost = false;                  ///< PODLANE_VHOST=1: a vhost-user pod instead of a kernel interface
};

/// The parameters of one invocation.
struct CniEnv {
    std::string command;       ///< ADD, DEL, CHECK, GC, STATUS or VERSION
    std::string container_id;  ///< CNI_CONTAINERID
    std::string netns;         ///< CNI_NETNS: a path (may be empty for DEL)
    std::string ifname;        ///< CNI_IFNAME
    std::string path;          ///< CNI_PATH
    CniArgs args;              ///< CNI_ARGS
};

/// Looks up an environment variable (std::getenv in the plugin; a map in tests).
using Getenv = std::function<const char*(const char*)>;

/// Parses CNI_ARGS; errors (code 4) name the offending entry.
CniResult<CniArgs> parse_cni_args(std::string_view text);

/// Reads and checks the variables CNI_COMMAND needs: ADD and CHECK need
/// CNI_CONTAINERID, CNI_NETNS (absolute), CNI_IFNAME and CNI_PATH; DEL the
/// same but CNI_NETNS may be empty; GC and STATUS need CNI_PATH; VERSION
/// nothing. Missing or invalid ones fail with code 4.
CniResult<CniEnv> read_cni_env(const Getenv& getenv);

} // namespace podlane::cni
