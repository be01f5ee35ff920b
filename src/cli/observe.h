// `podlane observe`: flow events like `hubble observe`, filtered on the
// client side, once or following (-f).
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace podlane {

/// The filters of `podlane observe`, by option name without dashes
/// ("pod", "from-pod", "to-pod", "ip", "from-ip", "to-ip", "port",
/// "protocol", "verdict"). An event matches when it matches every one given.
bool flow_matches(const nlohmann::json& event, const std::map<std::string, std::string>& filters);
/// One line per event: time, source -> destination, verdict, details.
std::string format_flow(const nlohmann::json& event);
/// Runs observe against the API socket; returns the exit code.
int run_observe(const std::string& socket, const std::map<std::string, std::string>& filters, unsigned last,
                bool follow, bool json);

} // namespace podlane
