// The poll-mode worker loop run on each worker lcore.
#pragma once

#include <atomic>
#include <cstdint>

#include <rte_rcu_qsbr.h>

#include "dataplane/counters.h"
#include "dataplane/capture.h"
#include "dataplane/flow_event.h"
#include "dataplane/hold_queue.h"
#include "dataplane/rcu_publisher.h"
#include "dataplane/snapshot.h"

namespace podlane {

/// Everything a worker needs; owned by the agent, alive until the worker returns.
struct WorkerContext {
    uint32_t worker_id = 0;                    ///< QSBR thread id and tx queue id
    const RcuPublisher<Snapshot>* tables = nullptr;
    rte_rcu_qsbr* qsbr = nullptr;
    WorkerCounters* counters = nullptr;
    HoldQueue* hold = nullptr;                 ///< this worker's packets waiting for ARP
    const std::atomic<bool>* stop = nullptr;
    uint16_t burst_size = 32;                  ///< <= kMaxBurst
    uint32_t idle_sleep_us = 0;                ///< 0: never sleep
    uint32_t idle_polls_before_sleep = 256;
    FlowTap* flows = nullptr;                  ///< this worker's flow-event tap (observe); nullptr: off
    CaptureTap* capture = nullptr;             ///< this worker's packet-capture tap; copies only while active
};

/// Polls the rx queues the current snapshot assigns to this worker, runs the
/// pipeline on each burst and reports a quiescent state after every round.
/// After `idle_polls_before_sleep` empty rounds it sleeps `idle_sleep_us`,
/// offline for RCU, so labs with several agents on few CPUs stay usable.
/// Signature fits rte_eal_remote_launch; returns 0.
int worker_main(void* worker_context);

} // namespace podlane
