#include "control/etcd_objects.h"

#include <nlohmann/json.hpp>

namespace podlane {

EtcdObjects::EtcdObjects(Config node_config, std::string prefix)
    : config_(std::move(node_config)), keys_{std::move(prefix)} {
    config_.nodes.clear();
    config_.services.clear();
}

void EtcdObjects::add(const EtcdKv& kv, bool deleted, ClusterDelta& d, std::vector<std::string>& errors) const {
    const bool is_node = kv.key.rfind(keys_.nodes(), 0) == 0;
    const bool is_service = kv.key.rfind(keys_.services(), 0) == 0;
    if (!is_node && !is_service)
        return; // ipam blocks and whatever else lives under the prefix
    const std::string name = kv.key.substr((is_node ? keys_.nodes() : keys_.services()).size());
    if (deleted) {
        (is_node ? d.delete_nodes : d.delete_services).push_back(name);
        return;
    }
    const std::string doc = std::string(is_node ? "{\"nodes\": [" : "{\"services\": [") + kv.value + "]}";
    auto objects = parse_cluster_objects(doc, config_, "etcd " + kv.key);
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

ClusterDelta EtcdObjects::load(const std::vector<EtcdKv>& kvs, std::vector<std::string>& errors) const {
    ClusterDelta d;
    d.replace = true;
    for (const EtcdKv& kv : kvs)
        add(kv, false, d, errors);
    return d;
}

ClusterDelta EtcdObjects::apply(const std::vector<EtcdWatchEvent>& events, std::vector<std::string>& errors) const {
    ClusterDelta d;
    for (size_t i = 0; i < events.size(); ++i) {
        bool later = false; // only a key's last event in the batch counts
        for (size_t j = i + 1; j < events.size() && !later; ++j)
            later = events[j].kv.key == events[i].kv.key;
        if (!later)
            add(events[i].kv, events[i].deleted, d, errors);
    }
    return d;
}

std::string EtcdObjects::node_value(const PeerNodeConfig& n) {
    nlohmann::json cidrs = nlohmann::json::array();
    for (const Ipv4Prefix& p : n.pod_cidrs)
        cidrs.push_back(p.str());
    return nlohmann::json{{"name", n.name}, {"ip", n.ip.str()}, {"pod_cidrs", cidrs}}.dump();
}

} // namespace podlane
