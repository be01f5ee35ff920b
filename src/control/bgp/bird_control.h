// BIRD's control socket (what birdc speaks) and a parser for its `show
// protocols all` text. birdc has no JSON output, so this is the one place
// podlane reads a tool's text: the parser takes only the lines documented
// below and ignores everything else.
//
// The protocol (BIRD's doc/prog "Remote control"): after the "0001 BIRD
// <version> ready." greeting, each command line is answered by lines
// "CCCC-text" (more follow), " text" (same code as the line before) and a
// last "CCCC text". Codes 8xxx and 9xxx are errors.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace podlane {

/// One line of a BIRD reply: its code (that of the line before for " text").
struct BirdLine {
    int code = 0;
    std::string text;
};

/// Sends `command` on BIRD's control socket at `socket_path` and returns the
/// reply, all lines up to the final one. An error code in the reply, a
/// socket error or no final line within `timeout` is an error.
Result<std::vector<BirdLine>> bird_command(const std::string& socket_path, const std::string& command,
                                           std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));

/// A BGP protocol as `show protocols all` shows it.
struct BirdBgpStatus {
    std::string name;              ///< protocol name
    std::string state;             ///< protocol state: up, start, down...
    int64_t since = 0;             ///< epoch seconds of the last state change (timeformat protocol "%s")
    std::string info;              ///< "Established", "Active", "Connect", plus an error text
    std::string bgp_state;         ///< "BGP state:" Idle, Connect, Active, OpenSent, OpenConfirm, Established
    std::string last_error;        ///< "Last error:", empty when none
    uint32_t hold_time_s = 0;      ///< negotiated ("Hold timer: left/negotiated"); 0 before Established
    uint32_t keepalive_time_s = 0; ///< negotiated ("Keepalive timer: left/negotiated")
    bool local_graceful_restart = false;    ///< "Graceful restart" among the local capabilities
    bool peer_graceful_restart = false;     ///< ... among the neighbour's capabilities
    uint32_t peer_restart_time_s = 0;       ///< the neighbour's "Restart time:"
    uint64_t imported = 0;         ///< "Routes: N imported, M exported"
    uint64_t exported = 0;
};

/// The BGP protocols of a `show protocols all` reply (other protocols are skipped).
std::vector<BirdBgpStatus> parse_bird_protocols(const std::vector<BirdLine>& reply);

} // namespace podlane
