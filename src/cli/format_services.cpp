// Renderers for the load-balancer views: services, Maglev tables, conntrack
// and NAT, laid out after cilium-dbg's service list and bpf ct/nat list.
#include "cli/format.h"

#include <string>

namespace podlane {

namespace {

const Json& array_of(const Json& v) {
    static const Json empty = Json::array();
    return v.is_array() ? v : empty;
}

std::string text(const Json& v) {
    if (v.is_string())
        return v.get<std::string>();
    if (v.is_null())
        return "-";
    return v.dump();
}

std::string joined(const Json& list, const char* sep) {
    std::string out;
    for (const Json& v : array_of(list))
        out += (out.empty() ? "" : sep) + text(v);
    return out.empty() ? "-" : out;
}

} // namespace

std::string format_services(const Json& data) {
    const Json& list = array_of(data);
    if (list.empty())
        return "no services\n";
    Table t({"ID", "FRONTEND", "SERVICE TYPE", "NAME", "BACKEND"});
    t.align_right(0);
    for (const Json& s : list) {
        // A copy: value() returns a temporary, which a reference would outlive.
        const Json backends = array_of(s.value("backends", Json()));
        std::string type = text(s.value("type", Json()));
        if (s.value("session_affinity", false))
            type += " (affinity)";
        if (s.contains("pending")) { // a LoadBalancer service LB IPAM gave no address
            t.add_row({"-", "<pending>", type, text(s["name"]), "pending: " + text(s["pending"])});
            continue;
        }
        if (s.contains("lb_ipam_pool"))
            type += " (pool " + text(s["lb_ipam_pool"]) + ")";
        if (backends.empty()) {
            t.add_row({text(s["id"]), text(s["frontend"]), type, text(s["name"]), "-"});
            continue;
        }
        for (size_t i = 0; i < backends.size(); ++i) {
            const Json& b = backends[i];
            std::string cell = std::to_string(i + 1) + " => " + text(b["address"]) + " (" + text(b["state"]) +
                               (b.value("local", false) ? ", local" : "") + ")";
            if (i == 0)
                t.add_row({text(s["id"]), text(s["frontend"]), type, text(s["name"]), cell});
            else
                t.add_row({"", "", "", "", cell});
        }
    }
    return t.render();
}

std::string format_lb_ipam_pools(const Json& data) {
    // Copies: value() returns a temporary, which a reference would outlive.
    const Json pools = array_of(data.is_object() ? data.value("pools", Json()) : Json());
    const Json pending = array_of(data.is_object() ? data.value("pending", Json()) : Json());
    std::string out;
    if (pools.empty()) {
        out = "no LB IPAM pools (lb_ipam.pools in the config)\n";
    } else {
        Table t({"NAME", "DISABLED", "CONFLICTING", "IPS AVAILABLE", "IPS USED", "BLOCKS"});
        t.align_right(3).align_right(4);
        for (const Json& p : pools)
            t.add_row({text(p["name"]), p.value("disabled", false) ? "true" : "false",
                       p.value("conflicting", false) ? "True" : "False", text(p["ips_available"]), text(p["ips_used"]),
                       joined(p["blocks"], ",")});
        out = t.render();
        for (const Json& p : pools)
            if (p.value("conflicting", false))
                out += "pool " + text(p["name"]) + " is conflicting: " + text(p["conflict"]) + "\n";
    }
    for (const Json& s : pending)
        out += "pending: " + text(s["name"]) + ": " + text(s["reason"]) + "\n";
    return out;
}

std::string format_maglev(const Json& data) {
    std::string out = "service " + text(data["name"]) + " " + text(data["frontend"]) + " (id " + text(data["id"]) +
                      "), M = " + text(data["m"]) + "\n";
    Table t({"BACKEND ID", "ADDRESS", "STATE", "SLOTS"});
    t.align_right(0).align_right(3);
    for (const Json& b : array_of(data["backends"]))
        t.add_row({text(b["id"]), text(b["address"]), text(b["state"]), text(b["slots"])});
    out += t.render() + "lookup table (slot: backend id):\n";
    const Json& table = array_of(data["table"]);
    for (size_t i = 0; i < table.size(); i += 20) {
        std::string line = std::to_string(i) + ":";
        for (size_t j = i; j < table.size() && j < i + 20; ++j)
            line += " " + text(table[j]);
        out += line + "\n";
    }
    return out;
}

std::string format_ct(const Json& data) {
    const Json& list = array_of(data);
    if (list.empty())
        return "no tracked flows\n";
    Table t({"PROTO", "SOURCE", "DESTINATION", "XLATE SOURCE", "XLATE DESTINATION", "STATE", "EXPIRES", "PACKETS",
             "BYTES", "FLAGS", "REVNAT", "BACKEND"});
    t.align_right(6).align_right(7).align_right(8).align_right(10);
    for (const Json& f : list)
        t.add_row({text(f["proto"]), text(f["src"]), text(f["dst"]), text(f["xlate_src"]), text(f["xlate_dst"]),
                   text(f.value("tcp_state", Json())), text(f["expires_in_s"]) + "s", text(f["packets"]),
                   text(f["bytes"]), joined(f["flags"], ","), text(f["rev_nat_id"]),
                   text(f.value("backend", Json()))});
    return t.render();
}

std::string format_nat(const Json& data) {
    const Json& list = array_of(data);
    if (list.empty())
        return "no NAT mappings\n";
    Table t({"PROTO", "DIR", "SOURCE", "DESTINATION", "XLATE"});
    for (const Json& m : list)
        t.add_row({text(m["proto"]), text(m["direction"]) == "out" ? "OUT" : "IN", text(m["src"]), text(m["dst"]),
                   (text(m["xlate_field"]) == "src" ? "XLATE_SRC " : "XLATE_DST ") + text(m["xlate"])});
    return t.render();
}

std::string format_applied(const Json& data) {
    const Json changed = array_of(data.is_object() && data.contains("changed") ? data["changed"] : Json());
    if (changed.empty())
        return "no change\n";
    std::string out;
    for (const Json& name : changed)
        out += text(name) + "\n";
    return out + std::to_string(changed.size()) + " changed; every worker uses generation " +
           cell(data, "generation") + "\n";
}

} // namespace podlane
