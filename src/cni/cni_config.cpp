#include "cni/cni_config.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <tuple>

namespace podlane::cni {

namespace {

/// A config problem; caught in parse_netconf.
struct Bad {
    CniError error;
};

[[noreturn]] void invalid(const std::string& msg, const std::string& details = {}) {
    throw Bad{cni_error(Code::InvalidConfig, msg, details)};
}

std::string show(const Json& v) {
    std::string s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
    return s.size() > 64 ? s.substr(0, 61) + "..." : s;
}

std::string supported_list() {
    std::string s;
    for (const char* v : kSupportedVersions)
        s += (s.empty() ? "" : ", ") + std::string(v);
    return s;
}

/// The string at `key` (absent: `fallback`); `where` prefixes messages.
std::string str(const Json& obj, const char* key, const std::string& where, std::string fallback = {}) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null())
        return fallback;
    if (!it->is_string())
        invalid(where + key + ": " + show(*it) + " is not a string");
    return it->get<std::string>();
}

Ipv4Addr address(const Json& v, const std::string& where) {
    const std::string s = v.is_string() ? v.get<std::string>() : "";
    auto ip = Ipv4Addr::parse(std::string_view(s).substr(0, s.find('/')));
    if (!ip)
        invalid(where + ": " + show(v) + " is not an IPv4 address", "expected \"10.210.1.11\" or \"10.210.1.11/24\"");
    return *ip;
}

MacAddr mac_of(const Json& v, const std::string& where) {
    auto mac = v.is_string() ? MacAddr::parse(v.get<std::string>()) : std::nullopt;
    if (!mac || mac->is_zero() || mac->is_multicast())
        invalid(where + ": " + show(v) + " is not a unicast MAC address", "expected \"0a:58:0a:d2:01:0b\"");
    return *mac;
}

void read_ips(const Json& list, const std::string& where, NetConf& c) {
    if (!list.is_array())
        invalid(where + ": " + show(list) + " is not an array of addresses");
    for (size_t i = 0; i < list.size(); ++i)
        c.ips.push_back(address(list[i], where + "[" + std::to_string(i) + "]"));
}

/// args.cni: the conventions' labels, ips and mac.
void read_args(const Json& conf, NetConf& c) {
    auto args = conf.find("args");
    if (args == conf.end() || args->is_null())
        return;
    if (!args->is_object())
        invalid("args: " + show(*args) + " is not an object");
    auto cni = args->find("cni");
    if (cni == args->end() || cni->is_null())
        return;
    if (!cni->is_object())
        invalid("args.cni: " + show(*cni) + " is not an object");
    if (auto labels = cni->find("labels"); labels != cni->end() && !labels->is_null()) {
        if (!labels->is_array())
            invalid("args.cni.labels: " + show(*labels) + " is not an array", "expected [{\"key\": \"app\", \"value\": \"web\"}]");
        for (const Json& l : *labels) {
            if (!l.is_object() || !l.contains("key") || !l["key"].is_string() || l["key"].get<std::string>().empty() ||
                !l.contains("value") || !l["value"].is_string())
                invalid("args.cni.labels: " + show(l) + " is not {\"key\": ..., \"value\": ...}");
            c.labels[l["key"].get<std::string>()] = l["value"].get<std::string>();
        }
    }
    if (auto ips = cni->find("ips"); ips != cni->end() && !ips->is_null())
        read_ips(*ips, "args.cni.ips", c);
    if (auto mac = cni->find("mac"); mac != cni->end() && !mac->is_null())
        c.mac = mac_of(*mac, "args.cni.mac");
}

/// runtimeConfig: the capabilities ips, mac, portMappings and vhostUser.
void read_runtime_config(const Json& conf, NetConf& c) {
    auto rc = conf.find("runtimeConfig");
    if (rc == conf.end() || rc->is_null())
        return;
    if (!rc->is_object())
        invalid("runtimeConfig: " + show(*rc) + " is not an object");
    if (auto ips = rc->find("ips"); ips != rc->end() && !ips->is_null())
        read_ips(*ips, "runtimeConfig.ips", c);
    if (auto mac = rc->find("mac"); mac != rc->end() && !mac->is_null())
        c.mac = mac_of(*mac, "runtimeConfig.mac");
    if (auto v = rc->find("vhostUser"); v != rc->end() && !v->is_null()) {
        if (!v->is_boolean())
            invalid("runtimeConfig.vhostUser: " + show(*v) + " is not true or false");
        c.vhost = v->get<bool>();
    }
    auto pm = rc->find("portMappings");
    if (pm == rc->end() || pm->is_null())
        return;
    if (!pm->is_array())
        invalid("runtimeConfig.portMappings: " + show(*pm) + " is not an array");
    for (size_t i = 0; i < pm->size(); ++i) {
        const Json& m = (*pm)[i];
        const std::string where = "runtimeConfig.portMappings[" + std::to_string(i) + "]";
        auto port = [&](const char* key) -> uint16_t {
            auto f = m.is_object() ? m.find(key) : m.end();
            if (!m.is_object() || f == m.end() || !f->is_number_integer() || *f < 1 || *f > 65535)
                invalid(where + "." + key + ": expected a port in 1..65535");
            return f->get<uint16_t>();
        };
        PortMapping p{port("hostPort"), port("containerPort"), "TCP"};
        std::string proto = str(m, "protocol", where + ".", "tcp");
        std::transform(proto.begin(), proto.end(), proto.begin(), [](unsigned char ch) { return std::toupper(ch); });
        if (proto != "TCP" && proto != "UDP")
            invalid(where + ".protocol: \"" + proto + "\" is not tcp or udp");
        p.protocol = proto;
        c.port_mappings.push_back(p);
    }
}

