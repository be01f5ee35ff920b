// Fuzz target: podlane-cni's input: the CNI_* environment and the network
// config on stdin, through run_plugin (every command), against a podlaned
// that answers, refuses or cannot be reached as the input says.
//
// Input: "NAME=VALUE" lines (the environment) up to an empty line, then
// stdin. The first byte picks podlaned's behaviour (0: answers, 1: refuses,
// 2: unreachable). Whatever the input, the plugin prints one JSON object
// (or nothing, on a success without a result), and an error (exit code != 0) carries "code" and "msg".
//
// DEL records a pending delete next to the config's "socket" before it asks
// podlaned: the harness points "socket" (and "vhostSocketDir") into a
// private temporary directory, so the fuzzer cannot make it write elsewhere.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cni/cni_plugin.h"

using namespace podlane;
using namespace podlane::cni;
using Json = nlohmann::json;

namespace {

const std::string& scratch_dir() {
    // Never destroyed: the atexit handler below runs after static destructors
    // registered later would have (a static std::string here was used after free).
    static const std::string* dir = [] {
        auto* d = new std::string(std::filesystem::temp_directory_path() /
                                  ("podlane-fuzz-cni-" + std::to_string(getpid())));
        std::filesystem::create_directories(*d);
        std::atexit([] {
            std::error_code ignored;
            std::filesystem::remove_all(scratch_dir(), ignored);
        });
        return d;
    }();
    return *dir;
}

[[noreturn]] void broken(const char* what, const std::string& out) {
    std::fprintf(stderr, "cni: %s: %s\n", what, out.c_str());
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1)
        return 0;
    const int behaviour = data[0] % 3;
    std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::map<std::string, std::string> env;
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (line.empty())
            break;
        const size_t eq = line.find('=');
        if (eq != std::string_view::npos)
            env[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    }
    std::string stdin_text(text);
    // The same parser as parse_netconf's: what it cannot parse it refuses before touching the disk.
    Json conf = Json::parse(stdin_text, nullptr, false);
    if (!conf.is_discarded() && conf.is_object()) {
        conf["socket"] = scratch_dir() + "/api.sock";
        if (conf.contains("vhostSocketDir"))
            conf["vhostSocketDir"] = scratch_dir() + "/vhost";
        stdin_text = conf.dump();
    }

    AgentReply reply;
    reply.status = behaviour == 0 ? AgentReply::Status::Ok
                   : behaviour == 1 ? AgentReply::Status::Refused
                                    : AgentReply::Status::Unreachable;
    reply.data = Json{{"ip", "10.210.1.11"}, {"prefix_len", 32}, {"gateway", "10.210.1.1"},
                      {"mac", "0a:58:0a:d2:01:0b"}, {"mtu", 1450}, {"ifname", "eth0"},
                      {"netns", "/proc/self/ns/net"}, {"vhost_socket", ""}, {"endpoint_id", "default/web"}};
    reply.error = "refused by the fuzzer";
    const PluginOutput out = run_plugin(
        [&](const char* name) -> const char* {
            auto it = env.find(name);
            return it == env.end() ? nullptr : it->second.c_str();
        },
        stdin_text, [&](const std::string&, const std::string&, const Json&) { return reply; });

    const Json printed = Json::parse(out.out, nullptr, false);
    if (out.exit_code == 0 && out.out.empty()) {
        // DEL, GC and STATUS print nothing when they succeed.
    } else if (printed.is_discarded() || !printed.is_object())
        broken("the plugin did not print one JSON object", out.out);
    if (out.exit_code != 0 && (!printed.contains("code") || !printed.contains("msg")))
        broken("an error without code and msg", out.out);
    std::error_code ignored;
    std::filesystem::remove_all(scratch_dir() + "/api.sock.pending-del", ignored);
    return 0;
}
