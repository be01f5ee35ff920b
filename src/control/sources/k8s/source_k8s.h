// The Kubernetes API as the cluster-state source: lists and watches Nodes,
// Services and EndpointSlices, and Cilium's BGP and LB IPAM objects
// (cilium.io/v2, when their CRDs exist) (client-go's list+watch, one watch per
// resource), converts them (k8s_convert) and hands the agent deltas on the
// control thread's io_context. While the API server is unreachable the
// agent keeps its last good state; a dropped watch resumes from its last
// resourceVersion, an expired one (410 Gone) is relisted.
#pragma once

#include <memory>

#include "control/sources/cluster_source.h"
#include "control/sources/k8s/kubeconfig.h"

namespace podlane {

class KubernetesSource : public ClusterSource {
public:
    /// `config` is the node's config (its name, addresses and load-balancer
    /// settings decide the conversion); `access` where the API server is.
    KubernetesSource(const Config& config, KubeAccess access);
    ~KubernetesSource() override;

    /// Sets up TLS (errors name the bad certificate or key) and starts the
    /// list+watch loops. The first delta (replace) follows once all three
    /// resources are listed.
    Result<void> start(boost::asio::io_context& io, Sink sink) override;
    void stop() override;
    SourceStatus status() const override;
    /// PATCHes the Service's status.loadBalancer.ingress with the addresses
    /// (optimistic concurrency on its resourceVersion: the first node wins).
    void record_lb_ips(const std::string& service, const std::vector<Ipv4Addr>& ips,
                       const std::vector<Ipv4Addr>& recorded) override;

    /// Seconds a watch lasts before the server ends it and it is resumed
    /// (the watch's timeoutSeconds).
    static constexpr unsigned kWatchTimeoutS = 300;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_; ///< shared with the running loops, which may outlive stop() by a few handlers
};

} // namespace podlane
