// The load-balancer part of a published Snapshot: service frontends, the
// backends each one may pick for a new flow (by scope), Maglev tables, and
// the node's NAT settings. Assembled by control/service_compiler from
// per-service pieces and read lock-free by workers; the mutable flow state
// (conntrack, affinity) lives in tables the snapshot only points to.
//
// Publishing costs what changed, not what exists: frontends (with their
// service entries and backend lists) live in shards by key hash, backends
// in chunks by id, frontend and backend IPs in shards by address. Each piece
// is immutable and shared by every LbTables published while it stays the
// same; a change builds new pieces for what it touches only, and the old
// ones go with the last snapshot holding them, after its RCU grace period.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <rte_byteorder.h>

#include "common/net_types.h"
#include "dataplane/exact_map.h"

namespace podlane {

class AffinityTable;
class Conntrack;
class FragTable;

/// Backend selection for new flows.
enum class LbAlgorithm : uint8_t { Random, Maglev };

/// How traffic from outside reaches a backend on another node.
enum class NodePortMode : uint8_t {
    Snat,   ///< SNAT to the node IP: the reply comes back through this node
    Dsr,    ///< direct server return: Geneve dispatch carries the service address
    Hybrid, ///< DSR for TCP, SNAT for UDP
};

/// What a service with no usable backend does to a new flow.
enum class NoBackendAction : uint8_t {
    Reject, ///< TCP: RST; UDP: ICMP port unreachable
    Drop,
};

enum class BackendState : uint8_t { Active, Terminating };

/// What kind of frontend a service entry is (for the CLI and counters).
enum class FrontendKind : uint8_t { ClusterIP, NodePort, LoadBalancer, ExternalIP, HostPort };

/// The 64-bit key of a frontend: address, port and protocol.
constexpr uint64_t frontend_key(rte_be32_t ip_be, rte_be16_t port_be, uint8_t proto) noexcept {
    return uint64_t{ip_be} << 32 | uint64_t{port_be} << 8 | proto;
}

/// A set of IPv4 addresses split into shards by address hash. Each shard is
/// an immutable Ipv4Map shared by every LbTables published while it stays
/// the same, and so is the array of shards while none changes: a change
/// rebuilds one shard and copies the array of pointers, not the set.
class ShardedIpv4Set {
public:
    static constexpr uint32_t kShardBits = 10;
    static constexpr uint32_t kShards = 1u << kShardBits;
    using Shards = std::array<std::shared_ptr<const Ipv4Map>, kShards>;
    /// (Ipv4Map hashes the host-order address: the two hashes are independent.)
    static uint32_t shard_of(Ipv4Addr ip) noexcept { return (ip.be * 0x9E3779B1u) >> (32 - kShardBits); }

