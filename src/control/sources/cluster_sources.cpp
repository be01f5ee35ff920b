#include "control/sources/cluster_sources.h"

#include "control/sources/k8s/kubeconfig.h"
#include "control/sources/etcd/source_etcd.h"
#include "control/sources/source_file.h"
#include "control/sources/k8s/source_k8s.h"

namespace podlane {

Result<std::unique_ptr<ClusterSource>> make_cluster_source(const Config& config, const std::string& config_path) {
    switch (config.source.kind) {
    case SourceKind::File:
        if (!config.source.file_watch || config_path.empty())
            return std::unique_ptr<ClusterSource>();
        return std::unique_ptr<ClusterSource>(
            std::make_unique<FileSource>(config, config_path, config.source.file_poll_ms));
    case SourceKind::Etcd:
        return std::unique_ptr<ClusterSource>(std::make_unique<EtcdSource>(config));
    case SourceKind::Kubernetes:
    {
        auto access = resolve_kube_access(config.source.kubernetes);
        if (!access)
            return access.error();
        return std::unique_ptr<ClusterSource>(std::make_unique<KubernetesSource>(config, std::move(*access)));
    }
    }
    return make_error("source.kind: unknown");
}

} // namespace podlane
