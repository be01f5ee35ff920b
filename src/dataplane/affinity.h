// Session affinity (sessionAffinity: ClientIP): which backend a client was
// last sent to, per frontend, shared by all workers in a lock-free rte_hash.
// The value is packed into the hash's data word (backend id and the time of
// the latest new connection), so a lookup costs one hash probe and an update
// one atomic store. The control thread expires idle clients and frees their
// key slots after an RCU grace period, like Conntrack.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"

struct rte_hash;
struct rte_rcu_qsbr;

namespace podlane {

struct AffinityKey {
    uint32_t client_be = 0;
    uint16_t rev_nat_id = 0;
    uint16_t pad = 0;
};
static_assert(sizeof(AffinityKey) == 8);

class AffinityTable {
public:
    static Result<std::unique_ptr<AffinityTable>> create(const std::string& name, uint32_t max_clients,
                                                         rte_rcu_qsbr* qsbr);
    ~AffinityTable();
    AffinityTable(const AffinityTable&) = delete;
    AffinityTable& operator=(const AffinityTable&) = delete;

    /// The backend `client` was pinned to for frontend `rev_nat_id`, if it
    /// was used within `timeout_s` of `now_s`; else UINT32_MAX.
    uint32_t lookup(uint16_t rev_nat_id, Ipv4Addr client, uint32_t now_s, uint32_t timeout_s) const noexcept;
    /// Pins `client` to `backend_id` as of `now_s`. False if the table is full.
    bool pin(uint16_t rev_nat_id, Ipv4Addr client, uint32_t backend_id, uint32_t now_s) noexcept;

    /// Control thread: removes pins idle for longer than `timeout_s(rev_nat_id)`.
    uint32_t expire(uint32_t now_s, const std::function<uint32_t(uint16_t)>& timeout_s);
    /// Control thread: frees key slots whose grace period is over.
    void reclaim();
    void for_each(const std::function<void(const AffinityKey&, uint32_t backend_id, uint32_t last_s)>& f) const;
    uint32_t size() const noexcept;

private:
    AffinityTable() = default;
    rte_hash* hash_ = nullptr;
    rte_rcu_qsbr* qsbr_ = nullptr;
    struct Pending {
        uint64_t token = 0;
        std::vector<int32_t> keys;
    };
    std::vector<Pending> pending_;
};

} // namespace podlane