    ShardedIpv4Set() : shards_(empty()) {}
    explicit ShardedIpv4Set(std::shared_ptr<const Shards> shards) : shards_(std::move(shards)) {}
    /// True if `ip` is in the set.
    bool contains(Ipv4Addr ip) const noexcept { return lookup(ip) != kNotFound; }
    /// kNotFound if `ip` is not in the set, else its index within its shard.
    uint32_t lookup(Ipv4Addr ip) const noexcept {
        const Ipv4Map* s = (*shards_)[shard_of(ip)].get();
        return s == nullptr ? kNotFound : s->lookup(ip);
    }
    const Ipv4Map* shard(uint32_t i) const noexcept { return (*shards_)[i].get(); }
    const std::shared_ptr<const Shards>& shards() const noexcept { return shards_; }
    /// A whole set of `ips` (repeats allowed), every shard built anew.
    static ShardedIpv4Set of(const std::vector<Ipv4Addr>& ips) {
        std::vector<std::vector<Ipv4Addr>> by_shard(kShards);
        for (Ipv4Addr ip : ips)
            by_shard[shard_of(ip)].push_back(ip);
        auto shards = std::make_shared<Shards>();
        for (uint32_t i = 0; i < kShards; ++i)
            if (!by_shard[i].empty())
                (*shards)[i] = std::make_shared<const Ipv4Map>(by_shard[i]); // repeats are kept once
        return ShardedIpv4Set(std::move(shards));
    }

private:
    static const std::shared_ptr<const Shards>& empty() {
        static const std::shared_ptr<const Shards> none = std::make_shared<const Shards>();
        return none;
    }
    std::shared_ptr<const Shards> shards_;
};

/// A backend, indexed by its node-local backend id (stable across publishes
/// while the backend exists; ids of removed backends are not present).
struct LbBackend {
    Ipv4Addr ip;
    rte_be16_t port_be = 0;
    BackendState state = BackendState::Active;
    bool present = false;   ///< false: no backend has this id (removed, or never used)
    bool local = false;     ///< runs on this node
};

/// One frontend in one scope: the backends a new flow may pick, and how.
/// "Internal" scope is traffic from this node's pods and kernel; "external"
/// is traffic from the uplink. A frontend whose two scopes select the same
/// backends shares one entry.
struct LbService {
    Ipv4Addr vip;                 ///< the frontend address (ClusterIP, node IP, LB IP, ExternalIP)
    rte_be16_t port_be = 0;       ///< the frontend port
    uint8_t proto = 0;            ///< IPPROTO_TCP or IPPROTO_UDP
    FrontendKind kind = FrontendKind::ClusterIP;
    uint16_t rev_nat_id = 0;      ///< stable per frontend, 1..65535; what conntrack entries carry
    LbAlgorithm algorithm = LbAlgorithm::Random;
    bool affinity = false;        ///< sessionAffinity ClientIP
    bool local_only = false;      ///< traffic policy Local: only this node's backends
    uint32_t affinity_timeout_s = 0;
    const uint32_t* backends = nullptr; ///< ids of the active backends to pick from (LbPicks::ids)
    uint32_t backends_n = 0;      ///< 0: no backend (reject or drop new flows)
    const uint32_t* maglev = nullptr; ///< backend ids, one per Maglev slot (LbPicks::maglev)
    uint32_t maglev_m = 0;        ///< table size; 0 unless algorithm is Maglev and backends_n > 0
};

/// The backends one service port picks from in one scope, and their Maglev
/// table. Compiled once per service and shared, unchanged, by every LbTables
/// published while the service stays as it is: LbService points into it.
struct LbPicks {
    std::vector<uint32_t> ids;    ///< backend ids
    std::vector<uint32_t> maglev; ///< backend id per slot; empty unless Maglev
};

/// A frontend: which service entry serves each scope (kNotFound: not
/// reachable from there, e.g. a ClusterIP from the uplink). The values are
/// references into LbTables::services (LbFrontendShards::ref).
struct LbFrontend {
    uint32_t internal = kNotFound;
    uint32_t external = kNotFound;
};

/// The frontends whose keys hash to one shard, with the service entries
/// they use and the backend lists those point into. Immutable once built.
struct LbFrontendShard {
    KeyMap64 by_key;                                   ///< frontend key -> index into frontends
    std::vector<LbFrontend> frontends;                 ///< internal/external: refs into this shard's services
    std::vector<LbService> services;
    std::vector<std::shared_ptr<const LbPicks>> picks; ///< what services' backends/maglev point into
};

/// Every frontend shard of one LbTables (a null shard has no frontend).
/// A publish copies this array of pointers, not the shards.
struct LbFrontendShards {
    static constexpr uint32_t kShardBits = 8;
    static constexpr uint32_t kShards = 1u << kShardBits;
    static constexpr uint32_t kIndexBits = 24;
    static constexpr uint32_t kIndexMask = (1u << kIndexBits) - 1;
    /// The shard of a frontend key (a hash independent of KeyMap64's slots).
    static uint32_t shard_of(uint64_t key) noexcept {
        return static_cast<uint32_t>((key * 0xD6E8FEB86659FD93ull) >> (64 - kShardBits));
    }
    /// The reference of entry `index` of shard `shard`, as frontends and services are indexed.
    static constexpr uint32_t ref(uint32_t shard, uint32_t index) noexcept { return shard << kIndexBits | index; }

