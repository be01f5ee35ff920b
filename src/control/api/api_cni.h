// The cni.* commands of the local API (docs/api.md, "CNI"): their arguments
// parsed into the control API's types, then handed to ControlApi. Part of
// the API server's dispatch table; podlane-cni is the client.
#pragma once

#include <span>

#include "control/api/api_command.h"

namespace podlane {

/// The cni.* commands (cni.add, cni.del, cni.check, cni.gc, cni.list, cni.status).
std::span<const ApiCommand> cni_commands();

} // namespace podlane
