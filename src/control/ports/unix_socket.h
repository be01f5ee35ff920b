// Unix socket files podlaned serves to pods (vhost-user and memif): checking
// their paths, clearing stale ones, and seeing whether a peer serves one.
#pragma once

#include <string>

#include "common/result.h"

namespace podlane {

/// A path DPDK devargs can carry: absolute, at most 107 bytes (sun_path), no
/// commas or spaces. `what` names the socket in the message ("vhost-user").
Result<void> check_socket_path(const std::string& path, const std::string& what);

/// Whether a process accepts connections of `type` (SOCK_STREAM for
/// vhost-user, SOCK_SEQPACKET for memif) on the unix socket at `path`: 0 if
/// one does, otherwise connect()'s errno (ENOENT, ECONNREFUSED; EPROTOTYPE:
/// a live socket of another type is bound there). With `greeting_ms`, a
/// connection is held until the server has sent something (a memif server
/// greets first) or that many milliseconds have passed: DPDK 22.11's memif
/// server panics when its greeting meets a connection already closed.
int probe_unix_socket(const std::string& path, int type, int greeting_ms = 0);

/// Before podlaned listens on `path`: creates its directory and removes a
/// socket file that nobody serves; refuses a live socket (of any type) or a
/// file that is not a socket.
Result<void> prepare_server_socket(const std::string& path, const std::string& what);

} // namespace podlane
