// The network-policy model: Kubernetes NetworkPolicy (networking.k8s.io/v1)
// and the L3/L4 part of CiliumNetworkPolicy (cilium.io/v2), as read from the
// config's `policies:`, etcd or the Kubernetes API (docs/policy.md). Both
// kinds come down to one shape: a subject selector, per direction whether
// the policy selects the subject (default deny) and the rules that allow.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "control/config/label_selector.h"

namespace podlane {

/// Policies select pods and namespaces with the Kubernetes label selector
/// that BGP and LB IPAM use (label_selector.h).
using SelectorRequirement = LabelRequirement;

/// A port (or range) a rule allows: protocol 0 = any (Cilium's ANY), port 0
/// = every port; a named port is resolved against the destination pod.
struct PolicyPort {
    uint8_t proto = 6;     ///< IPPROTO_TCP by default (Kubernetes' default protocol)
    uint16_t port = 0;     ///< 0: all ports
    uint16_t end_port = 0; ///< endPort; 0: just `port`
    std::string name;      ///< a named port (containerPort name), instead of `port`

    friend bool operator==(const PolicyPort&, const PolicyPort&) = default;
};

/// One peer of a rule: pods (by pod and namespace selectors), a CIDR with
/// exceptions, or a Cilium entity.
struct PolicyPeer {
    enum class Kind { Pods, Cidr, Entity };
    Kind kind = Kind::Pods;
    std::optional<LabelSelector> pods;       ///< absent: every pod of the selected namespaces
    std::optional<LabelSelector> namespaces; ///< absent: the policy's own namespace
    Ipv4Prefix cidr;
    std::vector<Ipv4Prefix> except;
    std::string entity; ///< world, cluster, host, remote-node, all

    friend bool operator==(const PolicyPeer&, const PolicyPeer&) = default;
};

/// One rule: traffic from (ingress) or to (egress) any of `peers` (all
/// peers when `all_peers`) to any of `ports` (all ports when empty).
struct PolicyRule {
    bool all_peers = false;
    std::vector<PolicyPeer> peers;
    std::vector<PolicyPort> ports;

    friend bool operator==(const PolicyRule&, const PolicyRule&) = default;
};

enum class PolicyKind { NetworkPolicy, CiliumNetworkPolicy };

/// One policy.
struct PolicyConfig {
    PolicyKind kind = PolicyKind::NetworkPolicy;
    std::string name;
    std::string ns = "default";
    LabelSelector subject;       ///< podSelector / endpointSelector (within ns)
    bool ingress = false;        ///< selects the subject for ingress (default deny there)
    bool egress = false;
    std::vector<PolicyRule> ingress_rules;
    std::vector<PolicyRule> egress_rules;

    /// "namespace/name".
    std::string key() const { return ns + "/" + name; }
    friend bool operator==(const PolicyConfig&, const PolicyConfig&) = default;
};

/// The label that carries a pod's namespace in its label set (Cilium's
/// k8s:io.kubernetes.pod.namespace): endpoints without it are in "default".
inline constexpr const char* kPodNamespaceLabel = "io.kubernetes.pod.namespace";
/// The prefix under which a pod's labels carry its namespace's labels
/// (Cilium's io.cilium.k8s.namespace.labels.<key>).
inline constexpr const char* kNamespaceLabelPrefix = "io.cilium.k8s.namespace.labels.";

} // namespace podlane
