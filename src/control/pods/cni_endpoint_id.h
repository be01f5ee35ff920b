// The endpoint id of a pod attached through CNI. Kubernetes runtimes send
// K8S_POD_NAMESPACE and K8S_POD_NAME; podman sends only K8S_POD_NAME (the
// container's name); a bare runtime sends neither. docs/cni.md, "Endpoint ids".
#pragma once

#include <functional>
#include <string>

#include "control/pods/cni_types.h"

namespace podlane {

/// "namespace/name" when both are given (unique in Kubernetes: a clash is
/// the caller's error to report); the name alone when only it is given,
/// or "name-<container id (12)>" when another endpoint already has that id;
/// else the container id. `taken` tells which ids exist.
std::string cni_endpoint_id(const CniAddRequest& req, const std::function<bool(const std::string&)>& taken);

} // namespace podlane
