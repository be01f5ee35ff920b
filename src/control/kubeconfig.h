// How podlaned reaches the Kubernetes API: from a kubeconfig file (its
// current context) or in-cluster (KUBERNETES_SERVICE_HOST/_PORT, the
// service-account token and CA).
#pragma once

#include <string>

#include "common/result.h"
#include "control/config.h"
#include "control/http_client.h"

namespace podlane {

struct KubeAccess {
    std::string server;   ///< https://host:port
    TlsSettings tls;
    std::string token;    ///< bearer token; empty with client certificates
    std::string source;   ///< where it came from, for status: the kubeconfig path or "in-cluster"
};

/// The server, credentials and CA for `c`; errors name the file and key.
Result<KubeAccess> kube_access(const KubernetesSourceConfig& c);

} // namespace podlane
