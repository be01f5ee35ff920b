// A command of the local API as the server's dispatch table holds it: its
// name and the function that serves it (docs/api.md lists the commands).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "control/api/api_args.h"
#include "control/api/control_api.h"

namespace podlane {

/// One API command. `serve` returns the reply's data; bad arguments and a
/// command the control API refuses throw RequestError.
struct ApiCommand {
    std::string_view name;
    Json (*serve)(ControlApi& api, const std::string& cmd, const Json& args);
};

/// The data of a control API answer, or its refusal thrown as RequestError.
inline Json data_of(Json data) { return data; }
inline Json data_of(Result<Json> r) {
    if (!r)
        throw RequestError{r.error().message};
    return std::move(r).value();
}

/// serve() of a command that takes no arguments and calls one ControlApi method.
template <auto method>
Json serve_no_args(ControlApi& api, const std::string& cmd, const Json& args) {
    check_known(cmd, args, {});
    return data_of((api.*method)());
}

} // namespace podlane