void read_valid_attachments(const Json& conf, NetConf& c) {
    auto list = conf.find("cni.dev/valid-attachments");
    if (list == conf.end() || list->is_null())
        return;
    if (!list->is_array())
        invalid("cni.dev/valid-attachments: " + show(*list) + " is not an array");
    c.has_valid_attachments = true;
    for (const Json& a : *list) {
        if (!a.is_object())
            invalid("cni.dev/valid-attachments: " + show(a) + " is not {\"containerID\", \"ifname\"}");
        const std::string id = str(a, "containerID", "cni.dev/valid-attachments[].");
        const std::string ifname = str(a, "ifname", "cni.dev/valid-attachments[].");
        if (id.empty() || ifname.empty())
            invalid("cni.dev/valid-attachments: " + show(a) + " lacks containerID or ifname");
        c.valid_attachments.emplace_back(id, ifname);
    }
}

NetConf read(const Json& conf, const std::string& command) {
    if (!conf.is_object())
        invalid("the network configuration is not a JSON object");
    NetConf c;
    c.cni_version = str(conf, "cniVersion", "");
    if (c.cni_version.empty())
        invalid("cniVersion is missing", "supported: " + supported_list());
    if (std::none_of(std::begin(kSupportedVersions), std::end(kSupportedVersions),
                     [&](const char* v) { return c.cni_version == v; }))
        throw Bad{cni_error(Code::IncompatibleVersion, "cniVersion \"" + c.cni_version + "\" is not supported",
                            "supported: " + supported_list())};
    const char* needs = command == "CHECK" ? "0.4.0" : command == "GC" || command == "STATUS" ? "1.1.0" : nullptr;
    if (needs != nullptr && !version_at_least(c.cni_version, needs))
        throw Bad{cni_error(Code::IncompatibleVersion,
                            command + " needs cniVersion " + needs + " or later, the config has " + c.cni_version)};
    c.name = str(conf, "name", "");
    if (c.name.empty())
        invalid("name is missing", "the network's name, like \"podlane\"");
    c.type = str(conf, "type", "");
    if (auto ipam = conf.find("ipam"); ipam != conf.end() && !ipam->is_null() && !(ipam->is_object() && ipam->empty()))
        throw Bad{cni_error(Code::UnsupportedField, "ipam is not supported",
                            "podlane-cni allocates pod addresses from the node's PodCIDR itself; remove the ipam "
                            "section (ask for an address with runtimeConfig ips or CNI_ARGS IP=)")};
    c.socket = str(conf, "socket", "", c.socket);
    if (c.socket.empty() || c.socket[0] != '/')
        invalid("socket: \"" + c.socket + "\" is not an absolute path", "podlaned's API socket, like /run/podlane/podlane.sock");
    c.vhost_socket_dir = str(conf, "vhostSocketDir", "", c.vhost_socket_dir);
    if (c.vhost_socket_dir.empty() || c.vhost_socket_dir[0] != '/')
        invalid("vhostSocketDir: \"" + c.vhost_socket_dir + "\" is not an absolute path");
    if (auto dns = conf.find("dns"); dns != conf.end() && !dns->is_null()) {
        if (!dns->is_object())
            invalid("dns: " + show(*dns) + " is not an object");
        c.dns = *dns;
    }
    read_args(conf, c);
    read_runtime_config(conf, c);
    if (auto prev = conf.find("prevResult"); prev != conf.end() && !prev->is_null()) {
        if (!prev->is_object())
            invalid("prevResult: " + show(*prev) + " is not an object");
        c.prev_result = *prev;
    }
    read_valid_attachments(conf, c);
    return c;
}

} // namespace

bool version_at_least(std::string_view a, std::string_view b) {
    unsigned a1 = 0, a2 = 0, a3 = 0, b1 = 0, b2 = 0, b3 = 0;
    std::sscanf(std::string(a).c_str(), "%u.%u.%u", &a1, &a2, &a3);
    std::sscanf(std::string(b).c_str(), "%u.%u.%u", &b1, &b2, &b3);
    return std::tie(a1, a2, a3) >= std::tie(b1, b2, b3);
}

CniResult<NetConf> parse_netconf(std::string_view text, const std::string& command) {
    Json conf;
    try {
        conf = Json::parse(text);
    } catch (const Json::parse_error& e) {
        std::string what = e.what();
        auto pos = what.find("] ");
        return cni_error(Code::DecodingFailure, "the network configuration on stdin is not valid JSON",
                         pos == std::string::npos ? what : what.substr(pos + 2));
    }
    try {
        return read(conf, command);
    } catch (const Bad& b) {
        return b.error;
    } catch (const Json::exception& e) {
        return cni_error(Code::InvalidConfig, "invalid network configuration", e.what());
    }
}

} // namespace podlane::cni
