#include "control/sources/k8s/k8s_convert.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace podlane {

using Json = nlohmann::json;

namespace {

/// A field that cannot be converted; the convert_* functions turn it into their Result.
struct ConvertFailure {
    std::string text;
};

[[noreturn]] void fail(const std::string& path, const std::string& why) { throw ConvertFailure{path + ": " + why}; }

/// The member `key` of `obj`; nullptr when absent or null.
const Json* member(const Json& obj, const char* key) {
    if (!obj.is_object())
        return nullptr;
    auto it = obj.find(key);
    return it == obj.end() || it->is_null() ? nullptr : &*it;
}

/// The string member `key` of `obj` at `path`, `fallback` when absent.
std::string text(const Json& obj, const char* key, const std::string& path, const std::string& fallback = "") {
    const Json* v = member(obj, key);
    if (!v)
        return fallback;
    if (!v->is_string())
        fail(path + key, "expected a string, got " + v->dump());
    return v->get<std::string>();
}

bool flag(const Json& obj, const char* key, const std::string& path, bool fallback) {
    const Json* v = member(obj, key);
    if (!v)
        return fallback;
    if (!v->is_boolean())
        fail(path + key, "expected true or false, got " + v->dump());
    return v->get<bool>();
}

/// The integer member `key` in lo..hi; nullopt when absent.
std::optional<int64_t> integer(const Json& obj, const char* key, const std::string& path, int64_t lo, int64_t hi) {
    const Json* v = member(obj, key);
    if (!v)
        return std::nullopt;
    if (!v->is_number_integer())
        fail(path + key, "expected an integer, got " + v->dump());
    const int64_t n = v->get<int64_t>();
    if (n < lo || n > hi)
        fail(path + key, std::to_string(n) + " is out of range: expected " + std::to_string(lo) + ".." + std::to_string(hi));
    return n;
}

/// The elements of the list member `key`; none when absent or null.
std::vector<const Json*> list(const Json& obj, const char* key, const std::string& path) {
    std::vector<const Json*> out;
    const Json* v = member(obj, key);
    if (!v)
        return out;
    if (!v->is_array())
        fail(path + key, "expected a list, got " + v->dump());
    for (const Json& item : *v)
        out.push_back(&item);
    return out;
}

std::string at(const std::string& path, const char* key, size_t i) {
    return path + key + "[" + std::to_string(i) + "]";
}

bool is_ipv6_text(const std::string& s) { return s.find(':') != std::string::npos; }

bool is_unicast(Ipv4Addr ip) {
    const uint32_t first = ip.host() >> 24;
    return first != 0 && first != 127 && first < 224;
}

bool overlap(const Ipv4Prefix& a, const Ipv4Prefix& b) { return a.contains(b.addr) || b.contains(a.addr); }

/// A unicast IPv4 address at `path`.
Ipv4Addr unicast(const std::string& s, const std::string& path) {
    auto ip = Ipv4Addr::parse(s);
    if (!ip)
        fail(path, "\"" + s + "\" is not an IPv4 address");
    if (!is_unicast(*ip))
        fail(path, s + " is not a unicast address");
    return *ip;
}

std::optional<L4Proto> protocol(const Json& obj, const std::string& path) {
    const std::string p = text(obj, "protocol", path, "TCP");
    if (p == "TCP")
        return L4Proto::Tcp;
    if (p == "UDP")
        return L4Proto::Udp;
    if (p == "SCTP")
        return std::nullopt;
    fail(path + "protocol", "\"" + p + "\" is not TCP, UDP or SCTP");
}

TrafficPolicy policy(const Json& spec, const char* key) {
    const std::string p = text(spec, key, "spec.", "Cluster");
    if (p == "Cluster")
        return TrafficPolicy::Cluster;
    if (p == "Local")
        return TrafficPolicy::Local;
    fail(std::string("spec.") + key, "\"" + p + "\" is not Cluster or Local");
}

const Json& metadata(const Json& obj) {
    const Json* m = member(obj, "metadata");
    if (!m || !m->is_object())
        fail("metadata", "missing");
    return *m;
}

/// "Kind namespace/name: " for messages.
std::string who(const char* kind, const Json& obj) {
    const std::string key = object_key(obj);
    return std::string(kind) + " " + (key.empty() ? "(no name)" : key) + ": ";
}

void read_ports(const Json& spec, const ConvertSettings& s, K8sService& out) {
    const ServiceConfig& svc = out.base;
    const auto ports = list(spec, "ports", "spec.");
    for (size_t i = 0; i < ports.size(); ++i) {
        const Json& p = *ports[i];
        const std::string path = at("spec.", "ports", i) + ".";
        ServicePortConfig port;
        port.name = text(p, "name", path);
        auto proto = protocol(p, path);
        auto number = integer(p, "port", path, 1, 65535);
        if (!number)
            fail(path + "port", "missing");
        port.port = static_cast<uint16_t>(*number);
        if (!proto) {
            out.notes.push_back(path.substr(0, path.size() - 1) + " (SCTP " + std::to_string(port.port) +
                                "): SCTP is not supported, left out");
            continue;
        }
        port.protocol = *proto;
        std::string target_name;
        if (const Json* t = member(p, "targetPort"); !t) {
            port.target_port = port.port; // the API's default
        } else if (t->is_string()) {
            target_name = t->get<std::string>();
            if (target_name.empty())
                fail(path + "targetPort", "an empty port name");
        } else {
            port.target_port = static_cast<uint16_t>(*integer(p, "targetPort", path, 1, 65535));
        }
        if (svc.type != ServiceType::ClusterIP) {
            if (auto np = integer(p, "nodePort", path, 0, 65535); np && *np != 0) {
                if (*np < s.nodeport_min || *np > s.nodeport_max)
                    out.notes.push_back(path + "nodePort " + std::to_string(*np) + " is outside loadbalancer.nodeport_range " +
                                        std::to_string(s.nodeport_min) + "-" + std::to_string(s.nodeport_max) +
                                        ": not served");
                else
                    port.node_port = static_cast<uint16_t>(*np);
            }
        }
        out.base.ports.push_back(std::move(port));
        out.target_port_names.push_back(std::move(target_name));
    }
}

/// Cilium's Cluster Mesh annotations (pkg/annotation: service.cilium.io/global,
/// /shared, /affinity), read as Cilium reads them: "true"/"false" in any case,
/// an unknown affinity is none.
void read_mesh_annotations(const Json& meta, ServiceConfig& svc) {
    const Json* annotations = member(meta, "annotations");
    if (!annotations || !annotations->is_object())
        return;
    auto value = [&](const char* key) {
        auto it = annotations->find(key);
        std::string v = it != annotations->end() && it->is_string() ? it->get<std::string>() : "";
        for (char& c : v)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return v;
    };
    svc.global = value("service.cilium.io/global") == "true";
    svc.shared = value("service.cilium.io/shared") != "false";
    const std::string affinity = value("service.cilium.io/affinity");
    svc.mesh_affinity = affinity == "local" ? MeshAffinity::Local : affinity == "remote" ? MeshAffinity::Remote : MeshAffinity::None;
}

/// What a LoadBalancer service asks of LB IPAM: the annotations
/// lbipam.cilium.io/ips (comma-separated) and lbipam.cilium.io/sharing-key,
/// and spec.loadBalancerIP (deprecated in Kubernetes, a request to Cilium).
void read_lbipam_requests(const Json& meta, const Json& spec, ServiceConfig& svc) {
    const Json* annotations = member(meta, "annotations");
    const std::string ann = "metadata.annotations.";
    const std::string ips = annotations ? text(*annotations, "lbipam.cilium.io/ips", ann) : "";
    size_t start = 0;
    while (start < ips.size()) {
        size_t end = ips.find(',', start);
        if (end == std::string::npos)
            end = ips.size();
        std::string one = ips.substr(start, end - start);
        one.erase(0, one.find_first_not_of(' '));
        one.erase(one.find_last_not_of(' ') + 1);
        start = end + 1;
        if (one.empty() || is_ipv6_text(one))
            continue;
        const Ipv4Addr ip = unicast(one, ann + "lbipam.cilium.io/ips");
        if (std::find(svc.lbipam_ips.begin(), svc.lbipam_ips.end(), ip) == svc.lbipam_ips.end())
            svc.lbipam_ips.push_back(ip);
    }
    const std::string lb_ip = text(spec, "loadBalancerIP", "spec.");
    if (!lb_ip.empty() && !is_ipv6_text(lb_ip)) {
        const Ipv4Addr ip = unicast(lb_ip, "spec.loadBalancerIP");
        if (std::find(svc.lbipam_ips.begin(), svc.lbipam_ips.end(), ip) == svc.lbipam_ips.end())
            svc.lbipam_ips.push_back(ip);
    }
    if (annotations)
        svc.lbipam_sharing_key = text(*annotations, "lbipam.cilium.io/sharing-key", ann);
}

K8sService read_service(const Json& obj, const ConvertSettings& s, bool& skip) {
    const Json& meta = metadata(obj);
    K8sService out;
    ServiceConfig& svc = out.base;
    svc.name = text(meta, "namespace", "metadata.") + "/" + text(meta, "name", "metadata.");
    const Json* spec = member(obj, "spec");
    if (!spec || !spec->is_object())
        fail("spec", "missing");
    const std::string type = text(*spec, "type", "spec.", "ClusterIP");
    if (type == "ExternalName") { // a DNS alias: nothing to load-balance
        skip = true;
        return out;
    }
    if (type == "ClusterIP")
        svc.type = ServiceType::ClusterIP;
    else if (type == "NodePort")
        svc.type = ServiceType::NodePort;
    else if (type == "LoadBalancer")
        svc.type = ServiceType::LoadBalancer;
    else
        fail("spec.type", "\"" + type + "\" is not ClusterIP, NodePort, LoadBalancer or ExternalName");

    const std::string cluster_ip = text(*spec, "clusterIP", "spec.");
    if (cluster_ip == "None") { // headless: clients reach the pods directly
        skip = true;
        return out;
    }
    // Dual-stack services list both families in clusterIPs; podlane takes the IPv4 one.
    std::string ipv4 = is_ipv6_text(cluster_ip) ? "" : cluster_ip;
    std::string ipv4_path = "spec.clusterIP";
    const auto ips = list(*spec, "clusterIPs", "spec.");
    for (size_t i = 0; ipv4.empty() && i < ips.size(); ++i)
        if (ips[i]->is_string() && !is_ipv6_text(ips[i]->get<std::string>())) {
            ipv4 = ips[i]->get<std::string>();
            ipv4_path = at("spec.", "clusterIPs", i);
        }
    if (ipv4.empty())
        fail("spec.clusterIP", cluster_ip.empty() ? "missing" : "no IPv4 cluster IP (podlane is IPv4-only)");
    svc.cluster_ip = unicast(ipv4, ipv4_path);

    read_ports(*spec, s, out);
    if (svc.ports.empty())
        fail("spec.ports", "no TCP or UDP port");

    const auto external = list(*spec, "externalIPs", "spec.");
    for (size_t i = 0; i < external.size(); ++i) {
        const std::string path = at("spec.", "externalIPs", i);
        const std::string ip = external[i]->is_string() ? external[i]->get<std::string>() : external[i]->dump();
        if (is_ipv6_text(ip))
            continue;
        svc.external_ips.push_back(unicast(ip, path));
    }
    if (svc.type == ServiceType::LoadBalancer) {
        const Json* status = member(obj, "status");
        const Json* lb = status ? member(*status, "loadBalancer") : nullptr;
        const auto ingress = lb ? list(*lb, "ingress", "status.loadBalancer.") : std::vector<const Json*>{};
        for (size_t i = 0; i < ingress.size(); ++i) {
            const std::string path = at("status.loadBalancer.", "ingress", i) + ".";
            const std::string ip = text(*ingress[i], "ip", path);
            if (ip.empty() || is_ipv6_text(ip)) // a hostname-only or IPv6 ingress
                continue;
            // LB IPAM's record (or another controller's addresses): served
            // as they are without pools, kept while valid with them.
            svc.lbipam_recorded.push_back(unicast(ip, path + "ip"));
        }
        read_lbipam_requests(meta, *spec, svc);
    }
    if (const Json* labels = member(meta, "labels"); labels && labels->is_object())
        for (const auto& [k, v] : labels->items())
            if (v.is_string())
                svc.labels[k] = v.get<std::string>();
    svc.external_traffic_policy = policy(*spec, "externalTrafficPolicy");
    svc.internal_traffic_policy = policy(*spec, "internalTrafficPolicy");
    const std::string affinity = text(*spec, "sessionAffinity", "spec.", "None");
    if (affinity == "ClientIP") {
        svc.session_affinity = true;
        const Json* cfg = member(*spec, "sessionAffinityConfig");
        const Json* client = cfg ? member(*cfg, "clientIP") : nullptr;
        if (client)
            if (auto t = integer(*client, "timeoutSeconds", "spec.sessionAffinityConfig.clientIP.", 1, 86400))
                svc.session_affinity_timeout_s = static_cast<uint32_t>(*t);
    } else if (affinity != "None") {
        fail("spec.sessionAffinity", "\"" + affinity + "\" is not None or ClientIP");
    }
    svc.algorithm = s.algorithm;
    read_mesh_annotations(meta, svc);
    return out;
}

PeerNodeConfig read_node(const Json& obj, const ConvertSettings& s) {
    PeerNodeConfig p;
    p.name = text(metadata(obj), "name", "metadata.");
    if (p.name.empty())
        fail("metadata.name", "missing");
    const Json* status = member(obj, "status");
    const auto addresses = status ? list(*status, "addresses", "status.") : std::vector<const Json*>{};
    std::string ip_path;
    for (size_t i = 0; i < addresses.size() && ip_path.empty(); ++i) {
        const std::string path = at("status.", "addresses", i) + ".";
        const std::string address = text(*addresses[i], "address", path);
        if (text(*addresses[i], "type", path) == "InternalIP" && !is_ipv6_text(address)) {
            ip_path = path + "address";
            p.ip = unicast(address, ip_path);
        }
    }
    if (ip_path.empty())
        fail("status.addresses", "no IPv4 InternalIP");
    if (p.ip == s.node_ip)
        fail(ip_path, p.ip.str() + " is this node's IP (node " + s.node_name + ")");

    const Json* spec = member(obj, "spec");
    std::vector<std::pair<std::string, std::string>> cidrs; // text, path
    if (spec) {
        const auto many = list(*spec, "podCIDRs", "spec.");
        for (size_t i = 0; i < many.size(); ++i)
            cidrs.emplace_back(many[i]->is_string() ? many[i]->get<std::string>() : many[i]->dump(),
                               at("spec.", "podCIDRs", i));
        if (cidrs.empty())
            if (std::string one = text(*spec, "podCIDR", "spec."); !one.empty())
                cidrs.emplace_back(one, "spec.podCIDR");
    }
    for (const auto& [cidr_text, path] : cidrs) {
        if (is_ipv6_text(cidr_text))
            continue;
        auto cidr = Ipv4Prefix::parse(cidr_text);
        if (!cidr || cidr->len < 8 || cidr->len > 30)
            fail(path, "\"" + cidr_text + "\" is not an IPv4 CIDR of length 8..30");
        if (s.pod_cidr.len > 0 && overlap(*cidr, s.pod_cidr))
            fail(path, cidr_text + " overlaps this node's PodCIDR " + s.pod_cidr.str());
        if (s.native_routing_cidr.len > 0 &&
            !(cidr->len >= s.native_routing_cidr.len && s.native_routing_cidr.contains(cidr->addr)))
            fail(path, cidr_text + " is outside routing.native_routing_cidr " + s.native_routing_cidr.str());
        p.pod_cidrs.push_back(*cidr);
    }
    return p;
}

K8sEndpointSlice read_slice(const Json& obj) {
    const Json& meta = metadata(obj);
    K8sEndpointSlice out;
    const std::string ns = text(meta, "namespace", "metadata.");
    out.name = ns + "/" + text(meta, "name", "metadata.");
    if (const Json* labels = member(meta, "labels"))
        if (std::string svc = text(*labels, "kubernetes.io/service-name", "metadata.labels."); !svc.empty())
            out.service = ns + "/" + svc;
    out.ipv4 = text(obj, "addressType", "") == "IPv4";
    if (!out.ipv4)
        return out;
    const auto endpoints = list(obj, "endpoints", "");
    for (size_t i = 0; i < endpoints.size(); ++i) {
        const Json& e = *endpoints[i];
        const std::string path = at("", "endpoints", i) + ".";
        const auto addresses = list(e, "addresses", path);
        if (addresses.empty())
            fail(path + "addresses", "no address");
        K8sEndpoint ep;
        ep.ip = unicast(addresses[0]->is_string() ? addresses[0]->get<std::string>() : addresses[0]->dump(),
                        path + "addresses[0]");
        if (const Json* c = member(e, "conditions")) {
            ep.ready = flag(*c, "ready", path + "conditions.", true);
            ep.serving = flag(*c, "serving", path + "conditions.", ep.ready);
            ep.terminating = flag(*c, "terminating", path + "conditions.", false);
        }
        ep.node = text(e, "nodeName", path);
        out.endpoints.push_back(std::move(ep));
    }
    const auto ports = list(obj, "ports", "");
    for (size_t i = 0; i < ports.size(); ++i) {
        const std::string path = at("", "ports", i) + ".";
        auto proto = protocol(*ports[i], path);
        auto number = integer(*ports[i], "port", path, 1, 65535);
        if (!proto || !number) // SCTP, or "every port" (no port given)
            continue;
        out.ports.push_back(K8sEndpointPort{text(*ports[i], "name", path), *proto, static_cast<uint16_t>(*number)});
    }
    return out;
}

} // namespace

