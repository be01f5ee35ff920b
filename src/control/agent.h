// The node agent: owns the packet pool, the ports, the workers and the
// published tables, and serves the control API. Everything here runs on the
// control thread (the EAL main lcore); workers run on their own lcores.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "control/config.h"
#include "control/control_api.h"
#include "control/ports.h"
#include "dataplane/counters.h"
#include "dataplane/rcu_publisher.h"
#include "dataplane/snapshot.h"
#include "dataplane/worker.h"

struct rte_mempool;

namespace podlane {

/// A pod endpoint the agent has attached.
struct EndpointRecord {
    EndpointConfig spec;
    std::string netns_path;
    std::string tap_ifname; ///< name in the agent's netns before the move
    PortQueues port;
};

/// A static port from the config.
struct StaticPort {
    PortConfig spec;
    PortQueues port;
};

class Agent : public ControlApi {
public:
    explicit Agent(Config config);
    ~Agent() override;

    /// Creates the pool, attaches static ports, launches the workers and
    /// attaches the config's endpoints. EAL must be initialised.
    Result<void> start();
    /// Stops the workers and unplugs every port. Idempotent.
    void stop();
    /// Frees tables whose grace period is over; called periodically.
    void reclaim() { tables_->reclaim(); }

    Json status() override;
    Json endpoint_list() override;
    Result<Json> endpoint_add(const EndpointConfig& ep) override;
    Result<void> endpoint_delete(const std::string& id) override;
    Json stats() override;

private:
    Result<void> check_workers_available() const;
    void publish();
    Json endpoint_json(const EndpointRecord& rec) const;

    Config config_;
    rte_mempool* pool_ = nullptr;
    std::unique_ptr<PortManager> ports_;
    std::unique_ptr<Qsbr> qsbr_;
    std::unique_ptr<RcuPublisher<Snapshot>> tables_;
    std::unique_ptr<WorkerCounters[]> counters_;
    std::vector<WorkerContext> worker_ctx_;
    std::atomic<bool> stop_workers_{false};
    bool workers_running_ = false;

    std::map<std::string, EndpointRecord> endpoints_; ///< by id
    std::vector<StaticPort> static_ports_;
    uint64_t generation_ = 0;
    uint32_t tap_seq_ = 0;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

} // namespace podlane
