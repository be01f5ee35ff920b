// The cni.* commands of the local API (docs/api.md, "CNI"): their arguments
// parsed into the control API's types, then handed to ControlApi. Called by
// the API server's dispatcher; podlane-cni is the client.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "control/api/control_api.h"

namespace podlane {

/// Serves `cmd` when it is a cni.* command: the command's data, or the
/// control API's refusal; bad arguments throw RequestError (control/api/api_args.h).
/// nullopt when `cmd` is not a CNI command.
std::optional<Result<Json>> dispatch_cni(ControlApi& api, const std::string& cmd, const Json& args);

/// The CNI commands, for the server's list of known commands.
inline constexpr const char* kCniCommands = "cni.add, cni.del, cni.check, cni.gc, cni.list, cni.status";

} // namespace podlane
