#include "cli/format.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <utility>

namespace podlane {

namespace {

// Display width of UTF-8 text, counted in code points.
std::size_t width(const std::string& s) {
    return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

const Json& field(const Json& obj, const char* key) {
    static const Json null;
    if (!obj.is_object())
        return null;
    auto it = obj.find(key);
    return it == obj.end() ? null : *it;
}

// A counter's value; anything but a non-negative integer counts as 0.
uint64_t number(const Json& v) {
    if (v.is_number_unsigned())
        return v.get<uint64_t>();
    return v.is_number_integer() ? static_cast<uint64_t>(std::max<int64_t>(0, v.get<int64_t>())) : 0;
}

// Sum of a drops-by-reason object.
/// "93.2%" of `total`, "-" when there is no total.
std::string percent(uint64_t part, uint64_t total) {
    if (total == 0)
        return "-";
    char buf[16];
    std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * static_cast<double>(part) / static_cast<double>(total));
    return buf;
}

uint64_t drop_sum(const Json& drops) {
    uint64_t sum = 0;
    if (drops.is_object())
        for (const auto& [reason, n] : drops.items())
            sum += number(n);
    return sum;
}

const Json& array_or_empty(const Json& v) {
    static const Json empty = Json::array();
    return v.is_array() ? v : empty;
}

// A count given either as a number or as an array of items.
std::string count(const Json& obj, const char* key) {
    const Json& v = field(obj, key);
    return v.is_array() ? std::to_string(v.size()) : cell(obj, key);
}

std::string duration(const Json& seconds) {
    if (!seconds.is_number())
        return "-";
    uint64_t s = number(seconds);
    std::pair<uint64_t, const char*> units[] = {{s / 86400, "d"}, {s / 3600 % 24, "h"}, {s / 60 % 60, "m"}, {s % 60, "s"}};
    std::string out;
    for (auto [n, unit] : units)
        if (n != 0 || !out.empty() || *unit == 's')
            out += (out.empty() ? "" : " ") + std::to_string(n) + unit;
    return out;
}

std::string labels(const Json& v) {
    if (!v.is_object() || v.empty())
        return "-";
    std::string out;
    for (const auto& [key, value] : v.items())
        out += (out.empty() ? "" : ",") + key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
    return out;
}

// An age in milliseconds: "850ms", "12.3s", then as duration() from a minute on.
std::string age(const Json& ms) {
    if (!ms.is_number())
        return "-";
    uint64_t n = number(ms);
    if (n < 1000)
        return std::to_string(n) + "ms";
    if (n < 60000)
        return std::to_string(n / 1000) + "." + std::to_string(n / 100 % 10) + "s";
    return duration(Json(n / 1000));
}

} // namespace

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

Table& Table::align_right(std::size_t column) {
    if (right_.size() <= column)
        right_.resize(column + 1, false);
    right_[column] = true;
    return *this;
}

Table& Table::add_row(std::vector<std::string> cells) {
    rows_.push_back(std::move(cells));
    return *this;
}

std::string Table::render() const {
    std::vector<const std::vector<std::string>*> lines;
    if (!headers_.empty())
        lines.push_back(&headers_);
    for (const auto& row : rows_)
        lines.push_back(&row);
    std::vector<std::size_t> widths;
    for (const auto* line : lines) {
        widths.resize(std::max(widths.size(), line->size()), 0);
        for (std::size_t c = 0; c < line->size(); ++c)
            widths[c] = std::max(widths[c], width((*line)[c]));
    }
    static const std::string blank;
    std::string out;
    for (const auto* line : lines) {
        std::string text;
        for (std::size_t c = 0; c < widths.size(); ++c) {
            const std::string& value = c < line->size() ? (*line)[c] : blank;
            std::string pad(widths[c] - width(value), ' ');
            bool right = c < right_.size() && right_[c];
            text += (c ? "  " : "") + (right ? pad + value : value + pad);
        }
        text.erase(text.find_last_not_of(' ') + 1);
        out += text + '\n';
    }
    return out;
}

std::string cell(const Json& obj, const char* key) {
    const Json& v = field(obj, key);
    if (v.is_null())
        return "-";
    if (v.is_string())
        return v.get<std::string>();
    if (v.is_boolean())
        return v.get<bool>() ? "yes" : "no";
    return v.dump();
}

namespace {
/// A string field, or `fallback` when it is missing or empty.
std::string text_or(const Json& data, const char* key, const std::string& fallback) {
    const Json& v = field(data, key);
    return v.is_string() && !v.get<std::string>().empty() ? v.get<std::string>() : fallback;
}
} // namespace

namespace {

/// cilium-dbg's "Routing: ... Host: BPF": who carries the node's own traffic.
std::string host_routing_text(const Json& data) {
    const std::string hr = text_or(data, "host_routing", "");
    if (hr.empty())
        return "-";
    return hr == "podlane" ? "podlane (node IP to the kernel over " + text_or(data, "host_path", "?") + ")"
                           : "none (podlane answers ping for the node IP only)";
}

/// cilium-dbg's "Masquerading: BPF   [eth0, eth1]   172.20.0.0/16 [IPv4: Enabled, IPv6: Disabled]".
std::string masquerading_text(const Json& data, const Json& svc) {
    const Json& m = field(data, "masquerade");
    if (!m.is_object())
        return cell(svc, "masquerading");
    if (!m.value("enabled", false))
        return "Disabled";
    std::string ifs, excluded;
    for (const Json& i : array_or_empty(field(m, "interfaces")))
        ifs += (ifs.empty() ? "" : ", ") + i.get<std::string>();
    for (const Json& e : array_or_empty(field(m, "excluded")))
        excluded += (excluded.empty() ? "" : ", ") + e.get<std::string>();
    return cell(m, "mode") + "   [" + ifs + "]   to " + cell(m, "to") + ", not to " +
           (excluded.empty() ? "-" : excluded) + " or node IPs   [IPv4: Enabled, IPv6: Disabled]";
}

/// Hubble's "Ok   Current/Max Flows: 4095/4095 (100.00%), Flows/s: 13.57   Metrics: Disabled".
std::string flow_observability_text(const Json& fo) {
    if (!fo.value("enabled", false))
        return "Disabled";
    const double cur = fo.value("current_flows", 0.0), max = fo.value("max_flows", 0.0);
    char buf[160];
    std::snprintf(buf, sizeof buf, "Ok   Current/Max Flows: %.0f/%.0f (%.2f%%), Flows/s: %.2f, seen: %.0f   Metrics: %s",
                  cur, max, max > 0 ? 100.0 * cur / max : 0.0, fo.value("flows_per_s", 0.0),
                  fo.value("flows_seen", 0.0), text_or(fo, "metrics", "-").c_str());
    return buf;
}

/// cilium-dbg's "Modules Health: Stopped(0) Degraded(0) OK(58)", with what is not ok.
std::string modules_text(const Json& mods) {
    size_t ok = 0, degraded = 0, stopped = 0;
    std::string bad;
    for (const Json& m : mods) {
        const std::string state = text_or(m, "state", "");
        ok += state == "ok";
        degraded += state == "degraded";
        stopped += state == "stopped";
        if (state == "degraded")
            bad += (bad.empty() ? "" : ", ") + cell(m, "name") +
                   (text_or(m, "message", "").empty() ? "" : " (" + cell(m, "message") + ")");
    }
    return "Stopped(" + std::to_string(stopped) + ") Degraded(" + std::to_string(degraded) + ") OK(" +
           std::to_string(ok) + ")" + (bad.empty() ? "" : ": degraded " + bad);
}

} // namespace

std::string format_status(const Json& data) {
    std::string workers = count(data, "workers");
    std::string lcores;
    for (const auto& w : array_or_empty(field(data, "workers")))
        lcores += (lcores.empty() ? "" : ", ") + cell(w, "lcore");
    if (!lcores.empty())
        workers += " (lcores " + lcores + ")";
    const Json& idle = field(data, "idle_sleep_us");
    std::string idle_text = !idle.is_number() ? "-" : number(idle) == 0 ? "busy poll" : cell(data, "idle_sleep_us") + " us";

    Table t;
    t.add_row({"Node:", cell(data, "node")})
        .add_row({"Version:", cell(data, "version")})
        .add_row({"Dataplane:", cell(data, "dataplane")})
        .add_row({"Uptime:", duration(field(data, "uptime_s"))})
        .add_row({"Pod CIDR:", cell(data, "pod_cidr")})
        .add_row({"Gateway IP:", cell(data, "gateway_ip")})
        .add_row({"Gateway MAC:", cell(data, "gateway_mac")})
        .add_row({"Routing:", cell(data, "routing")})
        .add_row({"Node IP:", text_or(data, "node_ip", "- (no uplink)")})
        .add_row({"Uplink:", text_or(data, "uplink", "-") + (text_or(data, "node_mac", "").empty() ? "" : " (" + cell(data, "node_mac") + ")")})
        .add_row({"Host path:", text_or(data, "host_path", "off")})
        .add_row({"Host Routing:", host_routing_text(data)})
        .add_row({"Remote nodes:", cell(data, "remote_nodes")})
        .add_row({"Workers:", workers})
        .add_row({"Endpoints:", count(data, "endpoints")})
        .add_row({"Ports:", count(data, "ports")})
        .add_row({"Hugepages:", cell(data, "hugepages")})
        .add_row({"Mbufs free:", cell(data, "mbufs_free") + " of " + cell(data, "mbufs_total")})
        .add_row({"Idle sleep:", idle_text})
        .add_row({"Snapshot generation:", cell(data, "snapshot_generation") + " (" +
                                              cell(data, "snapshots_pending_reclaim") + " awaiting reclaim)"});
    if (const Json& up = field(data, "updates"); up.is_object())
        t.add_row({"Publishes:", cell(up, "publishes") + " (" + cell(up, "coalesced") + " of " +
                                     cell(up, "source_deltas") + " source updates coalesced, at most " +
                                     cell(up, "max_publish_rate") + "/s)"});
    const Json& svc = field(data, "services");
    if (svc.is_object()) {
        const Json& ct = field(svc, "conntrack");
        const bool maglev = cell(svc, "algorithm") == "maglev";
        t.add_row({"KubeProxyReplacement:", "True (" + cell(svc, "algorithm") +
                                                (maglev ? ", M=" + cell(svc, "maglev_table_size") : "") + ")"})
            .add_row({"Services:", cell(svc, "frontends") + " frontends, " + cell(svc, "backends") + " backends"})
            .add_row({"NodePort:", cell(svc, "nodeport")})
            .add_row({"Masquerading:", masquerading_text(data, svc)})
            .add_row({"Conntrack:", cell(ct, "flows") + "/" + cell(ct, "capacity") + " flows, " +
                                        cell(ct, "insert_failures") + " insert failures"});
    }
    if (data.contains("encryption"))
        t.add_row({"Encryption:", cell(data, "encryption")});
    if (const Json& fo = field(data, "flow_observability"); fo.is_object())
        t.add_row({"Flow observability:", flow_observability_text(fo)});
    const Json& ipam = field(data, "ipam");
    if (ipam.is_object())
        t.add_row({"IPAM:", cell(ipam, "allocated") + "/" + cell(ipam, "capacity") + " allocated from " +
                                cell(ipam, "pod_cidr")});
    const Json& ctrls = field(data, "controllers");
    if (ctrls.is_array()) {
        size_t healthy = 0;
        std::string failing;
        for (const Json& c : ctrls) {
            if (c.value("healthy", false))
                ++healthy;
            else
                failing += (failing.empty() ? "" : ", ") + cell(c, "name") + " (" + cell(c, "last_error") + ")";
        }
        t.add_row({"Controller status:", std::to_string(healthy) + "/" + std::to_string(ctrls.size()) + " healthy" +
                                             (failing.empty() ? "" : ": failing " + failing)});
    }
    const Json& src = field(data, "source");
    if (src.is_object())
        t.add_row({"KVStore:", cell(src, "kind") != "etcd" ? "Disabled"
                               : (cell(src, "state") == "synced" ? "Ok   etcd: " : "Failure   etcd: ") +
                                     cell(src, "endpoint") + " (" + cell(src, "state") + ")"});
    if (src.is_object()) {
        std::string text = cell(src, "kind");
        if (!text_or(src, "endpoint", "").empty())
            text += " " + cell(src, "endpoint");
        text += ": " + cell(src, "state");
        if (src.contains("events"))
            text += ", " + cell(src, "events") + " events, " + cell(src, "updates_applied") + " applied";
        if (field(src, "reconnects").is_number() && number(field(src, "reconnects")) > 0)
            text += ", " + cell(src, "reconnects") + " reconnects";
        t.add_row({"Cluster source:", text});
        if (!text_or(src, "last_error", "").empty())
            t.add_row({"  last error:", cell(src, "last_error")});
    }
    const Json& bgp = field(data, "bgp");
    if (bgp.is_object())
        t.add_row({"BGP:", cell(bgp, "established") + "/" + cell(bgp, "peers") + " peers established, " +
                               cell(bgp, "routes") + " routes advertised" +
                               (bgp.value("running", false) ? "" : " (BIRD NOT RUNNING)")});
    const Json& restart = field(data, "restart");
    if (restart.is_object()) {
        const std::string from = text_or(restart, "restored_from", "none");
        std::string line = from == "refused" ? "state file REFUSED: " + text_or(restart, "error", "?")
                           : from == "none"  ? "no state restored"
                                             : cell(restart, "flows_restored") + " flows, " +
                                                   cell(restart, "affinity_restored") + " affinity pins, " +
                                                   cell(restart, "neighbors_restored") + " neighbours restored from " + from;
        line += ", " + cell(restart, "pods_adopted") + " pods re-attached";
        if (restart.value("previous_crashed", false))
            line += "; previous podlaned CRASHED, about " + cell(restart, "flows_lost") + " flows lost";
        t.add_row({"Restart:", line});
    }
    if (const Json& mesh = field(data, "clustermesh"); mesh.is_object() && mesh.value("enabled", false))
        t.add_row({"ClusterMesh:", clustermesh_status_line(mesh)});
    if (const Json& mods = field(data, "modules"); mods.is_array())
        t.add_row({"Modules Health:", modules_text(mods)});
    std::string health_nodes;
    if (const Json& ch = field(data, "cluster_health"); ch.is_object()) {
        t.add_row({"Cluster health:", cluster_health_text(ch)});
        if (const Json& h = field(data, "health"); h.is_object()) // status --verbose
            health_nodes = format_health_nodes(h, "  ");
    }
    const std::string metrics = text_or(data, "metrics", "-");
    t.add_row({"Metrics:", metrics == "off" || metrics == "-" ? metrics : "http://" + metrics + "/metrics"});
    return t.render() + health_nodes;
}

namespace {
/// How a pod is attached: "tap", "vhost-user PATH" or "memif ROLE PATH [zero-copy]".
std::string attachment(const Json& ep) {
    if (const std::string vhost = text_or(ep, "vhost_socket", ""); !vhost.empty())
        return "vhost-user " + vhost;
    if (const std::string memif = text_or(ep, "memif_socket", ""); !memif.empty())
        return "memif " + text_or(ep, "memif_role", "?") + " " + memif +
               (field(ep, "memif_zero_copy") == true ? " zero-copy" : "");
    return "tap";
}
} // namespace

std::string format_endpoints(const Json& data) {
    const Json list = data.is_object() ? Json::array({data}) : array_or_empty(data);
    if (list.empty())
        return "no endpoints\n";
    // Policy enforcement per direction, like cilium-dbg endpoint list (when the agent reports it).
    bool with_policy = false;
    for (const auto& ep : list)
        with_policy |= ep.is_object() && ep.contains("policy");
    std::vector<std::string> head{"ID", "IP", "MAC", "PORT", "NETNS", "ATTACHED", "LABELS"};
    if (with_policy) {
        head.push_back("POLICY (INGRESS)");
        head.push_back("POLICY (EGRESS)");
    }
    Table t(head);
    for (const auto& ep : list) {
        std::vector<std::string> row{cell(ep, "id"), cell(ep, "ip"), cell(ep, "mac"), cell(ep, "port_id"), cell(ep, "netns"),
                                     attachment(ep), labels(field(ep, "labels"))};
        if (with_policy) {
            const Json& pol = field(ep, "policy");
            row.push_back(cell(pol, "ingress") == "enabled" ? "Enabled" : "Disabled");
            row.push_back(cell(pol, "egress") == "enabled" ? "Enabled" : "Disabled");
        }
        t.add_row(std::move(row));
    }
    return t.render();
}

std::string format_stats(const Json& data) {
    const Json& workers = array_or_empty(field(data, "workers"));
    const Json& totals = field(data, "totals");

    // BUSY: the share of the time since start a worker spent in polling
    // rounds that found packets; CYC/PKT: those rounds' TSC cycles per packet.
    Table counters({"WORKER", "LCORE", "RX", "TX", "FWD", "ENCAP", "DECAP", "ARP", "ICMP", "HELD", "REJECTED", "DROPS",
                    "BUSY", "CYC/PKT"});
    for (std::size_t c = 1; c < 14; ++c)
        counters.align_right(c);
    const uint64_t elapsed = number(field(data, "elapsed_cycles"));
    auto add_counters = [&](std::string name, std::string lcore, const Json& w, uint64_t span) {
        const uint64_t busy = number(field(w, "busy_cycles")), rx = number(field(w, "rx_packets"));
        counters.add_row({std::move(name), std::move(lcore), cell(w, "rx_packets"), cell(w, "tx_packets"),
                          cell(w, "forwarded"), cell(w, "encapsulated"), cell(w, "decapsulated"),
                          cell(w, "arp_replies"), cell(w, "icmp_replies"), cell(w, "held"), cell(w, "rejected"),
                          std::to_string(drop_sum(field(w, "drops"))), percent(busy, span),
                          rx == 0 ? "-" : std::to_string(busy / rx)});
    };
    for (const auto& w : workers)
        add_counters(cell(w, "id"), cell(w, "lcore"), w, elapsed);
    if (totals.is_object())
        add_counters("TOTAL", "", totals, elapsed * workers.size());

    Table drops({"WORKER", "REASON", "PACKETS"});
    drops.align_right(2);
    auto add_drops = [&](const std::string& name, const Json& w) {
        const Json& d = field(w, "drops");
        if (d.is_object())
            for (const auto& [reason, n] : d.items())
                if (number(n) != 0)
                    drops.add_row({name, reason, std::to_string(number(n))});
    };
    for (const auto& w : workers)
        add_drops(cell(w, "id"), w);
    add_drops("TOTAL", totals);

    Table ports({"PORT", "NAME", "RX", "TX", "RX-BYTES", "TX-BYTES", "RX-ERR", "TX-ERR", "MISSED"});
    for (std::size_t c : {0, 2, 3, 4, 5, 6, 7, 8})
        ports.align_right(c);
    for (const auto& p : array_or_empty(field(data, "ports")))
        ports.add_row({cell(p, "port_id"), cell(p, "name"), cell(p, "rx_packets"), cell(p, "tx_packets"),
                       cell(p, "rx_bytes"), cell(p, "tx_bytes"), cell(p, "rx_errors"), cell(p, "tx_errors"),
                       cell(p, "rx_missed")});

    std::string out = counters.render();
    out += drops.rows() ? "\nDrops by reason:\n" + drops.render() : "\nDrops by reason: no drops\n";
    out += ports.rows() ? "\nPorts:\n" + ports.render() : "\nPorts: none\n";
    const Json& ct = field(data, "conntrack");
    if (ct.is_object())
        out += "\nConntrack: " + cell(ct, "flows") + " of " + cell(ct, "capacity") + " flows, " +
               cell(ct, "insert_failures") + " insert failures, " + cell(ct, "affinity_entries") +
               " affinity entries\n";
    if (const Json& fr = field(ct, "fragments"); fr.is_object())
        out += "IPv4 fragments: " + cell(fr, "datagrams") + " of " + cell(fr, "capacity") + " datagrams tracked; " +
               cell(fr, "tracked") + " first fragments remembered, " + cell(fr, "hits") + " later ones found, " +
               cell(fr, "misses") + " not found (dropped), " + cell(fr, "table_full") + " evicted from a full table\n";
    return out;
}

std::string format_stage_stats(const Json& data) {
    Table t({"WORKER", "STAGE", "IN", "TRANSLATED", "FINISHED"});
    t.align_right(2).align_right(3).align_right(4);
    auto add_stages = [&](const std::string& name, const Json& w) {
        for (const auto& s : array_or_empty(field(w, "stages")))
            t.add_row({name, cell(s, "stage"), cell(s, "in"), cell(s, "translated"), cell(s, "finished")});
    };
    for (const auto& w : array_or_empty(field(data, "workers")))
        add_stages(cell(w, "id"), w);
    add_stages("TOTAL", field(data, "totals"));
    if (t.rows() == 0)
        return "no stage counters\n";
    return t.render();
}

Json stage_stats(const Json& data) {
    Json workers = Json::array();
    for (const auto& w : array_or_empty(field(data, "workers")))
        workers.push_back(Json{{"id", field(w, "id")}, {"lcore", field(w, "lcore")}, {"stages", field(w, "stages")}});
    return Json{{"workers", workers}, {"totals", Json{{"stages", field(field(data, "totals"), "stages")}}}};
}

std::string format_ipcache(const Json& data) {
    const Json& list = array_or_empty(data);
    if (list.empty())
        return "no ipcache entries\n";
    Table t({"PREFIX", "IDENTITY", "TUNNELENDPOINT", "SOURCE"});
    for (const auto& e : list) {
        std::string identity = cell(e, "identity");
        const Json& name = field(e, "identity_name");
        if (name.is_string() && !name.get_ref<const std::string&>().empty())
            identity += " (" + name.get<std::string>() + ")";
        t.add_row({cell(e, "prefix"), identity, cell(e, "tunnel_endpoint"), cell(e, "source")});
    }
    return t.render();
}

std::string format_identities(const Json& data) {
    const Json& list = array_or_empty(data);
    if (list.empty())
        return "no identities\n";
    Table t({"ID", "LABELS", "ENDPOINTS"});
    t.align_right(0).align_right(2);
    for (const auto& id : list) {
        std::string text;
        for (const auto& label : array_or_empty(field(id, "labels")))
            text += (text.empty() ? "" : ",") + (label.is_string() ? label.get<std::string>() : label.dump());
        t.add_row({cell(id, "id"), text.empty() ? "-" : text, cell(id, "endpoints")});
    }
    return t.render();
}

std::string format_neighbors(const Json& data) {
    const Json& list = array_or_empty(data);
    if (list.empty())
        return "no neighbors\n";
    Table t({"IP", "MAC", "STATE", "PORT", "AGE"});
    t.align_right(4);
    for (const auto& n : list) {
        const Json& mac = field(n, "mac");
        bool no_mac = !mac.is_string() || mac.get_ref<const std::string&>().empty();
        t.add_row({cell(n, "ip"), no_mac ? "-" : cell(n, "mac"), cell(n, "state"), cell(n, "port"),
                   age(field(n, "age_ms"))});
    }
    return t.render();
}

} // namespace podlane
