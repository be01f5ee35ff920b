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

namespace {

uint32_t fnv1a(const std::string& text) {
    uint32_t hash = 2166136261u; // FNV-1a 32-bit offset basis
    for (unsigned char c : text) {
        hash ^= c;
        hash *= 16777619u; // FNV 32-bit prime
    }
    return hash;
}

// The health endpoint (control/health) has Cilium's reserved identity.
bool is_health_endpoint(const std::map<std::string, std::string>& labels) {
    return labels.size() == 1 && labels.begin()->first == "reserved:health";
}

} // namespace

uint32_t identity_for_labels(const std::map<std::string, std::string>& labels) {
    if (is_health_endpoint(labels))
        return kIdentityHealth;
    constexpr uint32_t span = kMaxLabelIdentity - kMinLabelIdentity + 1; // 65280
    return kMinLabelIdentity + fnv1a(canonical_labels(labels)) % span;
}

uint32_t identity_for_labels(const std::map<std::string, std::string>& labels, uint32_t cluster_id,
                             uint32_t max_connected_clusters) {
    if (cluster_id == 0 || is_health_endpoint(labels))
        return identity_for_labels(labels);
    const uint32_t shift = cluster_id_shift(max_connected_clusters);
    return (cluster_id << shift) + fnv1a(canonical_labels(labels)) % (1u << shift);
}

std::string identity_name(uint32_t id) {
    for (const auto& r : kReservedIdentities)
        if (r.id == id)
            return "reserved:" + std::string(r.name);
    return "";
}

} // namespace podlane
