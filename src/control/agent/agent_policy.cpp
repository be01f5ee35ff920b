// The agent's network-policy side: compiling the policies for the current
// endpoints and identities into the published tables, and showing them.
#include "control/agent/agent.h"

namespace podlane {

void Agent::compile_policy_now() {
    policy_ = compile_policy(policy_inputs(config_, endpoint_specs()), ++policy_revision_);
}

Json Agent::policy_get() { return policy_json(config_, policy_); }

Json Agent::endpoint_policy_json(const std::string& id) const {
    for (const EndpointPolicyView& v : policy_.endpoints)
        if (v.id == id)
            return Json{{"ingress", v.enforce[0] ? "enabled" : "disabled"},
                        {"egress", v.enforce[1] ? "enabled" : "disabled"}};
    return Json{{"ingress", "disabled"}, {"egress", "disabled"}};
}

} // namespace podlane
