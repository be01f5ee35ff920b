#include "control/k8s_convert.h"

#include "control/cluster_source.h"

namespace podlane {

using Json = nlohmann::json;

namespace {

std::string str(const Json& obj, const char* key) {
    auto it = obj.find(key);
    return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const Json& member(const Json& obj, const char* key) {
    static const Json empty = Json::object();
    auto it = obj.find(key);
    return it != obj.end() ? *it : empty;
}

const Json& list(const Json& obj, const char* key) {
    static const Json empty = Json::array();
    auto it = obj.find(key);
    return it != obj.end() && it->is_array() ? *it : empty;
}

/// The slice port number for service port `name` (slices carry the resolved
/// target port under the service port's name); 0 if none says.
int slice_port(const std::vector<const Json*>& slices, const std::string& name, const std::string& proto) {
    for (const Json* s : slices)
        for (const Json& p : list(*s, "ports"))
            if (str(p, "name") == name && (str(p, "protocol").empty() ? "TCP" : str(p, "protocol")) == proto &&
                p.value("port", 0) > 0)
                return p.value("port", 0);
    return 0;
}

} // namespace

std::string k8s_key(const Json& object) {
    const Json& meta = member(object, "metadata");
    const std::string ns = str(meta, "namespace");
    return ns.empty() ? str(meta, "name") : ns + "/" + str(meta, "name");
}

std::string k8s_slice_service(const Json& slice) {
    const Json& meta = member(slice, "metadata");
    const std::string svc = str(member(meta, "labels"), "kubernetes.io/service-name");
    return svc.empty() ? "" : str(meta, "namespace") + "/" + svc;
}

Result<std::optional<ServiceConfig>> k8s_service(const Json& service, const std::vector<const Json*>& slices,
                                                 const Config& node_config) {
    const std::string key = k8s_key(service);
    const Json& spec = member(service, "spec");
    const std::string type = str(spec, "type").empty() ? "ClusterIP" : str(spec, "type");
    const std::string cluster_ip = str(spec, "clusterIP");
    if (type == "ExternalName" || cluster_ip.empty() || cluster_ip == "None")
        return std::optional<ServiceConfig>(); // headless or a DNS alias: nothing to load-balance
    Json s{{"name", key}, {"cluster_ip", cluster_ip}};
    if (type == "NodePort" || type == "LoadBalancer")
        s["type"] = type;
    Json ports = Json::array();
    for (const Json& p : list(spec, "ports")) {
        const std::string proto = str(p, "protocol").empty() ? "TCP" : str(p, "protocol");
        if (proto != "TCP" && proto != "UDP")
            continue; // SCTP: not load-balanced by podlane
        Json port{{"protocol", proto}, {"port", p.value("port", 0)}};
        if (!str(p, "name").empty())
            port["name"] = str(p, "name");
        int target = slice_port(slices, str(p, "name"), proto);
        if (target == 0 && p.contains("targetPort") && p["targetPort"].is_number_integer())
            target = p["targetPort"].get<int>();
        if (target != 0)
            port["target_port"] = target;
        if ((type == "NodePort" || type == "LoadBalancer") && p.value("nodePort", 0) > 0)
            port["node_port"] = p.value("nodePort", 0);
        ports.push_back(port);
    }
    if (ports.empty())
        return std::optional<ServiceConfig>();
    s["ports"] = ports;
    if (!list(spec, "externalIPs").empty())
        s["external_ips"] = list(spec, "externalIPs");
    if (type == "LoadBalancer") {
        Json lb = Json::array();
        for (const Json& in : list(member(member(service, "status"), "loadBalancer"), "ingress"))
            if (!str(in, "ip").empty())
                lb.push_back(str(in, "ip"));
        if (!lb.empty())
            s["load_balancer_ips"] = lb;
    }
    if (!str(spec, "externalTrafficPolicy").empty())
        s["external_traffic_policy"] = str(spec, "externalTrafficPolicy");
    if (!str(spec, "internalTrafficPolicy").empty())
        s["internal_traffic_policy"] = str(spec, "internalTrafficPolicy");
    if (str(spec, "sessionAffinity") == "ClientIP") {
        s["session_affinity"] = "ClientIP";
        const Json& client = member(member(spec, "sessionAffinityConfig"), "clientIP");
        if (client.contains("timeoutSeconds"))
            s["session_affinity_timeout_s"] = client["timeoutSeconds"];
    }
    Json backends = Json::array();
    std::vector<std::string> seen;
    for (const Json* slice : slices) {
        if (str(*slice, "addressType") != "IPv4")
            continue;
        for (const Json& e : list(*slice, "endpoints")) {
            const Json& c = member(e, "conditions");
            const bool ready = !c.contains("ready") || c["ready"].is_null() || c["ready"] == true;
            const bool serving = c.contains("serving") ? c["serving"] == true : ready;
            const bool terminating = c.contains("terminating") && c["terminating"] == true;
            if (list(e, "addresses").empty() || !(ready || (serving && terminating)))
                continue;
            const std::string ip = list(e, "addresses")[0].get<std::string>();
            if (std::find(seen.begin(), seen.end(), ip) != seen.end())
                continue;
            seen.push_back(ip);
            Json b{{"ip", ip}};
            if (!str(e, "nodeName").empty())
                b["node"] = str(e, "nodeName");
            if (!ready)
                b["state"] = "terminating";
            backends.push_back(b);
        }
    }
    s["backends"] = backends;
    auto parsed = parse_cluster_objects(Json{{"services", Json::array({s})}}.dump(), node_config, "kubernetes " + key);
    if (!parsed)
        return parsed.error();
    return std::optional<ServiceConfig>(std::move(parsed->services.at(0)));
}

Result<std::optional<PeerNodeConfig>> k8s_node(const Json& node, const Config& node_config) {
    const std::string name = k8s_key(node);
    if (name == node_config.node_name)
        return std::optional<PeerNodeConfig>();
    std::string ip;
    for (const Json& a : list(member(node, "status"), "addresses"))
        if (str(a, "type") == "InternalIP" && str(a, "address").find(':') == std::string::npos)
            ip = str(a, "address");
    if (ip.empty())
        return make_error("kubernetes node " + name + ": no IPv4 InternalIP address");
    const Json& spec = member(node, "spec");
    Json cidrs = Json::array();
    for (const Json& c : list(spec, "podCIDRs"))
        if (c.is_string() && c.get<std::string>().find(':') == std::string::npos)
            cidrs.push_back(c);
    if (cidrs.empty() && !str(spec, "podCIDR").empty())
        cidrs.push_back(str(spec, "podCIDR"));
    if (cidrs.empty())
        return make_error("kubernetes node " + name + ": no IPv4 podCIDR yet");
    auto parsed = parse_cluster_objects(Json{{"nodes", Json::array({{{"name", name}, {"ip", ip}, {"pod_cidrs", cidrs}}})}}.dump(),
                                        node_config, "kubernetes node " + name);
    if (!parsed)
        return parsed.error();
    if (parsed->nodes.empty())
        return std::optional<PeerNodeConfig>();
    return std::optional<PeerNodeConfig>(std::move(parsed->nodes[0]));
}

} // namespace podlane