    std::array<std::shared_ptr<const LbFrontendShard>, kShards> shards{};
    size_t frontends = 0; ///< in all shards
    size_t services = 0;
};

/// LbTables::frontend_by_key: frontend_key -> a frontend reference.
class LbFrontendMap {
public:
    explicit LbFrontendMap(std::shared_ptr<const LbFrontendShards> set = std::make_shared<const LbFrontendShards>())
        : set_(std::move(set)) {}
    uint32_t lookup(uint64_t key) const noexcept {
        const uint32_t s = LbFrontendShards::shard_of(key);
        const LbFrontendShard* shard = set_->shards[s].get();
        if (shard == nullptr)
            return kNotFound;
        const uint32_t i = shard->by_key.lookup(key);
        return i == kNotFound ? kNotFound : LbFrontendShards::ref(s, i);
    }
    bool empty() const noexcept { return set_->frontends == 0; }

private:
    std::shared_ptr<const LbFrontendShards> set_;
};

/// LbTables::frontends and ::services: entries by reference
/// (LbFrontendShards::ref); iterating visits every entry, shard by shard.
template <typename T, std::vector<T> LbFrontendShard::*Member>
class LbShardedList {
public:
    explicit LbShardedList(std::shared_ptr<const LbFrontendShards> set = std::make_shared<const LbFrontendShards>())
        : set_(std::move(set)) {}
    const T& operator[](uint32_t ref) const noexcept {
        return (set_->shards[ref >> LbFrontendShards::kIndexBits].get()->*Member)[ref & LbFrontendShards::kIndexMask];
    }
    /// operator[] with a check (control side): throws std::out_of_range.
    const T& at(uint32_t ref) const {
        const uint32_t s = ref >> LbFrontendShards::kIndexBits;
        if (s >= LbFrontendShards::kShards || set_->shards[s] == nullptr ||
            (ref & LbFrontendShards::kIndexMask) >= (set_->shards[s].get()->*Member).size())
            throw std::out_of_range("no load-balancer entry " + std::to_string(ref));
        return (*this)[ref];
    }
    size_t size() const noexcept {
        if constexpr (std::is_same_v<T, LbFrontend>)
            return set_->frontends;
        else
            return set_->services;
    }
    bool empty() const noexcept { return size() == 0; }

    class const_iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using pointer = const T*;
        using reference = const T&;
        const_iterator() = default;
        const_iterator(const LbFrontendShards* set, uint32_t shard) : set_(set), shard_(shard) { settle(); }
        const T& operator*() const { return (set_->shards[shard_].get()->*Member)[index_]; }
        const T* operator->() const { return &**this; }
        const_iterator& operator++() {
            ++index_;
            settle();
            return *this;
        }
        const_iterator operator++(int) {
            const_iterator old = *this;
            ++*this;
            return old;
        }
        bool operator==(const const_iterator& o) const { return shard_ == o.shard_ && index_ == o.index_; }
        bool operator!=(const const_iterator& o) const { return !(*this == o); }

    private:
        /// Moves to the first entry at or after (shard_, index_).
        void settle() {
            while (shard_ < LbFrontendShards::kShards &&
                   (set_->shards[shard_] == nullptr || index_ >= (set_->shards[shard_].get()->*Member).size())) {
                ++shard_;
                index_ = 0;
            }
        }
        const LbFrontendShards* set_ = nullptr;
        uint32_t shard_ = LbFrontendShards::kShards;
        uint32_t index_ = 0;
    };
    const_iterator begin() const { return const_iterator(set_.get(), 0); }
    const_iterator end() const { return const_iterator(set_.get(), LbFrontendShards::kShards); }

private:
    std::shared_ptr<const LbFrontendShards> set_;
};

/// LbTables::backends: LbBackend by backend id, in chunks shared between
/// publishes while none of their ids changes.
class LbBackendTable {
public:
    static constexpr uint32_t kChunkBits = 10;
    static constexpr uint32_t kChunk = 1u << kChunkBits;
    using Chunk = std::array<LbBackend, kChunk>;

    LbBackendTable() = default;
    /// The first `size` ids, from `chunks` (ceil(size / kChunk) of them, none null).
    LbBackendTable(std::vector<std::shared_ptr<const Chunk>> chunks, size_t size)
        : chunks_(std::move(chunks)), size_(size) {}
    const LbBackend& operator[](uint32_t id) const noexcept { return (*chunks_[id >> kChunkBits])[id & (kChunk - 1)]; }
    /// operator[] with a check (control side): throws std::out_of_range.
    const LbBackend& at(uint32_t id) const {
        if (id >= size_)
            throw std::out_of_range("no backend id " + std::to_string(id));
        return (*this)[id];
    }
    size_t size() const noexcept { return size_; }
    const std::shared_ptr<const Chunk>& chunk(uint32_t i) const noexcept { return chunks_[i]; }
    size_t chunks() const noexcept { return chunks_.size(); }

