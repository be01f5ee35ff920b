#include "control/api/api_args.h"

namespace podlane {

using Json = nlohmann::json;

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
            throw RequestError{cmd + ": unknown argument \"" + key + "\""};
    }
}

std::optional<std::string> optional_string(const std::string& cmd, const Json& args, const char* key) {
    auto it = args.find(key);
    if (it == args.end() || it->is_null())
        return std::nullopt;
    if (!it->is_string())
        throw RequestError{cmd + ": " + key + ": " + show(*it) + " is not a string"};
    if (it->get_ref<const std::string&>().empty())
        throw RequestError{cmd + ": " + key + ": must not be empty"};
    return it->get<std::string>();
}

std::string required_string(const std::string& cmd, const Json& args, const char* key) {
    auto value = optional_string(cmd, args, key);
    if (!value)
        throw RequestError{cmd + ": missing argument \"" + key + "\""};
    return *value;
}

std::optional<Ipv4Addr> ipv4_arg(const std::string& cmd, const Json& args, const char* key, bool required) {
    auto text = required ? std::optional(required_string(cmd, args, key)) : optional_string(cmd, args, key);
    if (!text)
        return std::nullopt;
    auto ip = Ipv4Addr::parse(*text);
    if (!ip)
        throw RequestError{cmd + ": " + key + ": " + show(*text) + " is not an IPv4 address"};
    return ip;
}

std::optional<MacAddr> mac_arg(const std::string& cmd, const Json& args, const char* key) {
    auto text = optional_string(cmd, args, key);
    if (!text)
        return std::nullopt;
    auto mac = MacAddr::parse(*text);
    if (!mac)
        throw RequestError{cmd + ": " + key + ": " + show(*text) + " is not a MAC address (expected aa:bb:cc:dd:ee:ff)"};
    return mac;
}

std::map<std::string, std::string> labels_arg(const std::string& cmd, const Json& args) {
    std::map<std::string, std::string> labels;
    auto it = args.find("labels");
    if (it == args.end() || it->is_null())
        return labels;
    if (!it->is_object())
        throw RequestError{cmd + ": labels: " + show(*it) + " is not an object"};
    for (const auto& [key, value] : it->items()) {
        if (key.empty())
            throw RequestError{cmd + ": labels: a label key must not be empty"};
        if (!value.is_string())
            throw RequestError{cmd + ": labels." + key + ": " + show(value) + " is not a string"};
        labels[key] = value.get<std::string>();
    }
    return labels;
}

std::vector<HostPortConfig> host_ports_arg(const std::string& cmd, const Json& args, bool require_container_port) {
    std::vector<HostPortConfig> out;
    auto it = args.find("host_ports");
    if (it == args.end() || it->is_null())
        return out;
    if (!it->is_array())
        throw RequestError{cmd + ": host_ports: " + show(*it) + " is not an array"};
    for (size_t i = 0; i < it->size(); ++i) {
        const Json& hp = (*it)[i];
        const std::string where = cmd + ": host_ports[" + std::to_string(i) + "]";
        if (!hp.is_object())
            throw RequestError{where + ": " + show(hp) + " is not an object"};
        auto port = [&](const char* key, bool required) -> uint16_t {
            auto f = hp.find(key);
            if (f == hp.end() || f->is_null()) {
                if (required)
                    throw RequestError{where + ": missing \"" + key + "\""};
                return 0;
            }
            if (!f->is_number_integer() || f->get<int64_t>() < 1 || f->get<int64_t>() > 65535)
                throw RequestError{where + "." + key + ": " + show(*f) + " is not a port (1..65535)"};
            return static_cast<uint16_t>(f->get<int64_t>());
        };
        HostPortConfig h;
        h.host_port = port("host_port", true);
        h.container_port = port("container_port", require_container_port);
        if (h.container_port == 0)
            h.container_port = h.host_port;
        const std::string proto = hp.value("protocol", std::string("TCP"));
        if (proto == "TCP" || proto == "tcp")
            h.protocol = L4Proto::Tcp;
        else if (proto == "UDP" || proto == "udp")
            h.protocol = L4Proto::Udp;
        else
            throw RequestError{where + ".protocol: " + show(proto) + " is not TCP or UDP"};
        out.push_back(h);
    }
    return out;
}

} // namespace podlane
