// The restart state file: what one podlaned hands the next so that
// established connections survive a restart (docs/restart.md). Conntrack
// flows with their NAT bindings and backends, session-affinity pins and the
// uplink's neighbour cache; SNAT port allocations are the flows' own reply
// tuples (dataplane/snat.h), so they come back with the flows. Ids the
// service compiler hands out (rev_nat ids, backend ids) differ from process
// to process: the file names frontends and backends by their keys
// (address, port, protocol), which the next process maps to its own ids.
//
// On disk: one header line, then a JSON payload of exactly the announced
// length whose SHA-256 (OpenSSL) the header carries:
//
//   podlane-restart-state 1 bytes=1234 sha256=<64 hex digits>\n{...}
//
// A file of another format version, a truncated or corrupted one, or one
// whose payload does not parse is refused with a message that says which;
// decoding never throws.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"
#include "dataplane/conntrack.h"

namespace podlane {

/// The format version this podlaned writes and reads.
inline constexpr uint32_t kRestartStateVersion = 1;
/// The header line's first word.
inline constexpr const char* kRestartStateMagic = "podlane-restart-state";

/// One conntrack flow as the next process recreates it.
struct SavedFlow {
    CtTuple orig;                ///< its original tuple (network order, as in the table)
    CtXlate fwd;                 ///< the original direction's rewrite (backend, SNAT source and port)
    uint8_t flags = 0;           ///< CtFlags
    uint8_t tcp_state = 0;       ///< CtTcpState
    uint32_t remaining_s = 0;    ///< seconds it had left to live when written
    uint32_t packets = 0;
    uint64_t bytes = 0;
    uint64_t frontend_key = 0;   ///< the frontend its replies are reverse-NATed from; 0: none
    uint64_t backend_key = 0;    ///< its backend (kCtDnat), as a frontend_key of the backend's ip/port/proto
    friend bool operator==(const SavedFlow&, const SavedFlow&) = default;
};

/// A session-affinity pin.
struct SavedAffinity {
    Ipv4Addr client;
    uint64_t frontend_key = 0;
    uint64_t backend_key = 0;
    uint32_t idle_s = 0;         ///< seconds since its latest new connection
    friend bool operator==(const SavedAffinity&, const SavedAffinity&) = default;
};

/// A resolved uplink neighbour.
struct SavedNeighbor {
    Ipv4Addr ip;
    MacAddr mac;
    friend bool operator==(const SavedNeighbor&, const SavedNeighbor&) = default;
};

struct RestartState {
    std::string node;            ///< node.name of the writer
    std::string writer_version;  ///< the writer's podlane version
    std::string reason;          ///< "graceful-stop" or "checkpoint"
    int64_t written_unix_ms = 0;
    std::vector<SavedFlow> flows;
    std::vector<SavedAffinity> affinity;
    std::vector<SavedNeighbor> neighbors;
    friend bool operator==(const RestartState&, const RestartState&) = default;
};

/// The file's bytes (header and payload).
std::string encode_restart_state(const RestartState& s);
/// The header line for `payload`, then `payload` (encode_restart_state's framing).
std::string frame_restart_payload(const std::string& payload);
/// Reads bytes written by encode_restart_state; an error says what is wrong
/// (not a restart state file, another version, truncated, checksum, payload).
Result<RestartState> decode_restart_state(const std::string& bytes);

/// Writes `s` to `path` atomically (a temporary file, fsync, rename).
Result<void> write_restart_state(const std::string& path, const RestartState& s);
/// Reads and decodes `path`; the error names the file.
Result<RestartState> read_restart_state(const std::string& path);

} // namespace podlane
