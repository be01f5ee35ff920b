#include "cli/observe.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <thread>

#include "client/api_client.h"

namespace podlane {

using Json = nlohmann::json;

namespace {

std::string field(const Json& side, const char* key) {
    if (!side.is_object() || !side.contains(key))
        return "";
    const Json& v = side[key];
    return v.is_string() ? v.get<std::string>() : v.dump();
}

bool side_is(const Json& side, const std::string& pod, const std::string& ip) {
    return (pod.empty() || field(side, "pod") == pod) && (ip.empty() || field(side, "ip") == ip);
}

std::string upper(std::string s) {
    for (char& c : s)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

std::string endpoint_text(const Json& side, const std::string& proto) {
    std::string s = side.contains("pod") ? field(side, "pod") + " (" + field(side, "ip") + ")" : field(side, "ip");
    if (proto == "TCP" || proto == "UDP")
        s += ":" + field(side, "port");
    return s;
}

} // namespace

bool flow_matches(const Json& e, const std::map<std::string, std::string>& f) {
    auto get = [&](const char* k) {
        auto it = f.find(k);
        return it == f.end() ? std::string() : it->second;
    };
    const Json& src = e.value("source", Json::object());
    const Json& dst = e.value("destination", Json::object());
    const Json& post_dst = e.value("post_destination", Json::object());
    auto either = [&](const std::string& pod, const std::string& ip) {
        return side_is(src, pod, ip) || side_is(dst, pod, ip) || (post_dst.is_object() && !post_dst.empty() && side_is(post_dst, pod, ip));
    };
    if ((!get("pod").empty() || !get("ip").empty()) && !either(get("pod"), get("ip")))
        return false;
    if (!side_is(src, get("from-pod"), get("from-ip")))
        return false;
    if ((!get("to-pod").empty() || !get("to-ip").empty()) && !side_is(dst, get("to-pod"), get("to-ip")) &&
        !(post_dst.is_object() && !post_dst.empty() && side_is(post_dst, get("to-pod"), get("to-ip"))))
        return false;
    if (!get("port").empty() && field(src, "port") != get("port") && field(dst, "port") != get("port") &&
        field(post_dst, "port") != get("port"))
        return false;
    if (!get("protocol").empty() && upper(get("protocol")) != e.value("protocol", ""))
        return false;
    if (!get("verdict").empty() && upper(get("verdict")) != e.value("verdict", ""))
        return false;
    return true;
}

std::string format_flow(const Json& e) {
    const double t = e.value("time", 0.0);
    const std::time_t secs = static_cast<std::time_t>(t);
    std::tm tm{};
    localtime_r(&secs, &tm);
    char when[32];
    std::snprintf(when, sizeof when, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>((t - static_cast<double>(secs)) * 1000));
    const std::string proto = e.value("protocol", "");
    std::string line = std::string(when) + "  " + endpoint_text(e.value("source", Json::object()), proto) + " -> " +
                       endpoint_text(e.value("destination", Json::object()), proto);
    const std::string verdict = e.value("verdict", "");
    if (verdict == "TRANSLATED")
        line += " => " + endpoint_text(e.value("post_source", Json::object()), proto) + " -> " +
                endpoint_text(e.value("post_destination", Json::object()), proto);
    line += "  " + verdict;
    if (verdict == "DROPPED")
        line += " (" + e.value("drop_reason", std::string()) + ")";
    line += "  " + (proto.empty() ? std::string("non-IPv4") : proto);
    if (e.contains("tcp_flags") && !e["tcp_flags"].get<std::string>().empty())
        line += " " + e["tcp_flags"].get<std::string>();
    line += "  " + e.value("in_port", std::string()) +
            (e.contains("out_port") ? " -> " + e.value("out_port", std::string()) : "");
    if (const uint64_t n = e.value("count", uint64_t{1}); n > 1)
        line += "  (" + std::to_string(n) + " events aggregated)";
    return line;
}

int run_observe(const std::string& socket, const std::map<std::string, std::string>& filters, unsigned last,
                bool follow, bool json) {
    uint64_t since = 0;
    bool first = true;
    for (;;) {
        auto r = call_api(socket, "flow.list", Json{{"since", since}, {"last", first ? last : 100000u}});
        if (!r) {
            std::cerr << "podlane: " << r.error().message << "\n";
            return 1;
        }
        if (first && !r->value("enabled", true)) {
            std::cerr << "podlane: observe is off on this node (observe.enabled in the config)\n";
            return 1;
        }
        for (const Json& e : r->value("events", Json::array()))
            if (flow_matches(e, filters))
                std::cout << (json ? e.dump() : format_flow(e)) << "\n";
        std::cout.flush();
        since = r->value("next", since);
        first = false;
        if (!follow)
            return 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
}

} // namespace podlane
