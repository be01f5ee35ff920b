#include "cni/cni_result.h"

namespace podlane::cni {

Json add_result(const NetConf& conf, const Json& attachment) {
    const bool v1_1 = version_at_least(conf.cni_version, "1.1.0");
    const bool v1 = version_at_least(conf.cni_version, "1.0.0");
    Json result = conf.prev_result.is_object() ? conf.prev_result : Json::object();
    for (const char* list : {"interfaces", "ips", "routes"})
        if (!result.contains(list) || !result[list].is_array())
            result[list] = Json::array();

    const std::string gateway = attachment.at("gateway").get<std::string>();
    Json iface{{"name", attachment.at("ifname")}, {"mac", attachment.at("mac")}, {"sandbox", attachment.at("netns")}};
    if (v1_1) {
        iface["mtu"] = attachment.at("mtu");
        if (const std::string sock = attachment.value("vhost_socket", ""); !sock.empty())
            iface["socketPath"] = sock;
    }
    const size_t index = result["interfaces"].size();
    result["interfaces"].push_back(std::move(iface));

    Json ip{{"interface", index},
            {"address", attachment.at("ip").get<std::string>() + "/" + std::to_string(attachment.value("prefix_len", 32))},
            {"gateway", gateway}};
    if (!v1)
        ip["version"] = "4";
    result["ips"].push_back(std::move(ip));
    result["routes"].push_back(Json{{"dst", "0.0.0.0/0"}, {"gw", gateway}});
    if (!result.contains("dns") || !result["dns"].is_object() || result["dns"].empty())
        result["dns"] = conf.dns;
    result["cniVersion"] = conf.cni_version;
    return result;
}

Json error_json(const CniError& e, const std::string& cni_version) {
    Json j{{"cniVersion", cni_version}, {"code", static_cast<uint32_t>(e.code)}, {"msg", e.msg}};
    if (!e.details.empty())
        j["details"] = e.details;
    return j;
}

Json version_json() {
    Json versions = Json::array();
    for (const char* v : kSupportedVersions)
        versions.push_back(v);
    return Json{{"cniVersion", versions.back()}, {"supportedVersions", versions}};
}

std::optional<std::string> prev_result_mismatch(const Json& prev, const Json& attachment, const std::string& ifname,
                                                const std::string& netns) {
    const Json& ifaces = prev.contains("interfaces") ? prev["interfaces"] : Json::array();
    std::optional<size_t> index;
    for (size_t i = 0; ifaces.is_array() && i < ifaces.size(); ++i)
        if (ifaces[i].is_object() && ifaces[i].value("name", "") == ifname && ifaces[i].value("sandbox", "") == netns)
            index = i;
    if (!index)
        return "prevResult has no interface " + ifname + " in " + netns;
    const std::string want = attachment.at("ip").get<std::string>();
    const Json& ips = prev.contains("ips") ? prev["ips"] : Json::array();
    for (const Json& ip : ips) {
        if (!ip.is_object() || !ip.contains("interface") || ip["interface"] != *index)
            continue;
        const std::string addr = ip.value("address", "");
        if (addr.substr(0, addr.find('/')) == want)
            return std::nullopt;
    }
    return "prevResult gives " + ifname + " no address " + want + ", which podlaned allocated to it";
}

} // namespace podlane::cni
