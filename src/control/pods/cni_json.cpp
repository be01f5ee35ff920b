#include "control/pods/cni_json.h"

#include <string>

namespace podlane {

using Json = nlohmann::json;

namespace {

const char* proto_name(L4Proto p) { return p == L4Proto::Tcp ? "TCP" : "UDP"; }

/// A string field, empty when absent; anything else than a string is an error.
Result<std::string> text(const Json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null())
        return std::string();
    if (!it->is_string())
        return make_error(std::string(key) + ": " + it->dump() + " is not a string");
    return it->get<std::string>();
}

} // namespace

Json attachment_json(const CniAttachment& a) {
    Json host_ports = Json::array();
    for (const HostPortConfig& hp : a.host_ports)
        host_ports.push_back(Json{{"host_port", hp.host_port},
                                  {"container_port", hp.container_port},
                                  {"protocol", proto_name(hp.protocol)}});
    Json labels = Json::object();
    for (const auto& [k, v] : a.labels)
        labels[k] = v;
    return Json{{"container_id", a.key.container_id},
                {"ifname", a.key.ifname},
                {"netns", a.netns},
                {"pod_namespace", a.pod_namespace},
                {"pod_name", a.pod_name},
                {"endpoint_id", a.endpoint_id},
                {"ip", a.ip.str()},
                {"mac", a.mac.str()},
                {"labels", labels},
                {"host_ports", host_ports},
                {"vhost_socket", a.vhost_socket}};
}

Result<CniAttachment> attachment_from_json(const Json& j) {
    if (!j.is_object())
        return make_error("an attachment is not a JSON object");
    CniAttachment a;
    struct Str {
        const char* key;
        std::string* out;
    };
    for (Str s : {Str{"container_id", &a.key.container_id}, Str{"ifname", &a.key.ifname}, Str{"netns", &a.netns},
                  Str{"pod_namespace", &a.pod_namespace}, Str{"pod_name", &a.pod_name},
                  Str{"endpoint_id", &a.endpoint_id}, Str{"vhost_socket", &a.vhost_socket}}) {
        auto v = text(j, s.key);
        if (!v)
            return v.error();
        *s.out = *v;
    }
    if (a.key.container_id.empty() || a.key.ifname.empty() || a.netns.empty() || a.endpoint_id.empty())
        return make_error("an attachment lacks container_id, ifname, netns or endpoint_id");
    auto ip_text = text(j, "ip");
    auto ip = ip_text ? Ipv4Addr::parse(*ip_text) : std::nullopt;
    if (!ip)
        return make_error("ip: " + j.value("ip", Json()).dump() + " is not an IPv4 address");
    a.ip = *ip;
    auto mac_text = text(j, "mac");
    auto mac = mac_text ? MacAddr::parse(*mac_text) : std::nullopt;
    if (!mac)
        return make_error("mac: " + j.value("mac", Json()).dump() + " is not a MAC address");
    a.mac = *mac;
    if (auto it = j.find("labels"); it != j.end() && !it->is_null()) {
        if (!it->is_object())
            return make_error("labels: not an object");
        for (const auto& [k, v] : it->items()) {
            if (!v.is_string())
                return make_error("labels." + k + ": not a string");
            a.labels[k] = v.get<std::string>();
        }
    }
    if (auto it = j.find("host_ports"); it != j.end() && !it->is_null()) {
        if (!it->is_array())
            return make_error("host_ports: not an array");
        for (const Json& hp : *it) {
            auto port = [&](const char* key) -> int {
                auto f = hp.find(key);
                return f != hp.end() && f->is_number_integer() && *f >= 1 && *f <= 65535 ? f->get<int>() : 0;
            };
            const std::string proto = hp.is_object() ? hp.value("protocol", std::string("TCP")) : "";
            if (port("host_port") == 0 || port("container_port") == 0 || (proto != "TCP" && proto != "UDP"))
                return make_error("host_ports: " + hp.dump() + " is not {host_port, container_port, protocol}");
            a.host_ports.push_back(HostPortConfig{static_cast<uint16_t>(port("host_port")),
                                                  static_cast<uint16_t>(port("container_port")),
                                                  proto == "TCP" ? L4Proto::Tcp : L4Proto::Udp});
        }
    }
    return a;
}

} // namespace podlane
