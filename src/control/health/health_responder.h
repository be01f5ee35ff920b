// The HTTP side of node health: podlaned answers GET on port 4240 of its node
// IP and of its health endpoint, as cilium-health's responder does, so that
// other nodes' "HTTP to agent" probes measure the path to a live podlaned.
// Boost.Beast parses and writes the HTTP; it runs on a thread of its own.
#pragma once

#include <memory>
#include <string>

#include "common/net_types.h"
#include "common/result.h"

namespace podlane {

class HealthResponder {
public:
    /// Listens on addr:port in the network namespace `netns_path` (empty:
    /// podlaned's own) and answers every GET with 200 and the node's name
    /// until destroyed. A bind failure is an error naming the address.
    static Result<std::unique_ptr<HealthResponder>> start(Ipv4Addr addr, uint16_t port, const std::string& node_name,
                                                          const std::string& netns_path);
    ~HealthResponder();
    HealthResponder(const HealthResponder&) = delete;
    HealthResponder& operator=(const HealthResponder&) = delete;

    /// Requests answered so far.
    uint64_t served() const;

private:
    struct Impl;
    explicit HealthResponder(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace podlane
