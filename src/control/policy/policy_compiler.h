// Compiling network policies into the per-endpoint tables the workers
// enforce (dataplane/policy_table.h), as Cilium's policy repository and
// selector cache do: each selector becomes the set of identities whose
// labels it selects, each rule the allow entries identity x proto/port of
// the endpoints the policy selects; CIDR peers stay address rules.
//
// Semantics (Kubernetes NetworkPolicy, Cilium's policy language): an
// endpoint no policy selects in a direction allows everything that way;
// once one does, only what some selecting policy allows passes (policies
// add up, there is no deny). Peers by pod selector match identities (label
// sets) in the policy's namespace, or in the namespaces a namespace
// selector selects; a namespace's labels are its
// kubernetes.io/metadata.name plus any io.cilium.k8s.namespace.labels.* the
// pod carries. Named ports are resolved against the destination endpoint
// (ingress: the selected endpoint itself).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "control/api/control_api.h"
#include "common/net_types.h"
#include "control/config/config.h"
#include "dataplane/policy_table.h"

namespace podlane {

/// A label set the cluster knows, with its identity (local or remote pods).
struct KnownIdentity {
    uint32_t id = 0;
    std::map<std::string, std::string> labels;
};

/// An address that is not a local endpoint, with its identity (the ipcache's /32s).
struct PeerAddress {
    Ipv4Addr ip;
    uint32_t identity = 0;
};

/// A local endpoint to compile for.
struct PolicyEndpoint {
    std::string id;
    Ipv4Addr ip;
    uint32_t identity = 0;
    std::map<std::string, std::string> labels;
    std::map<std::string, std::pair<uint8_t, uint16_t>> named_ports; ///< name -> (proto, port)
};

struct PolicyInputs {
    std::vector<PolicyConfig> policies;
    std::vector<PolicyEndpoint> endpoints;
    std::vector<KnownIdentity> identities; ///< every label set known (local and remote)
    std::vector<PeerAddress> peers;
};

/// What one endpoint enforces, for the CLI.
struct EndpointPolicyView {
    std::string id;
    Ipv4Addr ip;
    uint32_t identity = 0;
    bool enforce[2] = {false, false};           ///< by PolicyDirection
    std::vector<std::string> selected_by[2];    ///< "kind namespace/name" of the policies selecting it
    uint32_t allow_entries[2] = {0, 0};         ///< identity x port entries, ranges and CIDR rules
};

struct CompiledPolicy {
    std::shared_ptr<const PolicyTables> tables;
    std::vector<EndpointPolicyView> endpoints;
};

/// The namespace of a pod's label set (its io.kubernetes.pod.namespace; "default" without).
std::string policy_namespace_of(const std::map<std::string, std::string>& labels);

/// Whether `peer` of a policy in namespace `policy_ns` selects a pod with `labels`.
bool policy_peer_selects(const std::string& policy_ns, const PolicyPeer& peer,
                         const std::map<std::string, std::string>& labels);

/// Compiles the tables; `revision` is stored in them.
CompiledPolicy compile_policy(const PolicyInputs& in, uint64_t revision);

/// The inputs from the config (policies, remote endpoints, peer nodes, this
/// node's addresses) and the local endpoints.
PolicyInputs policy_inputs(const Config& config, const std::vector<EndpointConfig>& local_endpoints);

/// "policy.get" data: {"revision", "policies": [...], "endpoints": [...]}.
Json policy_json(const Config& config, const CompiledPolicy& compiled);

/// "kind namespace/name" of a policy.
std::string policy_display_name(const PolicyConfig& p);

} // namespace podlane
