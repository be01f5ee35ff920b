// LB IPAM: which address each LoadBalancer service without load_balancer_ips
// gets from the pools (Cilium's LB IPAM, docs/lb-ipam.md). A pure function of
// the pools and the services, so every node computes the same assignment.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "control/config/config.h"

namespace podlane {

/// A pool as LB IPAM sees it after an assignment (`podlane lb-ipam pools`).
struct LbIpamPoolStatus {
    std::string name{};
    bool disabled = false;
    bool conflicting = false;
    std::string conflict{};  ///< why it is conflicting: "block 10.0.0.0/24 overlaps pool blue's 10.0.0.128/25"
    uint64_t total = 0;      ///< addresses it can give (first/last of CIDRs excluded unless allowed)
    uint64_t used = 0;       ///< of those, held by a service (assigned, or in a service's load_balancer_ips)
    uint64_t available() const { return total - used; }
};

/// One service's outcome, by service name.
struct LbIpamAssignment {
    std::string service;
    LbIpamStatus status;
};

/// The whole assignment.
struct LbIpamResult {
    std::vector<LbIpamPoolStatus> pools;         ///< in config order
    std::vector<LbIpamAssignment> assignments;   ///< every managed service, sorted by name
};

/// Assigns addresses to the LoadBalancer services without load_balancer_ips.
///
/// The rule, which makes the result depend only on its inputs (never on the
/// order services arrived in):
///  1. Of two pools with overlapping blocks the later (in config order) is
///     conflicting; conflicting and disabled pools give no address.
///  2. Addresses in services' load_balancer_ips (and external_ips) are held.
///  3. Services with lbipam_ips, by name: each requested address must lie in
///     a usable pool that selects the service, and be free or shared (below).
///  4. Services with a recorded assignment (lbipam_recorded: the cluster's
///     record of an earlier run), by name: they keep it while each address
///     lies in a usable pool that selects the service and is free or shared;
///     else they are assigned as in 5.
///  5. The other services, by name: an address of a service with the same
///     sharing key whose ports do not clash, else the first free address of
///     the first usable pool (config order) that selects the service.
/// Sharing: services with the same non-empty lbipam_sharing_key may hold one
/// address when no (protocol, port) of theirs is the same.
/// A service that cannot be served is pending with the reason.
/// Without records (the file source), a new service whose name sorts before
/// others' takes the first free address and moves theirs; with records
/// (etcd, Kubernetes) assignments stay (docs/lb-ipam.md).
LbIpamResult assign_lb_ips(const LbIpamConfig& config, std::span<const ServiceConfig> services);

/// Writes `result` into the services' lb_ipam status (services sorted by
/// name) and returns the names whose status changed.
std::vector<std::string> apply_lb_ipam(const LbIpamResult& result, std::vector<ServiceConfig>& services);

/// Whether the pool's selector selects the service (by name, namespace and labels).
bool lb_ipam_selects(const LbIpamSelector& sel, const ServiceConfig& s);

/// The number of addresses a block gives.
uint64_t lb_ipam_block_size(const LbIpamBlock& b, bool allow_first_last);

} // namespace podlane
