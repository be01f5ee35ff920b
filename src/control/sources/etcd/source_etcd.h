// etcd v3 as the cluster-state source (source.kind: etcd). A thread of its
// own lists the prefix once, then watches it from the next revision; when
// etcd goes away it keeps the last good state in the agent, retries with
// back-off and resumes the watch from the last revision it saw (no relist,
// unless etcd compacted that revision). This node registers itself under
// <prefix>nodes/<name> with a lease, so other nodes learn it; a second thread
// keeps that registration (lease keep-alives, the pods' keys), so that nothing
// the watch does delays a keep-alive.
#pragma once

#include <memory>

#include "control/sources/cluster_source.h"

namespace podlane {

class EtcdSource : public ClusterSource {
public:
    explicit EtcdSource(Config node_config);
    ~EtcdSource() override;
    Result<void> start(boost::asio::io_context& io, Sink sink) override;
    void stop() override;
    SourceStatus status() const override;
    /// Writes this node's pods under <prefix>endpoints/<node>/<ip>, under
    /// the node's lease (so they vanish with the node), from the registration thread.
    void publish_endpoints(std::vector<RemoteEndpointConfig> local) override;
    /// Writes <prefix>lbipam/services/<service> with a compare-and-swap
    /// transaction from the registration thread: only if it still holds
    /// `recorded` (absent when empty), so the first node to assign wins and
    /// the others read its record through the watch.
    void record_lb_ips(const std::string& service, const std::vector<Ipv4Addr>& ips,
                       const std::vector<Ipv4Addr>& recorded) override;

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

/// ipam cluster-pool through etcd: this node's PodCIDR block, claimed with
/// a create-only transaction under <prefix>ipam/blocks/ (a block this node
/// already holds is reused). Called before the agent starts.
Result<Ipv4Prefix> etcd_claim_pod_cidr(const Config& config);

} // namespace podlane
