#include "dataplane/affinity.h"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_rcu_qsbr.h>

namespace podlane {

namespace {

void* pack(uint32_t backend_id, uint32_t now_s) noexcept {
    return reinterpret_cast<void*>(uint64_t{now_s} << 32 | backend_id);
}
uint32_t backend_of(const void* v) noexcept { return static_cast<uint32_t>(reinterpret_cast<uint64_t>(v)); }
uint32_t time_of(const void* v) noexcept { return static_cast<uint32_t>(reinterpret_cast<uint64_t>(v) >> 32); }

} // namespace

Result<std::unique_ptr<AffinityTable>> AffinityTable::create(const std::string& name, uint32_t max_clients,
                                                             rte_rcu_qsbr* qsbr) {
    std::unique_ptr<AffinityTable> t(new AffinityTable());
    t->qsbr_ = qsbr;
    rte_hash_parameters p{};
    p.name = name.c_str();
    p.entries = max_clients;
    p.key_len = sizeof(AffinityKey);
    p.hash_func = rte_hash_crc;
    p.socket_id = SOCKET_ID_ANY;
    p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD;
    t->hash_ = rte_hash_create(&p);
    if (t->hash_ == nullptr)
        return Error{"affinity: cannot create hash table: " + std::string(rte_strerror(rte_errno))};
    return t;
}

AffinityTable::~AffinityTable() { rte_hash_free(hash_); }

uint32_t AffinityTable::lookup(uint16_t rev_nat_id, Ipv4Addr client, uint32_t now_s,
                               uint32_t timeout_s) const noexcept {
    const AffinityKey k{client.be, rev_nat_id, 0};
    void* v = nullptr;
    if (rte_hash_lookup_data(hash_, &k, &v) < 0 || now_s - time_of(v) > timeout_s)
        return UINT32_MAX;
    return backend_of(v);
}

bool AffinityTable::pin(uint16_t rev_nat_id, Ipv4Addr client, uint32_t backend_id, uint32_t now_s) noexcept {
    const AffinityKey k{client.be, rev_nat_id, 0};
    return rte_hash_add_key_data(hash_, &k, pack(backend_id, now_s)) >= 0;
}

uint32_t AffinityTable::expire(uint32_t now_s, const std::function<uint32_t(uint16_t)>& timeout_s) {
    std::vector<AffinityKey> dead;
    const void* key = nullptr;
    void* v = nullptr;
    uint32_t next = 0;
    while (rte_hash_iterate(hash_, &key, &v, &next) >= 0) {
        const auto& k = *static_cast<const AffinityKey*>(key);
        if (now_s - time_of(v) > timeout_s(k.rev_nat_id))
            dead.push_back(k);
    }
    if (dead.empty())
        return 0;
    Pending p;
    for (const AffinityKey& k : dead) {
        const int32_t pos = rte_hash_del_key(hash_, &k);
        if (pos >= 0)
            p.keys.push_back(pos);
    }
    p.token = rte_rcu_qsbr_start(qsbr_);
    pending_.push_back(std::move(p));
    return static_cast<uint32_t>(dead.size());
}

void AffinityTable::reclaim() {
    while (!pending_.empty() && rte_rcu_qsbr_check(qsbr_, pending_.front().token, false) == 1) {
        for (int32_t pos : pending_.front().keys)
            rte_hash_free_key_with_position(hash_, pos);
        pending_.erase(pending_.begin());
    }
}

void AffinityTable::for_each(const std::function<void(const AffinityKey&, uint32_t, uint32_t)>& f) const {
    const void* key = nullptr;
    void* v = nullptr;
    uint32_t next = 0;
    while (rte_hash_iterate(hash_, &key, &v, &next) >= 0)
        f(*static_cast<const AffinityKey*>(key), backend_of(v), time_of(v));
}

uint32_t AffinityTable::size() const noexcept { return static_cast<uint32_t>(rte_hash_count(hash_)); }

} // namespace podlane
