// The BGP speaker podlaned runs for its BGP instances: BIRD 2 (Debian's
// bird2), started, configured and supervised from the control thread. Why
// BIRD and not GoBGP: docs/bgp.md.
//
// podlaned writes bird.conf as a whole (bird_config.h) and applies a change
// with `configure` on BIRD's control socket, which keeps every session whose
// settings did not change: an advertisement coming or going is one UPDATE,
// never a session reset. A BIRD that dies is started again (after 0.5 s,
// doubling to 10 s while it keeps dying) with -R, so peers with graceful
// restart keep its routes as stale until it is back.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/bgp/bgp_routes.h"
#include "control/bgp/bird_control.h"
#include "control/config/bgp_config.h"

namespace podlane {

/// One configured peer as the speaker sees it now.
struct BgpPeerView {
    std::string instance;
    const BgpInstanceConfig* instance_config = nullptr;
    const BgpPeerConfig* config = nullptr;
    bool known = false;           ///< BIRD reported this peer in its last status
    BirdBgpStatus status;         ///< valid when `known`
    bool established() const { return known && status.bgp_state == "Established"; }
};

class BgpSpeaker {
public:
    using Clock = std::chrono::steady_clock;

    /// A speaker for `config` (at least one instance), whose sessions start
    /// from `node_ip`. Nothing runs before start().
    BgpSpeaker(BgpConfig config, Ipv4Addr node_ip, std::string node_name);
    ~BgpSpeaker();
    BgpSpeaker(const BgpSpeaker&) = delete;
    BgpSpeaker& operator=(const BgpSpeaker&) = delete;

    /// Creates the run directory, writes bird.conf with `routes` and starts
    /// BIRD. Errors name the bgp key at fault (bgp.bird, bgp.run_dir).
    Result<void> start(const BgpRouteSet& routes);
    /// Supervision and reconfiguration, from the control tick: reaps and
    /// restarts BIRD, applies `routes` when they changed, refreshes the
    /// session status once a second.
    void tick(const BgpRouteSet& routes, Clock::time_point now);
    /// New instances and peers (a source's or a reload's): bird.conf is
    /// written again and applied with `configure` at the next tick; BIRD
    /// restarts only the sessions whose settings changed.
    void set_instances(std::vector<BgpInstanceConfig> instances);
    /// Stops BIRD (SIGTERM: its peers get a Cease and withdraw our routes).
    void stop();

    /// Asks BIRD for the sessions' state now (the API's views call it).
    void refresh_status();
    /// Every configured peer with its last known state.
    std::vector<BgpPeerView> peers() const;
    /// The routes BIRD was last configured with.
    const BgpRouteSet& routes() const { return applied_; }
    /// The speaker itself: binary, pid, restarts, reloads, last error.
    nlohmann::json speaker_json() const;
    const BgpConfig& config() const { return config_; }
    uint64_t restarts() const { return restarts_; }

private:
    Result<void> write_config(const BgpRouteSet& routes);
    Result<void> spawn(bool recovering);
    void reap(Clock::time_point now);

    BgpConfig config_;
    Ipv4Addr node_ip_;
    std::string node_name_;
    std::string conf_path_, socket_path_, log_path_, pid_path_;
    pid_t pid_ = 0;
    Clock::time_point started_at_{};
    Clock::time_point restart_at_{};     ///< when a dead BIRD is started again
    std::chrono::milliseconds backoff_{500};
    uint64_t restarts_ = 0;              ///< BIRDs started after one died
    uint64_t reloads_ = 0;               ///< successful `configure`s
    std::string last_exit_;              ///< how the last BIRD ended, e.g. "killed by signal 9"
    std::string last_error_;             ///< the last failure talking to BIRD
    BgpRouteSet applied_;                ///< what bird.conf holds now
    bool reload_pending_ = false;        ///< bird.conf is newer than what BIRD runs
    Clock::time_point last_reload_try_{};
    Clock::time_point last_status_{};
    std::vector<BirdBgpStatus> status_;
};

} // namespace podlane
