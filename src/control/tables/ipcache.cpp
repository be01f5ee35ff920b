#include "control/tables/ipcache.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "control/tables/identity.h"

namespace podlane {

namespace {

Ipv4Prefix host_prefix(Ipv4Addr ip) { return Ipv4Prefix{ip, 32}; }

// Collects entries, the first one given for a prefix winning.
class Builder {
public:
    void add(Ipv4Prefix prefix, uint32_t identity, Ipv4Addr tunnel_endpoint, const char* source) {
        entries_.emplace(std::pair{prefix.addr.host(), prefix.len},
                         IpcacheEntry{prefix, identity, tunnel_endpoint, source});
    }
    std::vector<IpcacheEntry> take() {
        std::vector<IpcacheEntry> out;
        out.reserve(entries_.size());
        for (auto& [key, entry] : entries_) // map order: address, then length
            out.push_back(std::move(entry));
        return out;
    }

private:
    std::map<std::pair<uint32_t, uint8_t>, IpcacheEntry> entries_;
};

} // namespace

std::vector<IpcacheEntry> build_ipcache(const Config& config, const std::vector<EndpointConfig>& local_endpoints) {
    const Ipv4Addr local{};
    Builder b;
    for (const auto& ep : local_endpoints)
        b.add(host_prefix(ep.ip), identity_for_labels(ep.labels, config.cluster.id, config.cluster.max_connected_clusters), local, "local-endpoint");
    // Other nodes' pods as their nodes published them (etcd), behind their node.
    for (const auto& ep : config.remote_endpoints)
        for (const auto& peer : config.nodes)
            if (peer.name == ep.node && !peer.ip.is_zero())
                b.add(host_prefix(ep.ip), ep.identity, peer.ip, "remote-endpoint");
    if (!config.node_ip.is_zero())
        b.add(host_prefix(config.node_ip), kIdentityHost, local, "node");
    if (!config.network.gateway_ip.is_zero())
        b.add(host_prefix(config.network.gateway_ip), kIdentityHost, local, "node");
    if (config.network.pod_cidr.len != 0)
        b.add(config.network.pod_cidr, kIdentityWorld, local, "local-pod-cidr");
    for (const auto& peer : config.nodes)
        if (!peer.ip.is_zero())
            b.add(host_prefix(peer.ip), kIdentityRemoteNode, peer.ip, "node");
    // Native routing records the peer IP as well: there it is the next hop, not a tunnel.
    for (const auto& peer : config.nodes)
        if (!peer.ip.is_zero())
            for (const auto& cidr : peer.pod_cidrs)
                b.add(cidr, kIdentityWorld, peer.ip, "remote-pod-cidr");
    return b.take();
}

const IpcacheEntry* ipcache_lookup(const std::vector<IpcacheEntry>& ipcache, Ipv4Addr ip) {
    const IpcacheEntry* best = nullptr;
    for (const auto& e : ipcache)
        if (e.prefix.contains(ip) && (!best || e.prefix.len > best->prefix.len))
            best = &e;
    return best;
}

Json ipcache_json(const std::vector<IpcacheEntry>& ipcache) {
    Json list = Json::array();
    for (const auto& e : ipcache)
        list.push_back({{"prefix", e.prefix.str()},
                        {"identity", e.identity},
                        {"identity_name", identity_name(e.identity)},
                        {"tunnel_endpoint", e.tunnel_endpoint.str()},
                        {"source", e.source}});
    return list;
}

Json ipcache_json(const Config& config, const std::vector<EndpointConfig>& local_endpoints) {
    return ipcache_json(build_ipcache(config, local_endpoints));
}

Json identity_list_json(const Config& config, const std::vector<EndpointConfig>& local_endpoints) {
    // (id, canonical labels) -> (labels, local endpoints, remote endpoints):
    // distinct label sets stay apart even when their identities collide.
    struct Set {
        std::vector<std::string> labels;
        std::size_t local = 0, remote = 0;
    };
    std::map<std::pair<uint32_t, std::string>, Set> sets;
    auto add = [&](uint32_t id, const std::map<std::string, std::string>& labels) -> Set& {
        auto [it, inserted] = sets.try_emplace({id, canonical_labels(labels)});
        if (inserted)
            for (const auto& [key, value] : labels)
                it->second.labels.push_back(key + "=" + value);
        return it->second;
    };
    for (const auto& ep : local_endpoints)
        ++add(identity_for_labels(ep.labels, config.cluster.id, config.cluster.max_connected_clusters), ep.labels).local;
    for (const auto& ep : config.remote_endpoints)
        ++add(ep.identity, ep.labels).remote;
    Json list = Json::array();
    for (const auto& r : kReservedIdentities)
        list.push_back({{"id", r.id}, {"labels", Json::array({identity_name(r.id)})}, {"reserved", true}, {"endpoints", 0}});
    for (const auto& [key, s] : sets)
        list.push_back({{"id", key.first},
                        {"labels", s.labels},
                        {"reserved", false},
                        {"endpoints", s.local},
                        {"remote_endpoints", s.remote}});
    return list;
}

} // namespace podlane
