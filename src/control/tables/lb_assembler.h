// Joins compiled services into the LbTables the workers read, at the cost of
// what changed: a unit's frontends claim their keys in frontend shards, its
// backends hold their ids' slots in backend chunks, and fill() rebuilds only
// the shards, chunks and IP shards touched since the last fill. Everything
// else is shared, by pointer, with the tables published before.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "dataplane/service_table.h"

namespace podlane {

/// One compiled service (or the node's hostPorts): its frontend entries and
/// the backend lists they pick from, with the ids it holds in ServiceIds.
struct CompiledUnit {
    struct Frontend {
        uint64_t key;
        uint32_t internal; ///< index into entries, or kNotFound
        uint32_t external;
    };
    struct Backend {
        uint64_t key;      ///< held in ServiceIds
        uint32_t id;
        LbBackend backend; ///< state as this service sees it
    };
    std::vector<LbService> entries;
    std::vector<Frontend> frontends;
    std::vector<Backend> backends;   ///< one per hold (a backend of two ports twice)
    std::vector<std::shared_ptr<const LbPicks>> picks;
};

/// A set of IPv4 addresses with a hold count each, published as a
/// ShardedIpv4Set whose changed shards only are rebuilt: an address released
/// and held again before set() changes nothing.
class IpHolds {
public:
    void hold(Ipv4Addr ip);
    void release(Ipv4Addr ip);
    /// The set, its changed shards rebuilt.
    const ShardedIpv4Set& set();

private:
    /// By shard: ip (be) -> holds; an entry at 0 holds waits for set() to go.
    std::vector<std::unordered_map<uint32_t, uint32_t>> holds_ =
        std::vector<std::unordered_map<uint32_t, uint32_t>>(ShardedIpv4Set::kShards);
    std::vector<Ipv4Addr> touched_; ///< addresses held or released since set() (repeats allowed)
    ShardedIpv4Set set_;
};

class LbAssembler {
public:
    /// `u` joins: its frontends claim their keys, ranked by `rank` (the
    /// service name; nullptr ranks after every name: the hostPorts), and the
    /// first claim of a key serves it. `u` and `*rank` must stay where they
    /// are until remove(u).
    void add(const CompiledUnit& u, const std::string* rank);
    /// `u` leaves: its claims and backend holds go.
    void remove(const CompiledUnit& u);
    /// Sets t's frontends, backends, backend_ips and frontend_ips, rebuilding
    /// what add() and remove() touched since the last fill.
    void fill(LbTables& t);
    /// Shards rebuilt by the last fill (for tests and benchmarks).
    size_t shards_rebuilt() const noexcept { return shards_rebuilt_; }

private:
    struct Claim {
        const std::string* rank;
        const CompiledUnit* unit;
        uint32_t frontend; ///< index into unit->frontends
    };
    static bool before(const Claim& a, const Claim& b);
    std::shared_ptr<const LbFrontendShard> build_shard(uint32_t s) const;
    void backend_slot_changed(uint32_t id);

    /// A frontend key and its claims, best first.
    struct KeyClaims {
        uint64_t key;
        std::vector<Claim> claims;
    };
    /// Per frontend shard: its keys' claims, sorted by key. A flat vector:
    /// rebuilding a shard walks it front to back (a std::map's nodes, one
    /// cache miss each, were a fifth of a publish at 50,000 services).
    std::array<std::vector<KeyClaims>, LbFrontendShards::kShards> claims_;
    /// The claims of `key` in shard `s`, created empty when absent.
    std::vector<Claim>& claims_of(uint32_t s, uint64_t key);
    std::bitset<LbFrontendShards::kShards> dirty_;
    std::shared_ptr<const LbFrontendShards> shards_ = std::make_shared<const LbFrontendShards>();
    size_t shards_rebuilt_ = 0;

    struct BackendSlot {
        uint32_t holds = 0;
        uint32_t active = 0; ///< holds by services that see it active
    };
    std::vector<BackendSlot> slots_;        ///< by backend id
    std::vector<LbBackend> backend_table_;  ///< by backend id: what the chunks copy
    std::vector<std::shared_ptr<const LbBackendTable::Chunk>> chunks_;
    std::vector<bool> chunk_dirty_;
    IpHolds backend_ips_, frontend_ips_;
};

} // namespace podlane
