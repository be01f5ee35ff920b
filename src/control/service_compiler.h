// Compiles the service model (Config::services, the pods' host_ports and the
// node-wide loadbalancer, conntrack and masquerade settings) into the
// dataplane's LbTables (dataplane/service_table.h), keeping rev_nat and
// backend ids stable across compiles.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"
#include "control/config.h"
#include "dataplane/service_table.h"

namespace podlane {

/// Ids first..last for 64-bit keys. A key keeps its id while it is present;
/// release_absent() frees the ids of keys not acquired since the previous
/// call, and later acquisitions reuse freed ids, lowest first.
class IdPool {
public:
    IdPool(uint32_t first, uint32_t last) : next_(first), last_(last) {}
    /// The key's id, a new one when the key is new; nullopt when every id is taken.
    std::optional<uint32_t> acquire(uint64_t key);
    /// Frees the ids of the keys not acquired since the previous call.
    void release_absent();
    /// The key's id, if it has one.
    std::optional<uint32_t> find(uint64_t key) const;
    size_t size() const noexcept { return ids_.size(); }

private:
    struct Entry {
        uint32_t id;
        bool present; ///< acquired since the last release_absent()
    };
    std::map<uint64_t, Entry> ids_;
    std::set<uint32_t> free_; ///< released ids, all below next_
    uint64_t next_;           ///< the lowest id never handed out
    uint64_t last_;
};

/// Stable ids across compiles: a frontend keeps its rev_nat_id (1..65535) and
/// a backend (ip, port, protocol) its id (0..max_backends-1) while they exist;
/// ids are reused only after a compile in which their owner was absent.
class ServiceIds {
public:
    static constexpr uint32_t kDefaultMaxBackends = 65536;
    explicit ServiceIds(uint32_t max_backends = kDefaultMaxBackends) : backends_(0, max_backends - 1) {}

    /// The rev_nat id of a frontend (frontend_key), if it has one.
    std::optional<uint16_t> rev_nat_id(uint64_t frontend_key) const;
    /// The id of a backend; `port` in host order.
    std::optional<uint32_t> backend_id(Ipv4Addr ip, uint16_t port, L4Proto proto) const;
    size_t frontend_count() const noexcept { return rev_nat_.size(); }
    size_t backend_count() const noexcept { return backends_.size(); }

    /// For compile_services: take (or keep) an id; nullopt when exhausted.
    std::optional<uint16_t> acquire_rev_nat_id(uint64_t frontend_key);
    std::optional<uint32_t> acquire_backend_id(Ipv4Addr ip, uint16_t port, L4Proto proto);
    /// For compile_services: release the ids of everything not acquired in this compile.
    void release_absent();

private:
    IdPool rev_nat_{1, 65535};
    IdPool backends_;
};

/// What compile_services needs besides the config.
struct ServiceCompileInputs {
    const Config* config = nullptr;
    Ipv4Addr node_ip;                         ///< zero: no uplink -> no NodePort and no HostPort frontends
    Ipv4Prefix local_pod_cidr;                ///< this node's PodCIDR
    std::vector<Ipv4Prefix> remote_pod_cidrs; ///< other nodes' PodCIDRs
    std::vector<Ipv4Addr> peer_node_ips;      ///< other nodes' IPs
    std::vector<EndpointConfig> endpoints;    ///< local pods (for host_ports), as attached now
};

/// Builds the LB tables (ct and affinity left null for the agent). A frontend
/// whose key an earlier one already has (e.g. a hostPort an API pod repeats)
/// is skipped. Errors: no config, a Maglev failure, or ids exhausted; `ids`
/// is unchanged then.
Result<LbTables> compile_services(const ServiceCompileInputs& in, ServiceIds& ids);

} // namespace podlane
