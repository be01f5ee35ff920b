#include "control/api_cni.h"

#include <initializer_list>
#include <string_view>
#include <vector>

namespace podlane {

namespace {

/// A bad argument; caught in dispatch_cni and returned as its error.
struct BadArgs {
    std::string message;
};

std::string show(const Json& v) {
    std::string s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
    return s.size() > 64 ? s.substr(0, 61) + "..." : s;
}

void check_known(const std::string& cmd, const Json& args, std::initializer_list<std::string_view> known) {
    for (const auto& [key, value] : args.items()) {
        bool found = false;
        for (auto k : known)
            found = found || k == key;
        if (!found)
            throw BadArgs{cmd + ": unknown argument \"" + key + "\""};
    }
}

std::string text(const std::string& cmd, const Json& args, const char* key, bool required) {
    auto it = args.find(key);
    if (it == args.end() || it->is_null() || (it->is_string() && it->get_ref<const std::string&>().empty())) {
        if (required)
            throw BadArgs{cmd + ": missing argument \"" + key + "\""};
        return {};
    }
    if (!it->is_string())
        throw BadArgs{cmd + ": " + key + ": " + show(*it) + " is not a string"};
    return it->get<std::string>();
}

CniKey key_of(const std::string& cmd, const Json& args) {
    return CniKey{text(cmd, args, "container_id", true), text(cmd, args, "ifname", true)};
}

std::vector<HostPortConfig> host_ports(const std::string& cmd, const Json& list) {
    if (list.is_null())
        return {};
    if (!list.is_array())
        throw BadArgs{cmd + ": host_ports: " + show(list) + " is not an array"};
    std::vector<HostPortConfig> out;
    for (size_t i = 0; i < list.size(); ++i) {
        const Json& hp = list[i];
        const std::string where = cmd + ": host_ports[" + std::to_string(i) + "]";
        if (!hp.is_object())
            throw BadArgs{where + ": " + show(hp) + " is not an object"};
        auto port = [&](const char* k) -> uint16_t {
            auto f = hp.find(k);
            if (f == hp.end() || !f->is_number_integer() || *f < 1 || *f > 65535)
                throw BadArgs{where + "." + k + ": expected a port in 1..65535"};
            return f->get<uint16_t>();
        };
        const std::string proto = hp.value("protocol", std::string("TCP"));
        if (proto != "TCP" && proto != "tcp" && proto != "UDP" && proto != "udp")
            throw BadArgs{where + ".protocol: " + show(proto) + " is not TCP or UDP"};
        out.push_back(HostPortConfig{port("host_port"), port("container_port"),
                                     proto == "TCP" || proto == "tcp" ? L4Proto::Tcp : L4Proto::Udp});
    }
    return out;
}

CniAddRequest add_request(const std::string& cmd, const Json& args) {
    check_known(cmd, args, {"container_id", "ifname", "netns", "pod_namespace", "pod_name", "labels", "ip", "mac",
                            "host_ports", "vhost", "vhost_socket_dir"});
    CniAddRequest r;
    r.key = key_of(cmd, args);
    r.netns = text(cmd, args, "netns", true);
    r.pod_namespace = text(cmd, args, "pod_namespace", false);
    r.pod_name = text(cmd, args, "pod_name", false);
    if (auto it = args.find("labels"); it != args.end() && !it->is_null()) {
        if (!it->is_object())
            throw BadArgs{cmd + ": labels: " + show(*it) + " is not an object"};
        for (const auto& [k, v] : it->items()) {
            if (k.empty() || !v.is_string())
                throw BadArgs{cmd + ": labels: expected non-empty keys with string values"};
            r.labels[k] = v.get<std::string>();
        }
    }
    if (auto ip = text(cmd, args, "ip", false); !ip.empty()) {
        r.ip = Ipv4Addr::parse(ip);
        if (!r.ip)
            throw BadArgs{cmd + ": ip: " + show(ip) + " is not an IPv4 address"};
    }
    if (auto mac = text(cmd, args, "mac", false); !mac.empty()) {
        r.mac = MacAddr::parse(mac);
        if (!r.mac)
            throw BadArgs{cmd + ": mac: " + show(mac) + " is not a MAC address (expected aa:bb:cc:dd:ee:ff)"};
    }
    r.host_ports = host_ports(cmd, args.value("host_ports", Json()));
    if (auto it = args.find("vhost"); it != args.end() && !it->is_null()) {
        if (!it->is_boolean())
            throw BadArgs{cmd + ": vhost: " + show(*it) + " is not true or false"};
        r.vhost = it->get<bool>();
    }
    r.vhost_socket_dir = text(cmd, args, "vhost_socket_dir", false);
    return r;
}

std::vector<CniKey> valid_keys(const std::string& cmd, const Json& args) {
    check_known(cmd, args, {"valid"});
    auto it = args.find("valid");
    if (it == args.end() || !it->is_array())
        throw BadArgs{cmd + ": missing argument \"valid\" (an array of {container_id, ifname})"};
    std::vector<CniKey> keys;
    for (const Json& v : *it) {
        if (!v.is_object())
            throw BadArgs{cmd + ": valid: " + show(v) + " is not an object"};
        keys.push_back(key_of(cmd, v));
    }
    return keys;
}

Result<Json> serve(ControlApi& api, const std::string& cmd, const Json& args) {
    if (cmd == "cni.add")
        return api.cni_add(add_request(cmd, args));
    if (cmd == "cni.gc")
        return api.cni_gc(valid_keys(cmd, args));
    if (cmd == "cni.del" || cmd == "cni.check") {
        check_known(cmd, args, {"container_id", "ifname"});
        return cmd == "cni.del" ? api.cni_del(key_of(cmd, args)) : api.cni_check(key_of(cmd, args));
    }
    check_known(cmd, args, {});
    return cmd == "cni.list" ? api.cni_list() : api.cni_status();
}

} // namespace

std::optional<Result<Json>> dispatch_cni(ControlApi& api, const std::string& cmd, const Json& args) {
    if (cmd != "cni.add" && cmd != "cni.del" && cmd != "cni.check" && cmd != "cni.gc" && cmd != "cni.list" &&
        cmd != "cni.status")
        return std::nullopt;
    try {
        return serve(api, cmd, args);
    } catch (const BadArgs& e) {
        return Result<Json>(make_error(e.message));
    }
}

} // namespace podlane
