// `podlane health status` as `cilium-health status` prints it, and the
// `Cluster health:` line of `podlane status`.
#include <cmath>
#include <cstdio>
#include <ctime>

#include "cli/format.h"

namespace podlane {

namespace {

/// A round-trip time as Go prints a time.Duration: "91.601µs", "1.2ms".
std::string rtt_text(double us) {
    char buf[32];
    if (us < 1000)
        std::snprintf(buf, sizeof buf, "%.3f", us);
    else
        std::snprintf(buf, sizeof buf, "%.3f", us / 1000);
    std::string s = buf;
    while (!s.empty() && s.back() == '0')
        s.pop_back();
    if (!s.empty() && s.back() == '.')
        s.pop_back();
    return s + (us < 1000 ? "µs" : "ms");
}

std::string probe_text(const Json& p) {
    if (!p.is_object() || !p.value("probed", false))
        return "not probed yet";
    if (p.value("ok", false))
        return "OK, RTT=" + rtt_text(p.value("rtt_us", 0.0));
    return "FAILED: " + p.value("error", std::string("?"));
}

void path_lines(std::string& out, const char* what, const Json& path, const std::string& indent) {
    if (!path.is_object())
        return;
    out += indent + what + " connectivity to " + path.value("ip", std::string("?")) + ":\n";
    out += indent + "  ICMP to stack:   " + probe_text(path["icmp"]) + "\n";
    out += indent + "  HTTP to agent:   " + probe_text(path["http"]) + "\n";
}

} // namespace

std::string utc_time(double epoch_seconds) {
    if (epoch_seconds <= 0)
        return "never";
    const std::time_t t = static_cast<std::time_t>(epoch_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string format_health_nodes(const Json& data, const std::string& indent) {
    std::string out;
    for (const Json& n : data.value("nodes", Json::array())) {
        out += indent + n.value("name", std::string("?")) + (n.value("local", false) ? " (localhost)" : "") + ":\n";
        path_lines(out, "Host", n["host"], indent + "  ");
        path_lines(out, "Endpoint", n["endpoint"], indent + "  ");
    }
    return out;
}

std::string format_health_status(const Json& data) {
    std::string out = "Probe time:   " + utc_time(data.value("last_round_time", 0.0)) + "\n";
    out += "Reachable:    " + cell(data, "reachable") + "/" + cell(data, "total") + " nodes, every " +
           cell(data, "interval_ms") + " ms\n";
    if (data.contains("error") && data["error"].is_string() && !data["error"].get<std::string>().empty())
        out += "Error:        " + data["error"].get<std::string>() + "\n";
    out += "Nodes:\n" + format_health_nodes(data, "  ");
    return out;
}

std::string cluster_health_text(const Json& h) {
    if (!h.is_object())
        return "-";
    if (!h.value("enabled", false))
        return "Disabled";
    if (!h.contains("reachable"))
        return "not running: " + h.value("error", std::string("?"));
    if (h.value("rounds", 0) == 0)
        return "0/" + cell(h, "total") + " reachable   (probing)";
    return cell(h, "reachable") + "/" + cell(h, "total") + " reachable   (" + utc_time(h.value("last_round_time", 0.0)) +
           ")";
}

} // namespace podlane
