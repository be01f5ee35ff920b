// podlane-cni's commands (CNI spec 1.1: ADD, DEL, CHECK, GC, STATUS,
// VERSION) as one function from the environment, stdin and a way to reach
// podlaned to what the plugin prints and its exit code. The plugin is a thin
// layer over podlaned's cni.* API commands (docs/api.md); main.cpp wires it
// to the real environment and socket, the unit tests to fakes.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "cni/cni_env.h"

namespace podlane::cni {

/// How one API request to podlaned went.
struct AgentReply {
    enum class Status {
        Ok,          ///< `data` holds the answer
        Refused,     ///< podlaned answered with an error (`error`)
        Unreachable, ///< no answer: podlaned is down, restarting or hung (`error`)
    };
    Status status = Status::Unreachable;
    nlohmann::json data;
    std::string error;
};

/// Sends {cmd, args} to podlaned's API socket at `socket`.
using AgentCall = std::function<AgentReply(const std::string& socket, const std::string& cmd, const nlohmann::json& args)>;

/// What the plugin prints on stdout, and its exit code (0: success).
struct PluginOutput {
    std::string out;
    int exit_code = 0;
};

/// Runs the command CNI_COMMAND names, with the network configuration in
/// `stdin_text`.
PluginOutput run_plugin(const Getenv& getenv, const std::string& stdin_text, const AgentCall& agent);

} // namespace podlane::cni
