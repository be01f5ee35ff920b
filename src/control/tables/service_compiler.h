// Compiles the service model (Config::services, the pods' host_ports and the
// node-wide loadbalancer, conntrack and masquerade settings) into the
// dataplane's LbTables (dataplane/service_table.h), keeping rev_nat and
// backend ids stable across compiles.
#pragma once

#include <cstdint>
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"
#include "control/config/config.h"
#include "dataplane/conntrack.h"
#include "control/tables/lb_assembler.h"
#include "dataplane/service_table.h"

namespace podlane {

/// Ids first..last for 64-bit keys, reference counted: a key keeps its id
/// while anything holds it; the id is freed when the last holder releases
/// it, and later acquisitions reuse freed ids, lowest first.
class IdPool {
public:
    IdPool(uint32_t first, uint32_t last) : next_(first), last_(last) {}
    /// Holds the key: its id, a new one when the key is new; nullopt when every id is taken.
    std::optional<uint32_t> acquire(uint64_t key);
    /// Lets go of one hold on the key; its id is freed with the last.
    void release(uint64_t key);
    /// The key's id, if it has one.
    std::optional<uint32_t> find(uint64_t key) const;
    size_t size() const noexcept { return ids_.size(); }
    /// id -> key of every held key (the restart state names flows' ids by key).
    std::unordered_map<uint32_t, uint64_t> keys_by_id() const;

private:
    struct Entry {
        uint32_t id;
        uint32_t holds;
    };
    std::map<uint64_t, Entry> ids_;
    std::set<uint32_t> free_; ///< released ids, all below next_
    uint64_t next_;           ///< the lowest id never handed out
    uint64_t last_;
};

/// Stable ids: a frontend keeps its rev_nat_id (1..65535) and a backend (ip,
/// port, protocol) its id (0..max_backends-1) while a compiled service holds
/// them; an id is reused only after its owner is gone.
class ServiceIds {
public:
    static constexpr uint32_t kDefaultMaxBackends = 1u << 20; ///< a million (ip, port, protocol) backends
    static_assert(kDefaultMaxBackends <= 1u << kCtBackendIdBits, "conntrack keys carry backend ids in 24 bits");
    explicit ServiceIds(uint32_t max_backends = kDefaultMaxBackends) : backends_(0, max_backends - 1) {}

    /// The rev_nat id of a frontend (frontend_key), if it has one.
    std::optional<uint16_t> rev_nat_id(uint64_t frontend_key) const;
    /// The id of a backend; `port` in host order.
    std::optional<uint32_t> backend_id(Ipv4Addr ip, uint16_t port, L4Proto proto) const;
    /// The id of a backend by its key (as keys_by_id() lists it).
    std::optional<uint32_t> backend_id_of_key(uint64_t backend_key) const { return backends_.find(backend_key); }
    /// rev_nat id -> frontend key and backend id -> backend key, for the restart state.
    std::unordered_map<uint32_t, uint64_t> frontend_keys() const { return rev_nat_.keys_by_id(); }
    std::unordered_map<uint32_t, uint64_t> backend_keys() const { return backends_.keys_by_id(); }
    size_t frontend_count() const noexcept { return rev_nat_.size(); }
    size_t backend_count() const noexcept { return backends_.size(); }

    /// For the compiler: hold (and if new, assign) an id; nullopt when exhausted.
    std::optional<uint16_t> acquire_rev_nat_id(uint64_t frontend_key);
    std::optional<uint32_t> acquire_backend_id(uint64_t backend_key);
    void release_rev_nat_id(uint64_t frontend_key) { rev_nat_.release(frontend_key); }
    void release_backend_id(uint64_t backend_key) { backends_.release(backend_key); }

    /// What the last compile_services() call held, released by the next one.
    struct Holds {
        std::vector<uint64_t> frontends, backends;
    };
    Holds last_compile;

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

/// Compiles services into LbTables incrementally: each service is compiled
/// into a CompiledUnit of its own, kept until the service changes, and
/// assemble() joins the units into the tables the dataplane reads. A change
/// to one service recompiles that service only, and assemble() rebuilds only
/// the table pieces it touched (LbAssembler): the rest, backend lists and
/// Maglev tables included, is shared by every publish until it changes.
class ServiceCompiler {
public:
    explicit ServiceCompiler(uint32_t max_backends = ServiceIds::kDefaultMaxBackends) : ids_(max_backends) {}
    /// Starts from ids a previous compile left (compile_services).
    explicit ServiceCompiler(ServiceIds ids) : ids_(std::move(ids)) {}

    /// Compiles every service of in.config and the hostPorts of in.endpoints
    /// anew (at start, and when node-wide settings change). On error nothing changes.
    Result<void> compile_all(const ServiceCompileInputs& in);
    /// Recompiles the named services from in.config->services (sorted by
    /// name): changed or added ones are compiled, absent ones removed. A
    /// service that fails keeps its previous version; the error names it.
    Result<void> compile_changed(const ServiceCompileInputs& in, const std::vector<std::string>& names);
    /// Recompiles the hostPort frontends of in.endpoints.
    Result<void> compile_host_ports(const ServiceCompileInputs& in);
    /// The tables of every unit, with node-wide settings from `in` (ct and
    /// affinity left null). The first unit (by service name, hostPorts last)
    /// to claim a frontend key serves it.
    std::shared_ptr<LbTables> assemble(const ServiceCompileInputs& in);

    const ServiceIds& ids() const noexcept { return ids_; }
    ServiceIds& ids() noexcept { return ids_; }
    /// Every id key the units hold now, one entry per hold.
    ServiceIds::Holds holds() const;
    size_t services() const noexcept { return units_.size(); }
    /// Frontend shards the last assemble() rebuilt.
    size_t shards_rebuilt() const noexcept { return assembler_.shards_rebuilt(); }

private:
    Result<CompiledUnit> compile_unit(const ServiceCompileInputs& in, const ServiceConfig* service,
                                      const std::vector<EndpointConfig>* host_ports);
    void add(const std::string* name, const CompiledUnit& u) { assembler_.add(u, name); }
    void remove(const CompiledUnit& u);
    void release_ids(const CompiledUnit& u);

    ServiceIds ids_;
    std::map<std::string, CompiledUnit> units_; ///< by service name (map nodes are stable: the assembler points at them)
    CompiledUnit host_ports_;
    LbAssembler assembler_;
};

/// A whole compile into fresh tables (ct and affinity left null): the units
/// of every service and hostPort. `ids` carries ids across calls: what this
/// compile holds stays, what only the previous compile held is released
/// after it. A frontend whose key an earlier one already has (e.g. a
/// hostPort an API pod repeats) is skipped. Errors: no config, a Maglev
/// failure, or ids exhausted; `ids` is unchanged then.
Result<LbTables> compile_services(const ServiceCompileInputs& in, ServiceIds& ids);

} // namespace podlane
