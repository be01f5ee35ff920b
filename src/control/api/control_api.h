// The one control API that the unix-socket server, the CLI and (later) the
// CNI plugin are thin layers over. Every method runs on the control thread.
//
// Wire protocol (docs/api.md): one JSON request per line,
//   {"cmd": "<name>", "args": {...}}
// answered by one JSON line,
//   {"ok": true, "data": ...}  or  {"ok": false, "error": "<message>"}.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"
#include "control/pods/cni_types.h"
#include "control/config/config.h"

namespace podlane {

using Json = nlohmann::json;

/// Commands the agent serves. Implemented by Agent; faked in tests.
class ControlApi {
public:
    virtual ~ControlApi() = default;

    /// "status": node, pod CIDR, gateway, workers, counts, snapshot generation.
    virtual Json status() = 0;
    /// "endpoint.list": one object per endpoint.
    virtual Json endpoint_list() = 0;
    /// "endpoint.add": attaches a pod; returns the new endpoint's object.
    virtual Result<Json> endpoint_add(const EndpointConfig& ep) = 0;
    /// "endpoint.delete": detaches a pod by id.
    virtual Result<void> endpoint_delete(const std::string& id) = 0;
    /// "stats": per-worker counters with drops by reason, totals, per-port stats.
    virtual Json stats() = 0;
    /// "ipcache.list": prefix -> identity and tunnel endpoint (control/tables/ipcache.h).
    virtual Json ipcache_list() = 0;
    /// "identity.list": reserved identities and those of the local endpoints' label sets.
    virtual Json identity_list() = 0;
    /// "policy.get": the network policies in force and what each local endpoint enforces (docs/policy.md).
    virtual Json policy_get() { return Json{{"revision", 0}, {"policies", Json::array()}, {"endpoints", Json::array()}}; }
    /// "neighbor.list": the uplink neighbour (ARP) cache.
    virtual Json neighbor_list() = 0;
    /// "service.list": every frontend with its type, scopes and backends.
    virtual Json service_list() = 0;
    /// "service.maglev": the Maglev table of a service, by name, frontend
    /// ("ip:port/proto") or id.
    virtual Result<Json> service_maglev(const std::string& service) = 0;
    /// "service.update": adds or changes the services of a YAML/JSON document
    /// (`services:` in the config schema) and returns once every worker uses
    /// them: {"changed": [names], "generation"}. A source's next full sync
    /// (e.g. a file reload) replaces them again.
    virtual Result<Json> service_update(const std::string& yaml) = 0;
    /// "service.delete": removes a service by name, like service.update.
    virtual Result<Json> service_delete(const std::string& name) = 0;
    /// "ct.list": tracked flows (tuples, expiry, counters, flags, revNAT id, backend).
    virtual Json ct_list() = 0;
    /// "nat.list": source-NAT mappings (masquerade, NodePort SNAT, hairpin).
    virtual Json nat_list() = 0;
    /// "flow.list": flow events with a sequence number above `since` (at most
    /// the `last` newest): {"events": [...], "next": seq, "lost": n, "enabled"}.
    virtual Json flow_list(uint64_t since, uint32_t last) = 0;
    /// "capture.start": writes the received packets that match `filter` to
    /// the pcapng file at `path` (absolute), up to `max_packets` (0: until
    /// stopped), `snaplen` bytes each (0: whole packets).
    virtual Result<Json> capture_start(const std::string& /*filter*/, const std::string& /*path*/,
                                       uint64_t /*max_packets*/, uint32_t /*snaplen*/) {
        return make_error("this server does not capture packets");
    }
    /// "capture.status": the running or last capture.
    virtual Result<Json> capture_status() { return make_error("this server does not capture packets"); }
    /// "capture.stop": stops the running capture (if any) and closes its file.
    virtual Result<Json> capture_stop() { return make_error("this server does not capture packets"); }

    /// "bgp.peers": the BGP speaker and every configured peer with its
    /// session state, uptime, prefixes, applied timers and graceful restart.
    virtual Result<Json> bgp_peers() { return make_error(kNoBgp); }
    /// "bgp.routes": the prefixes advertised, by instance, with why.
    virtual Result<Json> bgp_routes_list() { return make_error(kNoBgp); }

    /// "lbipam.pools": every LB IPAM pool with its used, available and
    /// conflicting state, and the LoadBalancer services left pending.
    virtual Result<Json> lb_ipam_pools() { return make_error("this server does not run LB IPAM"); }
    /// "clustermesh.status": each remote cluster and this cluster's export (docs/clustermesh.md).
    virtual Result<Json> clustermesh_status() { return make_error("this server does not run Cluster Mesh"); }

    /// "health.status": node health like cilium-health status: every node's
    /// host and health endpoint, by ICMP and HTTP, with round-trip times.
    virtual Result<Json> health_status() { return make_error("this server does not probe node health"); }

    // The CNI plugin's commands (docs/api.md, "CNI"). The defaults refuse,
    // so a ControlApi that does not serve CNI need not implement them.
    /// "cni.add": allocates an address and attaches the pod; returns the attachment.
    virtual Result<Json> cni_add(const CniAddRequest&) { return make_error(kNoCni); }
    /// "cni.del": detaches the pod and releases its address; unknown keys succeed.
    virtual Result<Json> cni_del(const CniKey&) { return make_error(kNoCni); }
    /// "cni.check": whether the attachment exists and its pod looks as attached.
    virtual Result<Json> cni_check(const CniKey&) { return make_error(kNoCni); }
    /// "cni.gc": releases every attachment not in `valid`.
    virtual Result<Json> cni_gc(const std::vector<CniKey>& /*valid*/) { return make_error(kNoCni); }
    /// "cni.list": every CNI attachment with its state.
    virtual Result<Json> cni_list() { return make_error(kNoCni); }
    /// "cni.status": whether ADD can be served (the pool has free addresses).
    virtual Result<Json> cni_status() { return make_error(kNoCni); }

private:
    static constexpr const char* kNoCni = "this server does not serve CNI commands";
    static constexpr const char* kNoBgp = "this server does not run BGP";
};

} // namespace podlane
