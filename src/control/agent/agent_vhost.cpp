// vhost-user pods: instead of a TAP, podlaned serves the pod a net_vhost
// port in server mode on a unix socket, and a DPDK application in the pod
// attaches to it as a virtio device (net_virtio_user0,path=<socket>). Nothing
// is configured in the pod's network namespace: the application owns its
// MAC and address (podlane delivers to the endpoint's MAC and IP).
#include "control/agent/agent.h"
#include "control/ports/unix_socket.h"

namespace podlane {

Result<void> Agent::attach_vhost(EndpointRecord& rec) {
    const std::string& path = rec.spec.vhost_socket;
    if (auto r = prepare_server_socket(path, "vhost-user"); !r)
        return r;
    // One queue pair per worker: each worker transmits on its own tx queue.
    // The application in the pod must enable as many (virtio_user queues=N).
    const std::string devargs = "net_vhost_pl" + std::to_string(tap_seq_++) + ",iface=" + path +
                                ",queues=" + std::to_string(config_.dataplane.worker_lcores.size());
    auto port = ports_->attach(devargs);
    if (!port)
        return make_error("endpoint \"" + rec.spec.id + "\": vhost-user port on " + path + ": " +
                          port.error().message);
    rec.port = *port;
    return {};
}

} // namespace podlane
