// podlane-cni: podlane's CNI plugin. A container runtime runs it with the
// CNI_* environment and the network configuration on stdin; it asks podlaned
// (over the API socket the configuration names) to attach or detach the pod
// and prints the CNI result or error. See docs/cni.md.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <iterator>
#include <string>

#include "client/api_client.h"
#include "cni/cni_plugin.h"

namespace {

constexpr const char* kHelp = R"(podlane-cni: the CNI plugin of podlane (CNI spec 0.3.0 .. 1.1.0)

A container runtime runs it, not a person: CNI_COMMAND (ADD, DEL, CHECK, GC,
STATUS or VERSION), CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH and
CNI_ARGS in the environment, the network configuration as JSON on stdin.
It prints the CNI result (ADD) or an error object and exits non-zero on error.

Install: copy it into the runtime's CNI bin directory (e.g. /opt/cni/bin) and
put configs/05-podlane.conflist into /etc/cni/net.d; podlaned must run on the
node (the conflist's "socket" names its API socket). docs/cni.md has the keys.

Try: echo '{"cniVersion":"1.1.0"}' | CNI_COMMAND=VERSION podlane-cni
)";

using podlane::cni::AgentReply;

/// One request over podlaned's API socket, sorted into the plugin's three outcomes.
AgentReply call_podlaned(const std::string& socket, const std::string& cmd, const podlane::Json& args) {
    auto client = podlane::ApiClient::connect(socket);
    if (!client)
        return AgentReply{AgentReply::Status::Unreachable, nullptr, client.error().message};
    auto response = client->request(cmd, args);
    if (!response)
        return AgentReply{AgentReply::Status::Unreachable, nullptr, response.error().message};
    const podlane::Json& r = *response;
    if (r.is_object() && r.value("ok", false))
        return AgentReply{AgentReply::Status::Ok, r.value("data", podlane::Json()), ""};
    const std::string error = r.is_object() && r.contains("error") && r["error"].is_string()
                                  ? r["error"].get<std::string>()
                                  : "podlaned answered without an error message";
    return AgentReply{AgentReply::Status::Refused, nullptr, error};
}

} // namespace

int main(int argc, char** argv) {
    if (argc > 1 && (std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0)) {
        std::fputs(kHelp, stdout);
        return 0;
    }
    const char* command = std::getenv("CNI_COMMAND");
    std::string input;
    if (command != nullptr && *command != '\0' && !(std::strcmp(command, "VERSION") == 0 && isatty(0)))
        input.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    else if (isatty(0))
        std::fputs(kHelp, stderr);
    auto out = podlane::cni::run_plugin([](const char* name) { return std::getenv(name); }, input, call_podlaned);
    std::fputs(out.out.c_str(), stdout);
    return out.exit_code;
}
