// The published network-policy tables: per local endpoint and direction,
// whether policy is enforced and what it allows, keyed by the peer's
// security identity and the destination protocol/port (Cilium's policy map:
// identity x proto/port -> allow), plus CIDR rules matched on the peer's
// address (ipBlock, fromCIDR/toCIDRSet). Built by control/policy and read
// by the policy stage (policy.h) on new flows only. Also the identities of
// addresses that are not local endpoints (the ipcache's /32 entries).
#pragma once

#include <cstdint>
#include <vector>

#include "common/net_types.h"
#include "dataplane/exact_map.h"

namespace podlane {

/// Any identity (a rule without a peer restriction), in a PolicyKey.
inline constexpr uint32_t kPolicyAnyIdentity = UINT32_MAX;

enum class PolicyDirection : uint8_t { Ingress = 0, Egress = 1 };

/// The 64-bit key of an allow entry: peer identity, protocol (0: any) and
/// destination port (0: any port of the protocol). Never zero.
constexpr uint64_t policy_key(uint32_t identity, uint8_t proto, uint16_t port) noexcept {
    return uint64_t{identity} << 32 | uint64_t{proto} << 16 | port;
}

/// Which key shapes a direction holds (bit per shape), so that a lookup
/// probes only those: exact, any port of the protocol, any protocol; each
/// for the peer's identity and for any identity.
enum PolicyShape : uint8_t {
    kShapeIdPort = 1 << 0,
    kShapeIdProto = 1 << 1,
    kShapeId = 1 << 2,
    kShapeAnyPort = 1 << 3,
    kShapeAnyProto = 1 << 4,
    kShapeAny = 1 << 5,
};

/// A port range (endPort) for one identity (or any).
struct PolicyRange {
    uint32_t identity = kPolicyAnyIdentity;
    uint8_t proto = 0; ///< 0: any
    uint16_t lo = 0, hi = 0;
};

/// A CIDR rule: peers whose address is in net/mask and in none of the
/// except prefixes [except_begin, except_end), to ports lo..hi of proto
/// (proto 0: any; lo 0: any port).
struct PolicyCidrRule {
    uint32_t net = 0, mask = 0; ///< host order
    uint32_t except_begin = 0, except_end = 0;
    uint8_t proto = 0;
    uint16_t lo = 0, hi = 0;
};

/// A prefix in host order (an except entry).
struct PolicyPrefixHost {
    uint32_t net = 0, mask = 0;
};

/// One direction of one endpoint.
struct PolicyDirTable {
    bool enforce = false; ///< a policy selects the endpoint in this direction: default deny
    uint8_t shapes = 0;   ///< PolicyShape bits present in `keys`
    KeyMap64 keys;        ///< policy_key() -> anything (presence is the allow)
    std::vector<PolicyRange> ranges;
    std::vector<PolicyCidrRule> cidrs;
    std::vector<PolicyPrefixHost> excepts;
};

/// Both directions of one endpoint.
struct EndpointPolicy {
    PolicyDirTable dir[2]; ///< by PolicyDirection
};

/// What the workers enforce.
struct PolicyTables {
    uint64_t revision = 0;             ///< bumped by every compile that changed something
    bool any_enforced = false;         ///< false: the stage costs one test
    Ipv4Map endpoint_index;            ///< local endpoint IP -> index into endpoints
    std::vector<EndpointPolicy> endpoints;
    Ipv4Map peer_index;                ///< other known addresses (remote pods, nodes, host) -> index into peer_identity
    std::vector<uint32_t> peer_identity;
};

inline bool policy_port_in(uint8_t rule_proto, uint16_t lo, uint16_t hi, uint8_t proto, uint16_t port) noexcept {
    if (rule_proto != 0 && rule_proto != proto)
        return false;
    return lo == 0 || (port >= lo && port <= hi);
}

/// Whether direction table `t` allows a new flow with the peer `identity`
/// at address `peer` (host order), protocol `proto` and destination port
/// `port` (host order; 0 for protocols without ports). Not enforced: yes.
inline bool policy_allows(const PolicyDirTable& t, uint32_t identity, uint32_t peer, uint8_t proto,
                          uint16_t port) noexcept {
    if (!t.enforce)
        return true;
    const uint8_t s = t.shapes;
    if ((s & kShapeIdPort) && t.keys.lookup(policy_key(identity, proto, port)) != kNotFound)
        return true;
    if ((s & kShapeIdProto) && t.keys.lookup(policy_key(identity, proto, 0)) != kNotFound)
        return true;
    if ((s & kShapeId) && t.keys.lookup(policy_key(identity, 0, 0)) != kNotFound)
        return true;
    if ((s & kShapeAnyPort) && t.keys.lookup(policy_key(kPolicyAnyIdentity, proto, port)) != kNotFound)
        return true;
    if ((s & kShapeAnyProto) && t.keys.lookup(policy_key(kPolicyAnyIdentity, proto, 0)) != kNotFound)
        return true;
    if ((s & kShapeAny) && t.keys.lookup(policy_key(kPolicyAnyIdentity, 0, 0)) != kNotFound)
        return true;
    for (const PolicyRange& r : t.ranges)
        if ((r.identity == identity || r.identity == kPolicyAnyIdentity) && policy_port_in(r.proto, r.lo, r.hi, proto, port))
            return true;
    for (const PolicyCidrRule& c : t.cidrs) {
        if ((peer & c.mask) != c.net || !policy_port_in(c.proto, c.lo, c.hi, proto, port))
            continue;
        bool excepted = false;
        for (uint32_t i = c.except_begin; i < c.except_end; ++i)
            excepted |= (peer & t.excepts[i].mask) == t.excepts[i].net;
        if (!excepted)
            return true;
    }
    return false;
}

} // namespace podlane
