#include "cli/kvstore.h"

#include <cstdio>
#include <map>
#include <set>

#include <yaml-cpp/yaml.h>

#include "control/sources/cluster_source.h"
#include "control/sources/etcd/etcd_client.h"
#include "control/sources/etcd/etcd_objects.h"

namespace podlane {

using Json = nlohmann::json;

namespace {

/// A node config that accepts any cluster's nodes and services for checking:
/// its own addresses are in benchmark ranges (RFC 2544) no cluster uses.
Result<Config> checking_config() {
    return parse_config("node: {name: podlane-kvstore-cli, ip: 198.19.255.1}\n"
                        "uplinks: [{name: check, devargs: net_null0}]\n"
                        "network: {pod_cidr: 198.18.255.0/24, gateway_ip: 198.18.255.1}\n",
                        "kvstore");
}

/// A YAML value as JSON: integers and booleans as such, other scalars as strings.
Json yaml_to_json(const YAML::Node& n) {
    if (n.IsMap()) {
        Json o = Json::object();
        for (const auto& kv : n)
            o[kv.first.as<std::string>()] = yaml_to_json(kv.second);
        return o;
    }
    if (n.IsSequence()) {
        Json a = Json::array();
        for (const auto& item : n)
            a.push_back(yaml_to_json(item));
        return a;
    }
    if (!n.IsScalar())
        return nullptr;
    const std::string s = n.Scalar();
    if (n.Tag() != "!" && !s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() < 10)
        return std::stoll(s);
    if (n.Tag() != "!" && (s == "true" || s == "false"))
        return s == "true";
    return s;
}

/// The `nodes:` and `services:` items of a YAML document, as JSON.
Result<Json> yaml_items_as_json(const YAML::Node& root) {
    try {
        Json out{{"nodes", Json::array()}, {"services", Json::array()}};
        for (const char* list : {"nodes", "services"})
            if (root[list])
                for (const auto& item : root[list])
                    out[list].push_back(yaml_to_json(item));
        return out;
    } catch (const YAML::Exception& e) {
        return make_error(std::string("kvstore apply: ") + e.what());
    }
}

} // namespace

Result<Json> kvstore_apply(const std::string& yaml, const KvstoreOptions& o) {
    auto base = checking_config();
    if (!base)
        return base.error();
    // Only nodes and services are cluster state; other sections (loadbalancer,
    // masquerade...) are node-local config and stay out of etcd. The file is
    // loaded once (yaml-cpp takes about 1 s per 10,000 services) and its
    // nodes and services validated by the agent's own loader.
    YAML::Node root;
    YAML::Node only(YAML::NodeType::Map);
    try {
        root = YAML::Load(yaml);
        if (root.IsMap())
            for (const auto& kv : root) {
                const std::string key = kv.first.as<std::string>();
                if (key == "nodes" || key == "services")
                    only[key] = kv.second;
                else
                    std::fprintf(stderr, "podlane: kvstore apply: %s is node-local config, not written to etcd\n",
                                 key.c_str());
            }
        else if (!root.IsNull())
            only = root; // not a map: the loader says what was expected
    } catch (const YAML::Exception& e) {
        return make_error(std::string("kvstore apply: ") + e.what());
    }
    auto objects = parse_cluster_objects(only, *base, "kvstore apply");
    if (!objects)
        return objects.error();
    // The values are the file's own items, as JSON through yaml-cpp's view of
    // them: parse_cluster_objects validated them; store what was written.
    auto items = yaml_items_as_json(root);
    if (!items)
        return items.error();
    auto tls = tls_from_files(o.ca_file, o.cert_file, o.key_file);
    if (!tls)
        return tls.error();
    EtcdClient client(o.endpoints, 3000, std::move(*tls));
    const EtcdKeys keys{o.prefix};
    auto existing = client.range_prefix(o.prefix);
    if (!existing)
        return existing.error();
    std::map<std::string, std::string> current;
    for (const EtcdKv& kv : existing->kvs)
        current[kv.key] = kv.value;
    Json written = Json::array(), deleted = Json::array();
    size_t unchanged = 0;
    std::set<std::string> named;
    // Writes go in transactions of up to 128 operations (etcd's --max-txn-ops),
    // not one request each: 10,000 services in ~80 round trips.
    std::vector<EtcdClient::Op> batch;
    std::set<std::string> in_batch; // a transaction names each key once
    auto flush = [&]() -> Result<void> {
        if (batch.empty())
            return {};
        auto r = client.txn(batch);
        if (!r)
            return r.error();
        for (const EtcdClient::Op& op : batch)
            (op.value ? written : deleted).push_back(op.key);
        batch.clear();
        in_batch.clear();
        return {};
    };
    auto queue = [&](const std::string& key, std::optional<std::string> value) -> Result<void> {
        if (batch.size() == EtcdClient::kMaxTxnOps || in_batch.count(key))
            if (auto r = flush(); !r)
                return r;
        batch.push_back(EtcdClient::Op{key, std::move(value)});
        in_batch.insert(key);
        return {};
    };
    auto write = [&](const std::string& key, const std::string& value) -> Result<void> {
        named.insert(key);
        if (auto it = current.find(key); it != current.end() && it->second == value) {
            ++unchanged;
            return {};
        }
        return queue(key, value);
    };
    for (const Json& n : (*items)["nodes"])
        if (auto r = write(keys.node(n.value("name", "")), n.dump()); !r)
            return r.error();
    for (const Json& s : (*items)["services"])
        if (auto r = write(keys.service(s.value("name", "")), s.dump()); !r)
            return r.error();
    if (o.prune) {
        for (const auto& [key, value] : current) {
            const bool ours = key.rfind(keys.nodes(), 0) == 0 || key.rfind(keys.services(), 0) == 0;
            if (!ours || named.count(key))
                continue;
            if (auto r = queue(key, std::nullopt); !r)
                return r.error();
        }
    }
    if (auto r = flush(); !r)
        return r.error();
    return Json{{"written", written}, {"unchanged", unchanged}, {"deleted", deleted}, {"etcd", client.current_url()}};
}

Result<Json> kvstore_list(const KvstoreOptions& o) {
    auto tls = tls_from_files(o.ca_file, o.cert_file, o.key_file);
    if (!tls)
        return tls.error();
    EtcdClient client(o.endpoints, 3000, std::move(*tls));
    const EtcdKeys keys{o.prefix};
    auto range = client.range_prefix(o.prefix);
    if (!range)
        return range.error();
    Json list = Json::array();
    for (const EtcdKv& kv : range->kvs) {
        std::string kind = "other", name = kv.key.substr(o.prefix.size());
        for (const auto& [k, p] : {std::pair{"node", keys.nodes()}, {"service", keys.services()}, {"ipam-block", keys.blocks()}})
            if (kv.key.rfind(p, 0) == 0) {
                kind = k;
                name = kv.key.substr(p.size());
            }
        list.push_back(Json{{"key", kv.key}, {"kind", kind}, {"name", name}, {"value", kv.value}, {"mod_revision", kv.mod_revision}});
    }
    return list;
}

} // namespace podlane
