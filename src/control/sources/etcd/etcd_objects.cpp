#include "control/sources/etcd/etcd_objects.h"

#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "control/config/json_document.h"

namespace podlane {

namespace {

/// One value in the config schema, as the item of `list` ("nodes" or
/// "services"). Values are JSON as podlane writes them, read without
/// yaml-cpp's scanner (load_json_document: about a third of the cost); a
/// value that is not JSON, or that does not validate, goes through the YAML
/// text path, whose message carries the line as it always did.
Result<ClusterObjects> parse_item(const char* list, const std::string& value, const Config& config,
                                  const std::string& source) {
    if (auto item = load_json_document(value)) {
        YAML::Node items(YAML::NodeType::Sequence);
        items.push_back(*item);
        YAML::Node root(YAML::NodeType::Map);
        root.force_insert(list, items);
        if (auto objects = parse_cluster_objects(root, config, source))
            return objects;
    }
    return parse_cluster_objects(std::string("{\"") + list + "\": [" + value + "]}", config, source);
}

} // namespace

EtcdObjects::EtcdObjects(Config node_config, std::string prefix)
    : config_(std::move(node_config)), keys_{std::move(prefix)} {
    config_.nodes.clear();
    config_.services.clear();
}

bool EtcdObjects::add_network_policy(const EtcdKv& kv, bool deleted, std::vector<std::string>& errors) {
    if (deleted)
        return policies_.erase(kv.key) > 0;
    auto parsed = parse_policy_objects(kv.value, "etcd " + kv.key);
    if (!parsed || parsed->size() != 1) {
        errors.push_back(parsed ? "etcd " + kv.key + ": one policy object a key" : parsed.error().message);
        return false;
    }
    policies_[kv.key] = std::move((*parsed)[0]);
    return true;
}

void EtcdObjects::add(const EtcdKv& kv, bool deleted, ClusterDelta& d, std::vector<std::string>& errors) {
    if (kv.key.rfind(keys_.policies(), 0) == 0) {
        if (add_network_policy(kv, deleted, errors)) {
            d.has_policies = true;
            d.policies.clear();
            for (const auto& [key, p] : policies_)
                d.policies.push_back(p);
        }
        return;
    }
    if (kv.key.rfind(keys_.cilium(), 0) == 0) {
        const std::string rest = kv.key.substr(keys_.cilium().size());
        const size_t slash = rest.find('/');
        const auto kind = slash == std::string::npos ? std::nullopt : cilium_kind_of_plural(rest.substr(0, slash));
        if (!kind) {
            errors.push_back("etcd " + kv.key + ": not a key of a Cilium kind podlane reads (" +
                             keys_.cilium() + "<ciliumbgpclusterconfigs|ciliumbgppeerconfigs|"
                             "ciliumbgpadvertisements|ciliumloadbalancerippools>/<name>)");
            return;
        }
        const std::string name = rest.substr(slash + 1);
        auto& objects = cilium_.of(*kind);
        cilium_changed_ = true;
        if (deleted) {
            objects.erase(name);
            return;
        }
        nlohmann::json j = nlohmann::json::parse(kv.value, nullptr, false);
        if (!j.is_object()) {
            errors.push_back("etcd " + kv.key + ": not a JSON object");
            objects.erase(name);
            return;
        }
        objects[name] = std::move(j);
        return;
    }
    if (kv.key.rfind(keys_.lb_records(), 0) == 0) {
        const std::string name = kv.key.substr(keys_.lb_records().size());
        if (deleted) {
            d.delete_lb_records.push_back(name);
            return;
        }
        auto ips = parse_lb_record(kv.value);
        if (!ips)
            errors.push_back("etcd " + kv.key + ": " + ips.error().message);
        else
            d.upsert_lb_records.emplace_back(name, std::move(*ips));
        return;
    }
    if (kv.key.rfind(keys_.endpoints(), 0) == 0) {
        const std::string name = kv.key.substr(keys_.endpoints().size());
        if (name.rfind(config_.node_name + "/", 0) == 0)
            return; // this node's own pods
        if (deleted) {
            d.delete_endpoints.push_back(name);
            return;
        }
        auto ep = parse_endpoint(name, kv.value);
        if (!ep)
            errors.push_back("etcd " + kv.key + ": " + ep.error().message);
        else
            d.upsert_endpoints.push_back(std::move(*ep));
        return;
    }
    const bool is_node = kv.key.rfind(keys_.nodes(), 0) == 0;
    const bool is_service = kv.key.rfind(keys_.services(), 0) == 0;
    if (!is_node && !is_service)
        return; // ipam blocks and whatever else lives under the prefix
    const std::string name = kv.key.substr((is_node ? keys_.nodes() : keys_.services()).size());
    if (deleted) {
        (is_node ? d.delete_nodes : d.delete_services).push_back(name);
        return;
    }
    auto objects = parse_item(is_node ? "nodes" : "services", kv.value, config_, "etcd " + kv.key);
    if (!objects) {
        errors.push_back(objects.error().message);
        return;
    }
    if (is_node) {
        if (objects->nodes.empty())
            return; // this node's own registration
        if (objects->nodes[0].name != name) {
            errors.push_back("etcd " + kv.key + ": name \"" + objects->nodes[0].name + "\" does not match the key");
            return;
        }
        d.upsert_nodes.push_back(std::move(objects->nodes[0]));
    } else {
        if (objects->services.size() != 1 || objects->services[0].name != name) {
            errors.push_back("etcd " + kv.key + ": the service's name does not match the key");
            return;
        }
        d.upsert_services.push_back(std::move(objects->services[0]));
    }
}

void EtcdObjects::add_cilium_settings(ClusterDelta& d, std::vector<std::string>& errors) const {
    CiliumPolicy policy = convert_cilium_objects(
        cilium_, CiliumNodeFacts{.name = config_.node_name, .ip = config_.node_ip, .labels = config_.node_labels});
    add_file_policy(config_, policy);
    for (const std::string& p : policy.problems)
        errors.push_back("etcd " + keys_.cilium() + ": " + p);
    d.bgp_instances = std::move(policy.bgp_instances);
    d.lb_ipam = std::move(policy.lb_ipam);
}

ClusterDelta EtcdObjects::load(const std::vector<EtcdKv>& kvs, std::vector<std::string>& errors) {
    ClusterDelta d;
    d.replace = true;
    cilium_ = CiliumObjects{};
    policies_.clear();
    for (const EtcdKv& kv : kvs)
        add(kv, false, d, errors);
    add_cilium_settings(d, errors);
    cilium_changed_ = false;
    d.has_policies = true; // a full listing: the set, possibly empty
    d.policies.clear();
    for (const auto& [key, p] : policies_)
        d.policies.push_back(p);
    return d;
}

ClusterDelta EtcdObjects::apply(const std::vector<EtcdWatchEvent>& events, std::vector<std::string>& errors) {
    // Only a key's last event in the batch counts (a range delete of 10,000
    // keys is one response: a map, not a scan per event).
    std::unordered_map<std::string_view, size_t> last;
    last.reserve(events.size());
    for (size_t i = 0; i < events.size(); ++i)
        last[events[i].kv.key] = i;
    ClusterDelta d;
    for (size_t i = 0; i < events.size(); ++i)
        if (last[events[i].kv.key] == i)
            add(events[i].kv, events[i].deleted, d, errors);
    if (cilium_changed_)
        add_cilium_settings(d, errors);
    cilium_changed_ = false;
    return d;
}

std::string EtcdObjects::lb_record_value(const std::vector<Ipv4Addr>& ips) {
    nlohmann::json list = nlohmann::json::array();
    for (Ipv4Addr ip : ips)
        list.push_back(ip.str());
    return nlohmann::json{{"ips", list}}.dump();
}

Result<std::vector<Ipv4Addr>> EtcdObjects::parse_lb_record(const std::string& value) {
    const nlohmann::json j = nlohmann::json::parse(value, nullptr, false);
    if (!j.is_object() || !j.contains("ips") || !j["ips"].is_array())
        return make_error("expected {\"ips\": [\"172.16.1.1\"]}");
    std::vector<Ipv4Addr> out;
    for (const auto& v : j["ips"]) {
        auto ip = v.is_string() ? Ipv4Addr::parse(v.get<std::string>()) : std::nullopt;
        if (!ip)
            return make_error("ips: " + v.dump() + " is not an IPv4 address");
        out.push_back(*ip);
    }
    return out;
}

std::string EtcdObjects::node_value(const PeerNodeConfig& n) {
    nlohmann::json cidrs = nlohmann::json::array();
    for (const Ipv4Prefix& p : n.pod_cidrs)
        cidrs.push_back(p.str());
    return nlohmann::json{{"name", n.name}, {"ip", n.ip.str()}, {"pod_cidrs", cidrs}}.dump();
}

std::string EtcdObjects::endpoint_value(const RemoteEndpointConfig& e) {
    nlohmann::json labels = nlohmann::json::object();
    for (const auto& [k, v] : e.labels)
        labels[k] = v;
    return nlohmann::json{{"ip", e.ip.str()}, {"node", e.node}, {"identity", e.identity}, {"labels", labels}}.dump();
}

Result<RemoteEndpointConfig> EtcdObjects::parse_endpoint(const std::string& name, const std::string& value) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(value);
    } catch (const nlohmann::json::exception&) {
        return make_error("not JSON");
    }
    if (!j.is_object() || !j.contains("ip") || !j["ip"].is_string() || !j.contains("node") || !j["node"].is_string() ||
        !j.contains("identity") || !j["identity"].is_number_unsigned())
        return make_error("expected {\"ip\", \"node\", \"identity\", \"labels\"}");
    RemoteEndpointConfig e;
    e.name = name;
    e.node = j["node"].get<std::string>();
    auto ip = Ipv4Addr::parse(j["ip"].get<std::string>());
    if (!ip)
        return make_error("ip " + j["ip"].dump() + " is not an IPv4 address");
    e.ip = *ip;
    if (name != e.node + "/" + e.ip.str())
        return make_error("the key does not name its node and IP");
    const uint64_t id = j["identity"].get<uint64_t>();
    if (id == 0 || id > 0xffffff)
        return make_error("identity " + std::to_string(id) + " is out of range (1..16777215)");
    e.identity = static_cast<uint32_t>(id);
    if (auto labels = j.find("labels"); labels != j.end() && labels->is_object())
        for (const auto& [k, v] : labels->items())
            if (v.is_string())
                e.labels[k] = v.get<std::string>();
    return e;
}

} // namespace podlane