ConvertSettings ConvertSettings::from(const Config& c) {
    ConvertSettings s;
    s.node_name = c.node_name;
    s.node_ip = c.node_ip;
    s.pod_cidr = c.network.pod_cidr;
    s.native_routing_cidr = c.routing.native_routing_cidr;
    s.algorithm = c.loadbalancer.algorithm;
    s.nodeport_min = c.loadbalancer.nodeport_min;
    s.nodeport_max = c.loadbalancer.nodeport_max;
    return s;
}

std::string object_key(const Json& obj) {
    const Json* meta = member(obj, "metadata");
    if (!meta)
        return "";
    const Json* ns = member(*meta, "namespace");
    const Json* name = member(*meta, "name");
    const std::string n = name && name->is_string() ? name->get<std::string>() : "";
    if (ns && ns->is_string() && !ns->get<std::string>().empty())
        return ns->get<std::string>() + "/" + n;
    return n;
}

std::string object_resource_version(const Json& obj) {
    const Json* meta = member(obj, "metadata");
    const Json* rv = meta ? member(*meta, "resourceVersion") : nullptr;
    return rv && rv->is_string() ? rv->get<std::string>() : "";
}

Result<std::optional<PeerNodeConfig>> convert_node(const Json& obj, const ConvertSettings& s) {
    try {
        if (text(metadata(obj), "name", "metadata.") == s.node_name)
            return std::optional<PeerNodeConfig>();
        return std::optional<PeerNodeConfig>(read_node(obj, s));
    } catch (const ConvertFailure& f) {
        return make_error(who("Node", obj) + f.text);
    }
}

