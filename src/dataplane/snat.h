// Source-port allocation for SNAT (masquerade, NodePort SNAT, hairpin).
//
// A port is usable for a flow when the reply tuple it would create is not
// tracked yet, so two flows never share a reply key. The range is split
// between workers (worker w owns the ports p with (p - min) % workers == w),
// so two workers never race for the same port, and no lock is needed.
#pragma once

#include <cstdint>

#include <rte_byteorder.h>

#include "dataplane/conntrack.h"

namespace podlane {

/// At most this many candidate ports are probed per new flow.
inline constexpr uint32_t kSnatProbes = 128;

/// A port range and the slice of it one worker owns.
struct SnatSlice {
    uint16_t min = 32768; ///< host order
    uint16_t max = 65535;
    uint32_t worker = 0;
    uint32_t workers = 1;

    /// How many ports this worker owns.
    constexpr uint32_t size() const noexcept {
        const uint32_t span = uint32_t{max} - min + 1;
        return worker >= span ? 0 : (span - worker + workers - 1) / workers;
    }
    /// The i-th port (host order) this worker owns, i < size().
    constexpr uint16_t port(uint32_t i) const noexcept { return static_cast<uint16_t>(min + worker + i * workers); }
};

/// A free source port (network order) for translating flow `orig`'s source
/// to `to`, starting the probe at `start`; 0 if none was found (exhausted).
inline rte_be16_t snat_pick_port(const Conntrack& ct, const CtTuple& orig, rte_be32_t to, const SnatSlice& slice,
                                 uint32_t start) noexcept {
    const uint32_t n = slice.size();
    if (n == 0)
        return 0;
    const uint32_t probes = n < kSnatProbes ? n : kSnatProbes;
    for (uint32_t i = 0; i < probes; ++i) {
        const rte_be16_t port = rte_cpu_to_be_16(slice.port((start + i) % n));
        // The reply would come from orig's destination to (to, port).
        const CtTuple reply = orig.proto == IPPROTO_ICMP
                                  ? make_ct_tuple(orig.dst, to, 0, port, orig.proto)
                                  : make_ct_tuple(orig.dst, to, orig.dport, port, orig.proto);
        if (!ct.in_use(reply))
            return port;
    }
    return 0;
}

} // namespace podlane
