// LbAssembler: compiled units -> the shared, immutable pieces of LbTables.
#include "control/tables/lb_assembler.h"

#include <algorithm>

namespace podlane {

// ---- IP sets ----

void IpHolds::hold(Ipv4Addr ip) {
    ++holds_[ShardedIpv4Set::shard_of(ip)][ip.be];
    touched_.push_back(ip);
}

void IpHolds::release(Ipv4Addr ip) {
    auto& holds = holds_[ShardedIpv4Set::shard_of(ip)];
    auto it = holds.find(ip.be);
    if (it == holds.end() || it->second == 0)
        return;
    --it->second; // erased by set(), unless held again before
    touched_.push_back(ip);
}

const ShardedIpv4Set& IpHolds::set() {
    // An address came (held, not published) or went (no holds left,
    // published): found from the touched addresses, O(touched), not O(set).
    struct Change {
        uint32_t shard;
        Ipv4Addr ip;
        bool came;
    };
    std::vector<Change> changes;
    for (const Ipv4Addr ip : touched_) {
        const uint32_t shard = ShardedIpv4Set::shard_of(ip);
        auto& holds = holds_[shard];
        auto it = holds.find(ip.be);
        const bool held = it != holds.end() && it->second > 0;
        const Ipv4Map* published = set_.shard(shard);
        const bool in = published != nullptr && published->lookup(ip) != kNotFound;
        if (held != in)
            changes.push_back({shard, ip, held});
        if (it != holds.end() && it->second == 0)
            holds.erase(it);
    }
    touched_.clear();
    if (changes.empty())
        return set_;
    std::sort(changes.begin(), changes.end(), [](const Change& a, const Change& b) {
        return a.shard != b.shard ? a.shard < b.shard : a.ip.be < b.ip.be;
    });
    // A changed shard is its published addresses (a contiguous walk), less
    // those that went, plus those that came.
    auto next = std::make_shared<ShardedIpv4Set::Shards>(*set_.shards());
    for (size_t i = 0; i < changes.size();) {
        const uint32_t shard = changes[i].shard;
        size_t end = i;
        while (end < changes.size() && changes[end].shard == shard)
            ++end;
        std::vector<Ipv4Addr> ips;
        if (const Ipv4Map* published = set_.shard(shard))
            published->for_each_stored_key([&](uint32_t be) {
                const Ipv4Addr ip{be};
                const bool went = std::any_of(changes.begin() + static_cast<std::ptrdiff_t>(i),
                                              changes.begin() + static_cast<std::ptrdiff_t>(end),
                                              [&](const Change& c) { return !c.came && c.ip == ip; });
                if (!went)
                    ips.push_back(ip);
            });
        for (size_t c = i; c < end; ++c)
            if (changes[c].came)
                ips.push_back(changes[c].ip);
        (*next)[shard] = ips.empty() ? nullptr : std::make_shared<const Ipv4Map>(ips);
        i = end;
    }
    set_ = ShardedIpv4Set(std::move(next));
    return set_;
}

// ---- claims and backend holds ----

bool LbAssembler::before(const Claim& a, const Claim& b) {
    if (a.rank == nullptr || b.rank == nullptr)
        return a.rank != nullptr && b.rank == nullptr; // hostPorts last
    return *a.rank < *b.rank;
}

std::vector<LbAssembler::Claim>& LbAssembler::claims_of(uint32_t s, uint64_t key) {
    std::vector<KeyClaims>& shard = claims_[s];
    auto it = std::lower_bound(shard.begin(), shard.end(), key,
                               [](const KeyClaims& k, uint64_t want) { return k.key < want; });
    if (it == shard.end() || it->key != key)
        it = shard.insert(it, KeyClaims{key, {}});
    return it->claims;
}

void LbAssembler::add(const CompiledUnit& u, const std::string* rank) {
    for (uint32_t i = 0; i < u.frontends.size(); ++i) {
        const uint64_t key = u.frontends[i].key;
        const uint32_t s = LbFrontendShards::shard_of(key);
        std::vector<Claim>& claims = claims_of(s, key);
        const Claim c{rank, &u, i};
        if (claims.empty())
            frontend_ips_.hold(Ipv4Addr{static_cast<uint32_t>(key >> 32)});
        claims.insert(std::upper_bound(claims.begin(), claims.end(), c, before), c);
        dirty_.set(s);
    }
    for (const CompiledUnit::Backend& b : u.backends) {
        if (slots_.size() <= b.id) {
            slots_.resize(b.id + 1);
            backend_table_.resize(b.id + 1);
        }
        BackendSlot& slot = slots_[b.id];
        LbBackend& backend = backend_table_[b.id];
        if (slot.holds++ == 0)
            backend = b.backend;
        if (b.backend.state == BackendState::Active)
            ++slot.active;
        backend.state = slot.active > 0 ? BackendState::Active : BackendState::Terminating;
        backend_slot_changed(b.id);
        if (!b.backend.ip.is_zero())
            backend_ips_.hold(b.backend.ip);
    }
}

void LbAssembler::remove(const CompiledUnit& u) {
    for (const CompiledUnit::Frontend& f : u.frontends) {
        const uint32_t s = LbFrontendShards::shard_of(f.key);
        auto it = std::lower_bound(claims_[s].begin(), claims_[s].end(), f.key,
                                   [](const KeyClaims& k, uint64_t want) { return k.key < want; });
        if (it == claims_[s].end() || it->key != f.key)
            continue;
        std::vector<Claim>& claims = it->claims;
        claims.erase(std::remove_if(claims.begin(), claims.end(), [&](const Claim& c) { return c.unit == &u; }),
                     claims.end());
        if (claims.empty()) {
            claims_[s].erase(it);
            frontend_ips_.release(Ipv4Addr{static_cast<uint32_t>(f.key >> 32)});
        }
        dirty_.set(s);
    }
    for (const CompiledUnit::Backend& b : u.backends) {
        BackendSlot& slot = slots_[b.id];
        LbBackend& backend = backend_table_[b.id];
        if (b.backend.state == BackendState::Active)
            --slot.active;
        if (--slot.holds == 0)
            backend = LbBackend{};
        else
            backend.state = slot.active > 0 ? BackendState::Active : BackendState::Terminating;
        backend_slot_changed(b.id);
        if (!b.backend.ip.is_zero())
            backend_ips_.release(b.backend.ip);
    }
}

void LbAssembler::backend_slot_changed(uint32_t id) {
    const uint32_t chunk = id >> LbBackendTable::kChunkBits;
    if (chunk_dirty_.size() <= chunk)
        chunk_dirty_.resize(chunk + 1, true);
    chunk_dirty_[chunk] = true;
}

// ---- the pieces ----

std::shared_ptr<const LbFrontendShard> LbAssembler::build_shard(uint32_t s) const {
    if (claims_[s].empty())
        return nullptr;
    auto shard = std::make_shared<LbFrontendShard>();
    std::vector<uint64_t> keys;
    keys.reserve(claims_[s].size());
    shard->frontends.reserve(claims_[s].size());
    shard->services.reserve(claims_[s].size());
    std::vector<const CompiledUnit*> units; // whose picks the shard holds
    units.reserve(claims_[s].size());
    for (const auto& [key, claims] : claims_[s]) {
        const Claim& c = claims.front();
        const CompiledUnit& u = *c.unit;
        const CompiledUnit::Frontend& f = u.frontends[c.frontend];
        auto place = [&](uint32_t i) {
            if (i == kNotFound)
                return kNotFound;
            shard->services.push_back(u.entries[i]);
            return LbFrontendShards::ref(s, static_cast<uint32_t>(shard->services.size() - 1));
        };
        LbFrontend fe;
        fe.internal = place(f.internal);
        fe.external = f.external == f.internal ? fe.internal : place(f.external);
        keys.push_back(key);
        shard->frontends.push_back(fe);
        units.push_back(&u);
    }
    // Each serving unit's picks once (a unit serves several keys: its ports,
    // external IPs); sorted, not searched per key (quadratic in the shard).
    std::sort(units.begin(), units.end());
    units.erase(std::unique(units.begin(), units.end()), units.end());
    for (const CompiledUnit* u : units)
        shard->picks.insert(shard->picks.end(), u->picks.begin(), u->picks.end());
    shard->by_key = KeyMap64(keys);
    return shard;
}

void LbAssembler::fill(LbTables& t) {
    shards_rebuilt_ = 0;
    if (dirty_.any()) {
        auto next = std::make_shared<LbFrontendShards>(*shards_);
        for (uint32_t s = 0; s < LbFrontendShards::kShards; ++s) {
            if (!dirty_.test(s))
                continue;
            if (const auto& old = next->shards[s]) { // the totals change by what the shard's rebuild changes
                next->frontends -= old->frontends.size();
                next->services -= old->services.size();
            }
            next->shards[s] = build_shard(s);
            ++shards_rebuilt_;
            if (const auto& now = next->shards[s]) {
                next->frontends += now->frontends.size();
                next->services += now->services.size();
            }
        }
        dirty_.reset();
        shards_ = std::move(next);
    }
    t.set_frontends(shards_);

    const size_t n_chunks = (backend_table_.size() + LbBackendTable::kChunk - 1) / LbBackendTable::kChunk;
    chunks_.resize(n_chunks);
    chunk_dirty_.resize(n_chunks, true);
    for (size_t c = 0; c < n_chunks; ++c) {
        if (!chunk_dirty_[c] && chunks_[c])
            continue;
        auto chunk = std::make_shared<LbBackendTable::Chunk>();
        const size_t first = c * LbBackendTable::kChunk;
        const size_t n = std::min<size_t>(LbBackendTable::kChunk, backend_table_.size() - first);
        std::copy_n(backend_table_.begin() + static_cast<std::ptrdiff_t>(first), n, chunk->begin());
        chunks_[c] = std::move(chunk);
        chunk_dirty_[c] = false;
    }
    t.backends = LbBackendTable(chunks_, backend_table_.size());
    t.backend_ips = backend_ips_.set();
    t.frontend_ips = frontend_ips_.set();
}

} // namespace podlane
