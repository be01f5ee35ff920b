#include "control/pods/ipam.h"

#include <algorithm>
#include <set>
#include <string_view>

namespace podlane {

namespace {

/// FNV-1a, 32 bits.
uint32_t fnv1a_32(std::string_view s) {
    uint32_t h = 2166136261u;
    for (unsigned char c : s) {
        h ^= c;
        h *= 16777619u;
    }
    return h;
}

} // namespace

// Names are taken in sorted order; each takes block FNV-1a(name) mod blocks, or the next free one (wrapping):
// the result depends only on the set of names, and a joining node whose preferred block is free moves no one.
// Per node from its config for now; a later issue makes it cluster-wide, with the allocations kept in etcd.
Result<std::map<std::string, Ipv4Prefix>> allocate_cluster_pool(const Ipv4Prefix& pool, uint8_t mask_size,
                                                                std::vector<std::string> node_names) {
    if (mask_size <= pool.len || mask_size > 32)
        return make_error("cluster pool " + pool.str() + " cannot be split into blocks of /" + std::to_string(mask_size) +
                          ": expected a block length of " + std::to_string(pool.len + 1) + "..32");
    std::sort(node_names.begin(), node_names.end());
    if (auto dup = std::adjacent_find(node_names.begin(), node_names.end()); dup != node_names.end())
        return make_error("node name \"" + *dup + "\" is listed twice");
    const uint64_t blocks = uint64_t{1} << (mask_size - pool.len); // at least 2
    if (blocks < node_names.size())
        return make_error("cluster pool " + pool.str() + " has " + std::to_string(blocks) + " blocks of /" +
                          std::to_string(mask_size) + " for " + std::to_string(node_names.size()) + " nodes");

    std::map<std::string, Ipv4Prefix> out;
    std::set<uint64_t> used; // block indexes; a set, as a /0 pool of /32 blocks has 2^32 of them
    for (const std::string& name : node_names) {
        uint64_t index = fnv1a_32(name) % blocks;
        while (used.count(index))
            index = (index + 1) % blocks;
        used.insert(index);
        const uint32_t addr = pool.addr.host() + static_cast<uint32_t>(index << (32 - mask_size));
        out.emplace(name, Ipv4Prefix{Ipv4Addr::from_host(addr), mask_size});
    }
    return out;
}

} // namespace podlane
