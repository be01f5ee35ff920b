#include "control/pods/cni_endpoint_id.h"

namespace podlane {

std::string cni_endpoint_id(const CniAddRequest& req, const std::function<bool(const std::string&)>& taken) {
    if (req.pod_name.empty())
        return req.key.container_id;
    if (!req.pod_namespace.empty())
        return req.pod_namespace + "/" + req.pod_name;
    if (!taken(req.pod_name))
        return req.pod_name;
    return req.pod_name + "-" + req.key.container_id.substr(0, 12);
}

} // namespace podlane
