// The JSON podlane-cni prints: the ADD result (CNI spec, "Success"), in the
// format of the config's cniVersion and appended to a chained prevResult;
// the error object; VERSION's answer; and CHECK's comparison of prevResult
// with what podlaned attached.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cni/cni_config.h"
#include "cni/cni_error.h"

namespace podlane::cni {

/// The ADD result for podlaned's attachment (cni.add's data: ip, gateway,
/// mac, mtu, ifname, netns, vhost_socket): one interface in the sandbox
/// (1.1.0: with mtu, and socketPath for a vhost-user pod), its address as
/// /32 with the gateway, a default route via the gateway, and conf.dns.
/// With a prevResult, podlane's interface, address and route are appended
/// to it. Versions before 1.0.0 carry "version": "4" in each address.
Json add_result(const NetConf& conf, const Json& attachment);

/// {"cniVersion", "code", "msg", "details"}; details only when non-empty.
Json error_json(const CniError& e, const std::string& cni_version);

/// VERSION's answer: {"cniVersion", "supportedVersions"}.
Json version_json();

/// CHECK: why `prev_result` does not describe the attachment (no interface
/// `ifname` in `netns`, or not its address), or nullopt when it does.
std::optional<std::string> prev_result_mismatch(const Json& prev_result, const Json& attachment,
                                                const std::string& ifname, const std::string& netns);

} // namespace podlane::cni
