#include "control/ports/neighbor_cache.h"

namespace podlane {

namespace {
constexpr auto kProbeInterval = std::chrono::seconds(1);
/// Between probes of an address packets are waiting for.
constexpr auto kWaitedProbeInterval = std::chrono::milliseconds(200);
constexpr uint32_t kProbesBeforeFailed = 3;
} // namespace

const char* NeighborCache::state_name(NeighborState s) {
    switch (s) {
    case NeighborState::Incomplete: return "incomplete";
    case NeighborState::Reachable: return "reachable";
    case NeighborState::Stale: return "stale";
    case NeighborState::Failed: return "failed";
    }
    return "?";
}

void NeighborCache::set_wanted(const std::vector<Ipv4Addr>& ips, uint16_t port_id) {
    for (auto& [ip, e] : entries_)
        e.wanted = false;
    for (Ipv4Addr ip : ips) {
        auto [it, inserted] = entries_.try_emplace(ip);
        NeighborEntry& e = it->second;
        if (inserted) {
            e.ip = ip;
            e.port_id = port_id;
        }
        e.wanted = true;
    }
}

void NeighborCache::request(Ipv4Addr ip, uint16_t port_id, Clock::time_point now) {
    auto [it, inserted] = entries_.try_emplace(ip);
    NeighborEntry& e = it->second;
    if (inserted) {
        e.ip = ip;
        e.port_id = port_id;
    }
    e.requested_until = now + std::chrono::milliseconds(timers_.timeout_ms);
    if (!e.mac_valid)
        e.waited_for = true;
}

bool NeighborCache::learn(Ipv4Addr ip, const MacAddr& mac, uint16_t port_id, Clock::time_point now) {
    auto [it, inserted] = entries_.try_emplace(ip);
    NeighborEntry& e = it->second;
    const bool changed = !e.mac_valid || e.mac != mac;
    e.ip = ip;
    e.mac = mac;
    e.mac_valid = true;
    e.port_id = port_id;
    e.state = NeighborState::Reachable;
    e.confirmed = now;
    e.probes = 0;
    e.waited_for = false;
    return changed;
}

NeighborCache::Tick NeighborCache::tick(Clock::time_point now) {
    Tick t;
    const auto refresh = std::chrono::milliseconds(timers_.refresh_ms);
    const auto timeout = std::chrono::milliseconds(timers_.timeout_ms);
    for (auto it = entries_.begin(); it != entries_.end();) {
        NeighborEntry& e = it->second;
        const auto age = now - e.confirmed;
        if (e.mac_valid && age > timeout) {
            // Unconfirmed for too long: stop using the MAC.
            e.mac_valid = false;
            e.state = NeighborState::Failed;
            t.changed = true;
        }
        const bool requested = now < e.requested_until;
        if (!e.wanted && !requested && !e.mac_valid) {
            it = entries_.erase(it); // a learnt neighbour we no longer need
            continue;
        }
        if (e.state == NeighborState::Reachable && age > refresh)
            e.state = NeighborState::Stale;
        // Everything that still has a MAC is kept fresh while it answers
        // (podlane cannot see which neighbours packets use); wanted and
        // requested addresses are probed until they answer.
        const bool needs_probe = (e.wanted || requested || e.mac_valid) && e.state != NeighborState::Reachable;
        const auto interval = e.waited_for && !e.mac_valid ? kWaitedProbeInterval : kProbeInterval;
        if (needs_probe && now - e.last_probe >= interval) {
            t.probe.push_back(e.ip);
            e.last_probe = now;
            if (++e.probes >= kProbesBeforeFailed && !e.mac_valid)
                e.state = NeighborState::Failed;
        }
        ++it;
    }
    return t;
}

std::optional<MacAddr> NeighborCache::lookup(Ipv4Addr ip) const {
    auto it = entries_.find(ip);
    if (it == entries_.end() || !it->second.mac_valid)
        return std::nullopt;
    return it->second.mac;
}

Json NeighborCache::json(Clock::time_point now, const std::function<std::string(uint16_t)>& port_name) const {
    Json list = Json::array();
    for (const auto& [ip, e] : entries_) {
        const bool ever = e.confirmed != Clock::time_point{};
        list.push_back(Json{
            {"ip", ip.str()},
            {"mac", e.mac_valid ? e.mac.str() : ""},
            {"state", state_name(e.state)},
            {"port", port_name(e.port_id)},
            {"age_ms", ever ? std::chrono::duration_cast<std::chrono::milliseconds>(now - e.confirmed).count() : -1},
            {"probes", e.probes},
        });
    }
    return list;
}

} // namespace podlane
