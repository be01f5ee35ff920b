#include "control/tables/identity.h"

namespace podlane {

std::string canonical_labels(const std::map<std::string, std::string>& labels) {
    std::string text;
    for (const auto& [key, value] : labels) { // std::map: already in key order
        if (!text.empty())
            text += ';';
        text += key;
        text += '=';
        text += value;
    }
    return text;
}

uint32_t identity_for_labels(const std::map<std::string, std::string>& labels) {
    // The health endpoint (control/health) has Cilium's reserved identity.
    if (labels.size() == 1 && labels.begin()->first == "reserved:health")
        return kIdentityHealth;
    uint32_t hash = 2166136261u; // FNV-1a 32-bit offset basis
    for (unsigned char c : canonical_labels(labels)) {
        hash ^= c;
        hash *= 16777619u; // FNV 32-bit prime
    }
    constexpr uint32_t span = kMaxLabelIdentity - kMinLabelIdentity + 1; // 65280
    return kMinLabelIdentity + hash % span;
}

std::string identity_name(uint32_t id) {
    for (const auto& r : kReservedIdentities)
        if (r.id == id)
            return "reserved:" + std::string(r.name);
    return "";
}

} // namespace podlane
