// Node health probing like cilium-health: a thread of its own probes every
// node of the cluster each interval, on its node IP and on its health
// endpoint, by ICMP echo and by an HTTP GET to podlaned's responder, from
// podlaned's network namespace (so through the host path and the dataplane).
// The control thread sets the targets and reads the last report; neither
// side waits on the other for longer than a copy.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control/config/health_config.h"
#include "control/health/health_report.h"

namespace podlane {

/// A node to probe.
struct HealthTarget {
    std::string name;
    bool local = false;
    Ipv4Addr host_ip;
    Ipv4Addr endpoint_ip;  ///< zero: no health endpoint to probe
    friend bool operator==(const HealthTarget&, const HealthTarget&) = default;
};

class HealthProber {
public:
    explicit HealthProber(const HealthConfig& config);
    ~HealthProber();
    HealthProber(const HealthProber&) = delete;
    HealthProber& operator=(const HealthProber&) = delete;

    /// Replaces the nodes to probe from the next round on.
    void set_targets(std::vector<HealthTarget> targets);
    /// The last complete round (nodes without a round yet show unprobed).
    HealthReport report() const;

private:
    void run();
    NodeHealth probe(const HealthTarget& t);

    HealthConfig config_;
    mutable std::mutex mu_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::vector<HealthTarget> targets_;
    HealthReport report_;
    uint16_t icmp_id_;
    uint16_t seq_ = 0;
    std::thread thread_;
};

} // namespace podlane
