// Tables for `podlane bgp peers|routes` and the BGP line of `podlane status`.
#include "cli/format.h"

#include <cstdio>

namespace podlane {

namespace {

const Json& array_of(const Json& v) {
    static const Json empty = Json::array();
    return v.is_array() ? v : empty;
}

/// Seconds as "1h02m03s", "2m03s" or "3s"; "-" for null.
std::string uptime(const Json& v) {
    if (!v.is_number())
        return "-";
    const long long s = v.get<long long>();
    const long long h = s / 3600, m = s / 60 % 60, sec = s % 60;
    char buf[48];
    if (h > 0)
        std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", h, m, sec);
    else if (m > 0)
        std::snprintf(buf, sizeof buf, "%lldm%02llds", m, sec);
    else
        std::snprintf(buf, sizeof buf, "%llds", sec);
    return buf;
}

/// A string field, or `fallback` when it is missing or empty.
std::string text_or(const Json& data, const char* key, const std::string& fallback) {
    if (!data.is_object() || !data.contains(key))
        return fallback;
    const Json& v = data[key];
    return v.is_string() && !v.get<std::string>().empty() ? v.get<std::string>() : fallback;
}

} // namespace

std::string format_bgp_peers(const Json& data) {
    const Json sp = data.contains("speaker") ? data["speaker"] : Json::object();
    std::string out = "Speaker: BIRD (" + cell(sp, "binary") + "), " +
                      (sp.value("running", false) ? "running, pid " + cell(sp, "pid") : std::string("NOT RUNNING")) +
                      ", " + cell(sp, "restarts") + " restarts, " + cell(sp, "reloads") + " reloads\n";
    if (!text_or(sp, "last_exit", "").empty())
        out += "  last exit: " + cell(sp, "last_exit") + "\n";
    if (!text_or(sp, "last_error", "").empty())
        out += "  last error: " + cell(sp, "last_error") + "\n";
    Table t({"INSTANCE", "PEER", "ADDRESS", "LOCAL AS", "PEER AS", "STATE", "UPTIME", "RECEIVED", "ADVERTISED",
             "HOLD/KEEPALIVE", "GRACEFUL RESTART"});
    t.align_right(7).align_right(8);
    const Json peers = data.contains("peers") ? data["peers"] : Json::array();
    for (const Json& p : array_of(peers)) {
        const Json gr = p.contains("graceful_restart") ? p["graceful_restart"] : Json::object();
        std::string timers = p.contains("hold_time_s") && p["hold_time_s"].is_number()
                                 ? cell(p, "hold_time_s") + "s/" + cell(p, "keepalive_time_s") + "s"
                                 : "(" + cell(p, "configured_hold_time_s") + "s/" + cell(p, "configured_keepalive_time_s") + "s)";
        std::string grace = !gr.value("enabled", false) ? "off"
                            : "on, " + cell(gr, "restart_time_s") + "s" +
                                  (gr.value("negotiated", false) ? " (peer " + cell(gr, "peer_restart_time_s") + "s)" : "");
        t.add_row({cell(p, "instance"), cell(p, "name"), cell(p, "address"), cell(p, "local_asn"), cell(p, "peer_asn"),
                   cell(p, "state"), uptime(p.value("uptime_s", Json())), cell(p, "received"), cell(p, "advertised"), timers, grace});
    }
    return out + t.render();
}

std::string format_bgp_routes(const Json& data) {
    const Json& list = array_of(data);
    if (list.empty())
        return "no route advertised\n";
    Table t({"INSTANCE", "PREFIX", "NEXT HOP", "KIND", "SERVICE", "PEERS"});
    for (const Json& r : list) {
        std::string peers;
        const Json names = r.value("peers", Json::array());
        for (const Json& p : array_of(names))
            peers += (peers.empty() ? "" : ",") + p.get<std::string>();
        t.add_row({cell(r, "instance"), cell(r, "prefix"), cell(r, "next_hop"), cell(r, "kind"),
                   text_or(r, "service", "").empty() ? "-" : cell(r, "service"), peers});
    }
    return t.render();
}

} // namespace podlane
