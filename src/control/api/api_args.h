// Reading the arguments of local API requests (docs/api.md): one set of
// checks and messages for every command, the endpoint and CNI ones alike.
// A bad argument throws RequestError, which the server answers as
// {"ok": false, "error": message}.
#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/net_types.h"
#include "control/config/service_config.h"

namespace podlane {

/// A request the server answers with an error (bad arguments or a failed command).
struct RequestError {
    std::string message;
};

/// A JSON value as shown in an error message, shortened when long.
std::string show(const nlohmann::json& v);
/// Refuses argument names outside `known`, so that a typo is not silently ignored.
void check_known(const std::string& cmd, const nlohmann::json& args, std::initializer_list<std::string_view> known);
/// A string argument: nullopt when absent or null; refused when not a non-empty string.
std::optional<std::string> optional_string(const std::string& cmd, const nlohmann::json& args, const char* key);
/// The same, refused when absent.
std::string required_string(const std::string& cmd, const nlohmann::json& args, const char* key);
/// An IPv4 address argument: nullopt when absent (refused when `required`),
/// refused when it is not an address.
std::optional<Ipv4Addr> ipv4_arg(const std::string& cmd, const nlohmann::json& args, const char* key, bool required);
/// A MAC address argument: nullopt when absent, refused when it is not a MAC.
std::optional<MacAddr> mac_arg(const std::string& cmd, const nlohmann::json& args, const char* key);
/// "labels": an object of non-empty keys to string values; {} when absent.
std::map<std::string, std::string> labels_arg(const std::string& cmd, const nlohmann::json& args);
/// "host_ports": [{"host_port", "container_port", "protocol"?: TCP|UDP}]; [] when
/// absent. Without `require_container_port`, a missing container_port is the host port.
std::vector<HostPortConfig> host_ports_arg(const std::string& cmd, const nlohmann::json& args,
                                           bool require_container_port);

} // namespace podlane
