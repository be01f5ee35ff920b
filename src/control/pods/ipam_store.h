// Pod address allocation for CNI attachments, from the node's PodCIDR, kept
// in a state directory so that it survives an agent restart:
//
//   <dir>/lock              flock()ed while a podlaned uses the directory
//   <dir>/attachments.json  every attachment with its address, rewritten
//                           atomically (temporary file, fsync, rename)
//
// An address is never handed out twice: the network and broadcast addresses
// and the gateway are never allocated, and neither is an address another
// endpoint uses (the caller says which). New addresses are taken round-robin
// after the last one handed out, as host-local IPAM does, so a released
// address is not reused at once.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"
#include "control/pods/cni_types.h"

namespace podlane {

class IpamStore {
public:
    /// The state file's name inside the directory.
    static constexpr const char* kStateFile = "attachments.json";

    /// Opens `dir` (created 0700 with its parents when missing), locks it
    /// against a second podlaned and loads its attachments. Attachments whose
    /// address lies outside `pod_cidr` (the PodCIDR changed) or is the
    /// gateway are dropped and listed in dropped().
    static Result<std::unique_ptr<IpamStore>> open(const std::string& dir, const Ipv4Prefix& pod_cidr,
                                                   Ipv4Addr gateway);
    /// True when `dir` holds a state file (there is something to restore).
    static bool has_state(const std::string& dir);

    IpamStore(const IpamStore&) = delete;
    IpamStore& operator=(const IpamStore&) = delete;
    ~IpamStore(); ///< releases the lock

    /// The attachment of `key`, or nullptr.
    const CniAttachment* find(const CniKey& key) const;
    /// Every attachment, by key.
    const std::map<CniKey, CniAttachment>& attachments() const { return attachments_; }

    /// Gives `a` an address and records it on disk: `requested` when given
    /// (it must be a free host address of the PodCIDR), else the next free
    /// one. `taken` tells which addresses other endpoints use. Fails when the
    /// key is already recorded, the pool is exhausted or the state cannot be
    /// written (then nothing is recorded). A zero MAC becomes 0a:58 + the
    /// address. Returns the attachment as recorded.
    Result<CniAttachment> allocate(CniAttachment a, std::optional<Ipv4Addr> requested,
                                   const std::function<bool(Ipv4Addr)>& taken);
    /// Forgets `key` and writes the state; false when it was not recorded.
    Result<bool> release(const CniKey& key);
    /// Forgets every attachment whose key is not in `keep` (CNI GC) and
    /// writes the state; returns the ones forgotten.
    Result<std::vector<CniAttachment>> retain(const std::set<CniKey>& keep);

    /// Host addresses that can be allocated (the PodCIDR without network,
    /// broadcast and gateway).
    size_t capacity() const;
    /// Addresses recorded now.
    size_t allocated() const { return attachments_.size(); }
    const std::string& dir() const { return dir_; }
    /// What open() dropped, with why, e.g. "c1/eth0: 10.9.0.5 is outside 10.210.1.0/24".
    const std::vector<std::string>& dropped() const { return dropped_; }

private:
    IpamStore(std::string dir, int lock_fd, Ipv4Prefix cidr, Ipv4Addr gateway)
        : dir_(std::move(dir)), lock_fd_(lock_fd), cidr_(cidr), gateway_(gateway) {}
    Result<void> load();
    Result<void> save() const;
    /// Why `ip` cannot be allocated, or nullopt.
    std::optional<std::string> unusable(Ipv4Addr ip, const std::function<bool(Ipv4Addr)>& taken) const;

    std::string dir_;
    int lock_fd_ = -1;
    Ipv4Prefix cidr_;
    Ipv4Addr gateway_;
    Ipv4Addr last_;                              ///< the address handed out last (round-robin start)
    std::map<CniKey, CniAttachment> attachments_;
    std::set<Ipv4Addr> used_;                    ///< the attachments' addresses
    std::vector<std::string> dropped_;
};

} // namespace podlane
