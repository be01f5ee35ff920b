#include "cni/cni_env.h"

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

namespace podlane::cni {

namespace {

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

bool is_true(std::string_view v) {
    std::string lower(v);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    return lower == "1" || lower == "true";
}

/// libcni's rule: an alphanumeric, then alphanumerics, '_', '.' or '-'.
bool valid_container_id(std::string_view id) {
    auto ok = [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '.' || c == '-'; };
    return !id.empty() && std::isalnum(static_cast<unsigned char>(id[0])) && std::all_of(id.begin(), id.end(), ok);
}

/// The kernel's rule: 1..15 bytes, not "." or "..", no '/', ':' or whitespace.
bool valid_ifname(std::string_view n) {
    return !n.empty() && n.size() <= 15 && n != "." && n != ".." &&
           std::none_of(n.begin(), n.end(), [](unsigned char c) { return c == '/' || c == ':' || std::isspace(c); });
}

} // namespace

CniResult<CniArgs> parse_cni_args(std::string_view text) {
    CniArgs args;
    std::vector<std::pair<std::string, std::string>> pairs;
    bool ignore_unknown = false;
    while (!text.empty()) {
        const size_t semi = text.find(';');
        const std::string_view entry = text.substr(0, semi);
        text = semi == std::string_view::npos ? std::string_view() : text.substr(semi + 1);
        if (entry.empty())
            continue;
        const size_t eq = entry.find('=');
        if (eq == std::string_view::npos || eq == 0)
            return cni_error(Code::InvalidEnv, "CNI_ARGS: " + quoted(entry) + " is not KEY=VALUE",
                             "CNI_ARGS is a ';'-separated list like K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1");
        pairs.emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
        if (pairs.back().first == "IgnoreUnknown")
            ignore_unknown = is_true(pairs.back().second);
    }
    for (const auto& [key, value] : pairs) {
        if (key == "IgnoreUnknown") {
        } else if (key == "K8S_POD_NAMESPACE") {
            args.pod_namespace = value;
        } else if (key == "K8S_POD_NAME") {
            args.pod_name = value;
        } else if (key == "K8S_POD_UID") {
            args.pod_uid = value;
        } else if (key == "K8S_POD_INFRA_CONTAINER_ID") {
            args.infra_container_id = value;
        } else if (key == "IP") {
            args.ip = Ipv4Addr::parse(std::string_view(value).substr(0, value.find('/')));
            if (!args.ip)
                return cni_error(Code::InvalidEnv, "CNI_ARGS: IP=" + value + " is not an IPv4 address",
                                 "expected IP=10.210.1.11 (a prefix length such as /24 is ignored)");
        } else if (key == "MAC") {
            args.mac = MacAddr::parse(value);
            if (!args.mac || args.mac->is_zero() || args.mac->is_multicast())
                return cni_error(Code::InvalidEnv, "CNI_ARGS: MAC=" + value + " is not a unicast MAC address",
                                 "expected MAC=0a:58:0a:d2:01:0b");
        } else if (key == "PODLANE_VHOST") {
            args.vhost = is_true(value);
            if (!args.vhost && value != "0" && value != "false")
                return cni_error(Code::InvalidEnv, "CNI_ARGS: PODLANE_VHOST=" + value + " is not 1, 0, true or false");
        } else if (!ignore_unknown) {
            return cni_error(Code::InvalidEnv, "CNI_ARGS: unknown key " + quoted(key),
                             "podlane-cni knows K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_UID, "
                             "K8S_POD_INFRA_CONTAINER_ID, IP, MAC and PODLANE_VHOST; add IgnoreUnknown=1 to pass others");
        }
    }
    return args;
}

CniResult<CniEnv> read_cni_env(const Getenv& getenv) {
    auto var = [&](const char* name) {
        const char* v = getenv(name);
        return std::string(v != nullptr ? v : "");
    };
    CniEnv env;
    env.command = var("CNI_COMMAND");
    const std::string& c = env.command;
    if (c.empty())
        return cni_error(Code::InvalidEnv, "CNI_COMMAND is not set",
                         "podlane-cni is a CNI plugin: a container runtime runs it with CNI_COMMAND=ADD, DEL, "
                         "CHECK, GC, STATUS or VERSION and the network configuration on stdin");
    if (c != "ADD" && c != "DEL" && c != "CHECK" && c != "GC" && c != "STATUS" && c != "VERSION")
        return cni_error(Code::InvalidEnv, "CNI_COMMAND " + quoted(c) + " is not ADD, DEL, CHECK, GC, STATUS or VERSION");
    if (c == "VERSION")
        return env;
    env.path = var("CNI_PATH");
    if (env.path.empty())
        return cni_error(Code::InvalidEnv, "CNI_PATH is not set", "the directories the runtime finds CNI plugins in");
    auto parsed = parse_cni_args(var("CNI_ARGS"));
    if (!parsed)
        return parsed.error();
    env.args = *parsed;
    if (c == "GC" || c == "STATUS")
        return env;

    env.container_id = var("CNI_CONTAINERID");
    if (!valid_container_id(env.container_id))
        return cni_error(Code::InvalidEnv,
                         env.container_id.empty() ? "CNI_CONTAINERID is not set"
                                                  : "CNI_CONTAINERID " + quoted(env.container_id) + " is not valid",
                         "expected an alphanumeric followed by alphanumerics, '_', '.' or '-'");
    env.ifname = var("CNI_IFNAME");
    if (!valid_ifname(env.ifname))
        return cni_error(Code::InvalidEnv,
                         env.ifname.empty() ? "CNI_IFNAME is not set" : "CNI_IFNAME " + quoted(env.ifname) + " is not valid",
                         "expected an interface name of 1..15 characters without '/', ':' or whitespace, like eth0");
    env.netns = var("CNI_NETNS");
    if (env.netns.empty() && c != "DEL")
        return cni_error(Code::InvalidEnv, "CNI_NETNS is not set", "the path of the pod's network namespace, like /run/netns/pod-a");
    if (!env.netns.empty() && env.netns[0] != '/')
        return cni_error(Code::InvalidEnv, "CNI_NETNS " + quoted(env.netns) + " is not an absolute path",
                         "the path of the pod's network namespace, like /run/netns/pod-a");
    return env;
}

} // namespace podlane::cni