Result<std::optional<K8sService>> convert_service(const Json& obj, const ConvertSettings& s) {
    try {
        bool skip = false;
        K8sService svc = read_service(obj, s, skip);
        if (skip)
            return std::optional<K8sService>();
        return std::optional<K8sService>(std::move(svc));
    } catch (const ConvertFailure& f) {
        return make_error(who("Service", obj) + f.text);
    }
}

Result<K8sEndpointSlice> convert_endpoint_slice(const Json& obj) {
    try {
        return read_slice(obj);
    } catch (const ConvertFailure& f) {
        return make_error(who("EndpointSlice", obj) + f.text);
    }
}

Result<ServiceConfig> join_service(const K8sService& svc, const std::vector<const K8sEndpointSlice*>& slices,
                                   std::vector<std::string>& notes) {
    ServiceConfig out = svc.base;
    out.ports.clear();
    std::map<Ipv4Addr, BackendConfig> backends;
    for (const K8sEndpointSlice* slice : slices) {
        if (!slice->ipv4)
            continue;
        for (const K8sEndpoint& e : slice->endpoints) {
            BackendConfig b{.ip = e.ip, .node = e.node};
            if (e.terminating && e.serving)
                b.state = BackendState::Terminating;
            else if (e.terminating || !e.ready)
                continue;
            auto [it, added] = backends.emplace(b.ip, b);
            if (!added && it->second.state != BackendState::Active && b.state == BackendState::Active)
                it->second = b;
        }
    }
    for (auto& [ip, b] : backends)
        out.backends.push_back(std::move(b));

    for (size_t i = 0; i < svc.base.ports.size(); ++i) {
        ServicePortConfig port = svc.base.ports[i];
        const std::string& target = svc.target_port_names[i];
        if (!target.empty()) {
            // The EndpointSlice controller resolves a named targetPort per pod
            // and lists the number under the service port's name.
            std::map<uint16_t, std::string> found; // number -> a slice listing it
            for (const K8sEndpointSlice* slice : slices)
                for (const K8sEndpointPort& p : slice->ports)
                    if (slice->ipv4 && p.name == port.name && p.protocol == port.protocol)
                        found.emplace(p.port, slice->name);
            const std::string what = "spec.ports[" + std::to_string(i) + "] (" + (port.name.empty() ? "unnamed" : port.name) +
                                     ", targetPort \"" + target + "\")";
            if (found.empty() && !out.backends.empty()) {
                notes.push_back(what + ": no EndpointSlice lists a port named \"" + port.name + "\": left out");
                continue;
            }
            if (found.size() > 1)
                notes.push_back(what + ": the EndpointSlices give several ports (" + std::to_string(found.begin()->first) +
                                " in " + found.begin()->second + ", " + std::to_string(std::next(found.begin())->first) +
                                " in " + std::next(found.begin())->second + "): using " +
                                std::to_string(found.begin()->first));
            port.target_port = found.empty() ? 0 : found.begin()->first;
        }
        out.ports.push_back(std::move(port));
    }
    if (out.ports.empty())
        return make_error("Service " + out.name + ": no port left to serve");
    return out;
}

} // namespace podlane
