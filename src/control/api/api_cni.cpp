#include "control/api/api_cni.h"

#include <vector>

#include "control/api/api_args.h"

namespace podlane {

namespace {

CniKey key_of(const std::string& cmd, const Json& args) {
    return CniKey{required_string(cmd, args, "container_id"), required_string(cmd, args, "ifname")};
}

CniAddRequest add_request(const std::string& cmd, const Json& args) {
    check_known(cmd, args, {"container_id", "ifname", "netns", "pod_namespace", "pod_name", "labels", "ip", "mac",
                            "host_ports", "vhost", "vhost_socket_dir"});
    CniAddRequest r;
    r.key = key_of(cmd, args);
    r.netns = required_string(cmd, args, "netns");
    r.pod_namespace = optional_string(cmd, args, "pod_namespace").value_or("");
    r.pod_name = optional_string(cmd, args, "pod_name").value_or("");
    r.labels = labels_arg(cmd, args);
    r.ip = ipv4_arg(cmd, args, "ip", false);
    r.mac = mac_arg(cmd, args, "mac");
    r.host_ports = host_ports_arg(cmd, args, true);
    if (auto it = args.find("vhost"); it != args.end() && !it->is_null()) {
        if (!it->is_boolean())
            throw RequestError{cmd + ": vhost: " + show(*it) + " is not true or false"};
        r.vhost = it->get<bool>();
    }
    r.vhost_socket_dir = optional_string(cmd, args, "vhost_socket_dir").value_or("");
    return r;
}

std::vector<CniKey> valid_keys(const std::string& cmd, const Json& args) {
    check_known(cmd, args, {"valid"});
    auto it = args.find("valid");
    if (it == args.end() || !it->is_array())
        throw RequestError{cmd + ": missing argument \"valid\" (an array of {container_id, ifname})"};
    std::vector<CniKey> keys;
    for (const Json& v : *it) {
        if (!v.is_object())
            throw RequestError{cmd + ": valid: " + show(v) + " is not an object"};
        keys.push_back(key_of(cmd, v));
    }
    return keys;
}

Json cni_add(ControlApi& api, const std::string& cmd, const Json& args) {
    return data_of(api.cni_add(add_request(cmd, args)));
}

Json cni_del(ControlApi& api, const std::string& cmd, const Json& args) {
    check_known(cmd, args, {"container_id", "ifname"});
    return data_of(api.cni_del(key_of(cmd, args)));
}

Json cni_check(ControlApi& api, const std::string& cmd, const Json& args) {
    check_known(cmd, args, {"container_id", "ifname"});
    return data_of(api.cni_check(key_of(cmd, args)));
}

Json cni_gc(ControlApi& api, const std::string& cmd, const Json& args) {
    return data_of(api.cni_gc(valid_keys(cmd, args)));
}

constexpr ApiCommand kCniCommands[] = {
    {"cni.add", cni_add},
    {"cni.del", cni_del},
    {"cni.check", cni_check},
    {"cni.gc", cni_gc},
    {"cni.list", serve_no_args<&ControlApi::cni_list>},
    {"cni.status", serve_no_args<&ControlApi::cni_status>},
};

} // namespace

std::span<const ApiCommand> cni_commands() { return kCniCommands; }

} // namespace podlane
