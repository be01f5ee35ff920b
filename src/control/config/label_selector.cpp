#include "control/config/label_selector.h"

#include <algorithm>

namespace podlane {

const char* label_op_name(LabelRequirement::Op op) {
    switch (op) {
    case LabelRequirement::Op::In: return "In";
    case LabelRequirement::Op::NotIn: return "NotIn";
    case LabelRequirement::Op::Exists: return "Exists";
    case LabelRequirement::Op::DoesNotExist: return "DoesNotExist";
    }
    return "?";
}

bool LabelSelector::matches(const LabelMap& labels) const {
    for (const auto& [k, v] : match_labels) {
        auto it = labels.find(k);
        if (it == labels.end() || it->second != v)
            return false;
    }
    for (const LabelRequirement& r : match_expressions) {
        auto it = labels.find(r.key);
        const bool has = it != labels.end();
        const bool listed = has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
        bool ok = false;
        switch (r.op) {
        case LabelRequirement::Op::In: ok = listed; break;
        case LabelRequirement::Op::NotIn: ok = !listed; break; // an absent key is not in the set
        case LabelRequirement::Op::Exists: ok = has; break;
        case LabelRequirement::Op::DoesNotExist: ok = !has; break;
        }
        if (!ok)
            return false;
    }
    return true;
}

LabelMap service_selector_labels(const std::string& service_name, const LabelMap& labels) {
    LabelMap out = labels;
    const size_t slash = service_name.find('/');
    if (slash != std::string::npos) {
        out["io.kubernetes.service.namespace"] = service_name.substr(0, slash);
        out["io.kubernetes.service.name"] = service_name.substr(slash + 1);
    }
    return out;
}

} // namespace podlane
