// memif pods: instead of a TAP, podlaned attaches the pod over DPDK's
// net_memif (shared-memory packet interface) on a unix socket. As server
// (the default) podlaned listens and the pod's application connects as a
// memif client; as client the pod's application serves the socket and
// podlaned connects. Nothing is configured in the pod's network namespace:
// the application owns its MAC and address (podlane delivers to the
// endpoint's MAC and IP). One queue pair per worker, as for vhost-user: the
// pod's application must open as many.
#include <sys/socket.h>

#include <cstring>

#include "control/agent/agent.h"
#include "control/ports/memif.h"
#include "control/ports/unix_socket.h"

namespace podlane {

std::string memif_devargs(uint32_t seq, const EndpointConfig& ep, uint16_t ring_size) {
    // socket-abstract=no: DPDK 22.11 defaults to abstract sockets, which
    // live in one network namespace and would not be found from a pod's.
    std::string devargs = "net_memif_pl" + std::to_string(seq) + ",role=" + memif_role_name(ep.memif_role) +
                          ",socket=" + ep.memif_socket + ",id=0,socket-abstract=no";
    // The client allocates the rings (in zero-copy mode each rx descriptor
    // holds one of podlane's mbufs): as many descriptors as an rx ring of
    // dataplane.rx_ring_size, which is what PortManager::attach reserves.
    uint32_t log2 = 0;
    while ((1u << log2) < ring_size)
        ++log2;
    devargs += ",rsize=" + std::to_string(log2);
    if (ep.memif_zero_copy)
        devargs += ",zero-copy=yes";
    return devargs;
}

Result<void> Agent::attach_memif(EndpointRecord& rec) {
    const EndpointConfig& ep = rec.spec;
    const std::string& path = ep.memif_socket;
    const std::string who = "endpoint \"" + ep.id + "\": ";
    const bool server = ep.memif_role == MemifRole::Server;
    if (auto r = server ? prepare_server_socket(path, "memif") : check_socket_path(path, "memif"); !r)
        return make_error(who + r.error().message);
    auto port = ports_->attach(memif_devargs(tap_seq_++, ep, config_.dataplane.rx_ring_size));
    if (!port) {
        // A client that finds nobody on the socket fails its start with a
        // bare "Operation not permitted": say why. (Probed only now, not
        // before every attach: a probe is one more connection to the pod.)
        if (!server)
            if (int e = probe_unix_socket(path, SOCK_SEQPACKET, 1000); e != 0)
                return make_error(who + "memif socket " + path + " is not served (" + std::strerror(e) +
                                  "): with memif_role client, the pod's application must listen on it first");
        return make_error(who + "memif " + memif_role_name(ep.memif_role) + " port on " + path + ": " +
                          port.error().message);
    }
    // A client connects once, when it starts (net_memif does not retry): a
    // server that refused it (memif id 0 not started yet, too few queues)
    // would leave the pod silently unreachable. A server waits for its peer.
    if (!server) {
        if (!PortManager::wait_for_link(port->port_id, std::chrono::seconds(2))) {
            ports_->detach(port->port_id);
            return make_error(who + "memif client on " + path + ": the pod's application accepted the connection "
                              "but the link did not come up within 2 s (is its memif interface id 0 started, with " +
                              std::to_string(config_.dataplane.worker_lcores.size()) +
                              " queue pairs, one per podlane worker? see its log)");
        }
    }
    rec.port = *port;
    return {};
}

} // namespace podlane
