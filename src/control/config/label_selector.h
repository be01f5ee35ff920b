// A Kubernetes label selector (metav1.LabelSelector): matchLabels and
// matchExpressions, all of which must hold. Cilium selects nodes (BGP),
// services (BGP advertisements, LB IPAM pools) and advertisements with it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace podlane {

using LabelMap = std::map<std::string, std::string>;

/// One requirement of matchExpressions.
struct LabelRequirement {
    enum class Op : uint8_t { In, NotIn, Exists, DoesNotExist };
    std::string key{};
    Op op = Op::In;
    std::vector<std::string> values{}; ///< In/NotIn: at least one; Exists/DoesNotExist: none

    friend bool operator==(const LabelRequirement&, const LabelRequirement&) = default;
};

struct LabelSelector {
    LabelMap match_labels{};
    std::vector<LabelRequirement> match_expressions{};

    /// An empty selector ({}) matches everything, as in Kubernetes.
    bool empty() const { return match_labels.empty() && match_expressions.empty(); }
    bool matches(const LabelMap& labels) const;

    friend bool operator==(const LabelSelector&, const LabelSelector&) = default;
};

/// "In", "NotIn", "Exists", "DoesNotExist".
const char* label_op_name(LabelRequirement::Op op);

/// The labels a service is selected by: its own, plus Cilium's
/// io.kubernetes.service.namespace and io.kubernetes.service.name (so that a
/// selector can name a namespace or a service, as Cilium's can).
LabelMap service_selector_labels(const std::string& service_name, const LabelMap& labels);

} // namespace podlane
