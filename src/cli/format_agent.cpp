// Tables for `podlane cni list|status` and `podlane capture status|stop`.
#include "cli/format.h"

namespace podlane {

namespace {

const Json& array_of(const Json& v) {
    static const Json empty = Json::array();
    return v.is_array() ? v : empty;
}

std::string text(const Json& v) { return v.is_string() ? v.get<std::string>() : v.is_null() ? "-" : v.dump(); }

} // namespace

std::string format_cni_list(const Json& data) {
    const Json& list = array_of(data);
    if (list.empty())
        return "no pod attached through CNI\n";
    Table t({"ENDPOINT", "IP", "MAC", "CONTAINER", "IFNAME", "NETNS", "PORT", "STATE"});
    for (const Json& a : list) {
        std::string container = text(a["container_id"]);
        if (container.size() > 12)
            container.resize(12);
        const std::string vhost = text(a["vhost_socket"]);
        t.add_row({text(a["endpoint_id"]), text(a["ip"]), text(a["mac"]), container, text(a["ifname"]),
                   text(a["netns"]), vhost.empty() ? "tap" : "vhost-user " + vhost,
                   a.value("attached", false) ? "attached" : "NOT ATTACHED"});
    }
    return t.render();
}

std::string format_cni_status(const Json& data) {
    return "PodCIDR:     " + cell(data, "pod_cidr") + " (gateway " + cell(data, "gateway") + ")\n" +
           "Addresses:   " + cell(data, "allocated") + " allocated through CNI, " + cell(data, "free") + " free of " +
           cell(data, "capacity") + "\n" + "State dir:   " + cell(data, "state_dir") + "\n";
}

std::string format_capture(const Json& data) {
    std::string out = std::string(data.value("running", false) ? "running" : "stopped") + ": " +
                      text(data["packets"]) + " packets written to " + text(data["path"]) + " (" + text(data["matched"]) +
                      " matched, " + text(data["lost"]) + " lost), filter: " + text(data["filter"]) + "\n";
    if (data.contains("error"))
        out += "error: " + text(data["error"]) + "\n";
    return out;
}

} // namespace podlane