    class const_iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = LbBackend;
        using difference_type = std::ptrdiff_t;
        using pointer = const LbBackend*;
        using reference = const LbBackend&;
        const_iterator() = default;
        const_iterator(const LbBackendTable* t, uint32_t id) : t_(t), id_(id) {}
        const LbBackend& operator*() const { return (*t_)[id_]; }
        const LbBackend* operator->() const { return &**this; }
        const_iterator& operator++() {
            ++id_;
            return *this;
        }
        const_iterator operator++(int) {
            const_iterator old = *this;
            ++id_;
            return old;
        }
        bool operator==(const const_iterator& o) const { return id_ == o.id_; }
        bool operator!=(const const_iterator& o) const { return id_ != o.id_; }

    private:
        const LbBackendTable* t_ = nullptr;
        uint32_t id_ = 0;
    };
    const_iterator begin() const { return const_iterator(this, 0); }
    const_iterator end() const { return const_iterator(this, static_cast<uint32_t>(size_)); }

private:
    std::vector<std::shared_ptr<const Chunk>> chunks_;
    size_t size_ = 0;
};

/// Conntrack timeouts in seconds.
struct CtTimeouts {
    uint32_t tcp_syn = 60;
    uint32_t tcp_established = 21600;
    uint32_t tcp_close = 10;
    uint32_t udp = 60;
    uint32_t icmp = 60;
};

/// Everything the dataplane needs to load-balance and NAT.
struct LbTables {
    LbFrontendMap frontend_by_key;          ///< frontend_key(vip, port, proto) -> reference into frontends
    LbShardedList<LbFrontend, &LbFrontendShard::frontends> frontends;
    LbShardedList<LbService, &LbFrontendShard::services> services;
    LbBackendTable backends;                ///< by backend id
    ShardedIpv4Set backend_ips;             ///< every backend's IP: replies from them may need reverse NAT
    ShardedIpv4Set frontend_ips;            ///< every frontend address (see lb_frontend_ips())

    uint32_t maglev_jhash_seed = 0;   ///< MaglevSeed::jhash_v4, for the flow hash
    NodePortMode nodeport_mode = NodePortMode::Snat;
    NoBackendAction no_backends = NoBackendAction::Reject;
    Ipv4Addr hairpin_ip;              ///< source of a flow load-balanced back to its own client

    bool masquerade = false;          ///< SNAT pod traffic leaving the cluster to the node IP
    PrefixTable no_masquerade;        ///< destinations never masqueraded
    uint16_t snat_port_min = 32768;   ///< SNAT source ports, host order
    uint16_t snat_port_max = 65535;

    CtTimeouts timeouts;
    Conntrack* ct = nullptr;          ///< shared flow table (mutable; owned by the agent)
    AffinityTable* affinity = nullptr; ///< (rev_nat_id, client IP) -> backend id and last use (mutable)
    FragTable* frags = nullptr;       ///< IPv4 fragments' ports by datagram (mutable); nullptr: fragments not tracked

    /// What frontend_by_key, frontends and services read (control side).
    std::shared_ptr<const LbFrontendShards> frontend_shards = std::make_shared<const LbFrontendShards>();
    /// Points frontend_by_key, frontends and services at `set`.
    void set_frontends(std::shared_ptr<const LbFrontendShards> set) {
        frontend_by_key = LbFrontendMap(set);
        frontends = decltype(frontends)(set);
        services = decltype(services)(set);
        frontend_shards = std::move(set);
    }
    /// Every distinct backend list the services point into (control side).
    std::vector<std::shared_ptr<const LbPicks>> all_picks() const;
};

/// The distinct frontend addresses of `lb.services`, for LbTables::frontend_ips.
inline ShardedIpv4Set lb_frontend_ips(const LbTables& lb) {
    std::vector<Ipv4Addr> ips;
    for (const LbService& s : lb.services)
        ips.push_back(s.vip);
    return ShardedIpv4Set::of(ips);
}

inline std::vector<std::shared_ptr<const LbPicks>> LbTables::all_picks() const {
    std::vector<std::shared_ptr<const LbPicks>> out;
    for (const auto& shard : frontend_shards->shards)
        if (shard)
            for (const auto& p : shard->picks)
                if (std::find(out.begin(), out.end(), p) == out.end())
                    out.push_back(p);
    return out;
}

} // namespace podlane
