// Security identities, Cilium's model: a numeric identity stands for a label
// set, and policy (later) is written against identities, not addresses.
//
// Numbers 1..10 are Cilium's reserved identities (pkg/identity/numericidentity.go,
// labels "reserved:<name>"); 256..65535 is the cluster-local range that the
// identity allocator hands out for cluster ID 0, which also fits a 24-bit
// VXLAN/Geneve VNI, where the source identity travels between nodes.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace podlane {

inline constexpr uint32_t kIdentityUnknown = 0; ///< "no identity"; not in the reserved table
inline constexpr uint32_t kIdentityHost = 1;
inline constexpr uint32_t kIdentityWorld = 2;
inline constexpr uint32_t kIdentityUnmanaged = 3;
inline constexpr uint32_t kIdentityHealth = 4;
inline constexpr uint32_t kIdentityInit = 5;
inline constexpr uint32_t kIdentityRemoteNode = 6;
inline constexpr uint32_t kIdentityKubeApiServer = 7;
inline constexpr uint32_t kIdentityIngress = 8;
inline constexpr uint32_t kIdentityWorldIpv4 = 9;
inline constexpr uint32_t kIdentityWorldIpv6 = 10;

/// The range identity_for_labels() maps label sets into (Cilium's
/// MinimalAllocationIdentity..MaximumAllocationIdentity for cluster ID 0).
inline constexpr uint32_t kMinLabelIdentity = 256;
inline constexpr uint32_t kMaxLabelIdentity = 65535;

/// One reserved identity: its number and its name without the "reserved:" source.
struct ReservedIdentity {
    uint32_t id;
    std::string_view name;
};

/// Cilium's reserved identities, by number.
inline constexpr std::array<ReservedIdentity, 10> kReservedIdentities{{
    {kIdentityHost, "host"},
    {kIdentityWorld, "world"},
    {kIdentityUnmanaged, "unmanaged"},
    {kIdentityHealth, "health"},
    {kIdentityInit, "init"},
    {kIdentityRemoteNode, "remote-node"},
    {kIdentityKubeApiServer, "kube-apiserver"},
    {kIdentityIngress, "ingress"},
    {kIdentityWorldIpv4, "world-ipv4"},
    {kIdentityWorldIpv6, "world-ipv6"},
}};

/// The canonical text of a label set: "key=value" pairs in key order, joined
/// with ';' (e.g. "app=web;tier=front"; "" for no labels). This is what
/// identity_for_labels() hashes.
std::string canonical_labels(const std::map<std::string, std::string>& labels);

/// The numeric identity of a label set, in [kMinLabelIdentity, kMaxLabelIdentity]:
/// FNV-1a 32-bit over canonical_labels(labels), mapped into the range as
/// 256 + hash % 65280. Deterministic across nodes and runs; an empty label set
/// is a label set like any other and gets its own hash.
///
/// Interim scheme: identities become cluster-wide allocations (kvstore, one
/// number per distinct label set, no collisions) in a later issue. Until then
/// two distinct label sets may map to the same identity: for n distinct label
/// sets the chance of at least one collision is about 1 - exp(-n(n-1)/(2*65280)),
/// i.e. ~0.8% for 32 sets, ~7% for 100, ~50% for 300; the expected number of
/// colliding pairs is n(n-1)/130560 (~7.7 for 1000 sets).
///
/// Kubernetes label keys and values can contain neither ';' nor '=', so the
/// canonical text is unambiguous for real labels.
uint32_t identity_for_labels(const std::map<std::string, std::string>& labels);

/// The same in a mesh (Cilium's layout, pkg/identity/numericidentity.go):
/// with cluster id c > 0 a cluster owns [c << shift, (c + 1) << shift), shift
/// being 16 with max_connected_clusters 255 and 15 with 511; the label set's
/// identity is c << shift plus the FNV-1a hash modulo the range's size.
/// cluster_id 0 gives identity_for_labels(labels).
uint32_t identity_for_labels(const std::map<std::string, std::string>& labels, uint32_t cluster_id,
                             uint32_t max_connected_clusters);

/// The number of bits below the cluster id in an identity: 16 (255 clusters) or 15 (511).
inline uint32_t cluster_id_shift(uint32_t max_connected_clusters) { return max_connected_clusters == 511 ? 15 : 16; }

/// Whether a remote cluster's identity is one it may hold: a reserved one
/// (below 256, shared by every cluster) or one in its own range.
inline bool identity_in_cluster_range(uint32_t id, uint32_t cluster_id, uint32_t max_connected_clusters) {
    const uint32_t shift = cluster_id_shift(max_connected_clusters);
    return id < 256 || (id < (1u << 24) && (id >> shift) == cluster_id);
}

/// "reserved:host", "reserved:world", ... for a reserved identity; "" for any other number.
std::string identity_name(uint32_t id);

} // namespace podlane
