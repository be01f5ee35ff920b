// The control thread's ARP neighbour cache for next hops on the uplink.
// Workers never write it: they pass what ARP teaches them through a ring
// (NeighborFact), and resolved MACs reach them in the next published snapshot.
//
// States, as Linux names them: incomplete (probing, no MAC yet), reachable
// (confirmed within refresh_ms), stale (older: still used, re-probed every
// second), failed (no answer to 3 probes, or unconfirmed for timeout_ms: not
// used; packets to it are dropped as no_neighbour). Next hops podlane needs
// (the other nodes) and addresses a packet asked for are probed until they
// answer; other entries are forgotten once they fail.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "common/net_types.h"
#include "control/config/config.h"
#include "control/api/control_api.h"

namespace podlane {

enum class NeighborState { Incomplete, Reachable, Stale, Failed };

struct NeighborEntry {
    Ipv4Addr ip;
    MacAddr mac;
    bool mac_valid = false;
    NeighborState state = NeighborState::Incomplete;
    uint16_t port_id = 0;
    bool wanted = false; ///< a next hop podlane needs (probed); else only learnt
    std::chrono::steady_clock::time_point requested_until{}; ///< probed on request until then
    std::chrono::steady_clock::time_point confirmed{};
    std::chrono::steady_clock::time_point last_probe{};
    uint32_t probes = 0; ///< unanswered probes since the last confirmation
    bool waited_for = false; ///< packets wait for this MAC: probe without the usual second's pause
};

class NeighborCache {
public:
    using Clock = std::chrono::steady_clock;
    explicit NeighborCache(NeighborConfig timers) : timers_(timers) {}

    /// Next hops to keep resolved (the other nodes' IPs), reached over `port_id`.
    void set_wanted(const std::vector<Ipv4Addr>& ips, uint16_t port_id);
    /// A packet needed `ip` resolved: probe it until it answers or
    /// timeout_ms passes without use. While it has no MAC, packets wait for
    /// it: it is probed at the next tick, and then every 200 ms, not every
    /// second (as Linux solicits at once for a queued packet).
    void request(Ipv4Addr ip, uint16_t port_id, Clock::time_point now);
    /// Applies what a worker saw in an ARP packet. True if a usable MAC changed.
    bool learn(Ipv4Addr ip, const MacAddr& mac, uint16_t port_id, Clock::time_point now);
    /// Ages entries and says which addresses to probe now. `changed` is true
    /// if a usable MAC appeared or went away.
    struct Tick {
        std::vector<Ipv4Addr> probe;
        bool changed = false;
    };
    Tick tick(Clock::time_point now);

    /// The MAC to use for `ip`, if any.
    std::optional<MacAddr> lookup(Ipv4Addr ip) const;
    const std::map<Ipv4Addr, NeighborEntry>& entries() const { return entries_; }
    /// For `podlane neighbor list`: ip, mac, state, port, age_ms, probes.
    Json json(Clock::time_point now, const std::function<std::string(uint16_t)>& port_name) const;

    static const char* state_name(NeighborState s);

private:
    NeighborConfig timers_;
    std::map<Ipv4Addr, NeighborEntry> entries_;
};

} // namespace podlane
