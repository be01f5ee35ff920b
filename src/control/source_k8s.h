// The Kubernetes API as the cluster-state source (source.kind: kubernetes):
// list + watch of Nodes, Services and EndpointSlices, one thread per
// resource. A watch resumes from its last resourceVersion (bookmarks advance
// it); 410 Gone relists that resource. The first delta (the whole state)
// goes out once all three are listed; while the API server is away the last
// good state stays in the agent.
#pragma once

#include <memory>

#include "control/cluster_source.h"

namespace podlane {

class KubernetesSource : public ClusterSource {
public:
    explicit KubernetesSource(Config node_config);
    ~KubernetesSource() override;
    Result<void> start(boost::asio::io_context& io, Sink sink) override;
    void stop() override;
    SourceStatus status() const override;

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

} // namespace podlane
