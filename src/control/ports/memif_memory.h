// A workaround for DPDK 22.11's zero-copy memif client, which closes the
// EAL's descriptor of each memory segment list it shares once its port has
// connected (memif_connect closes every region's fd, and for zero-copy
// regions those are the EAL's own, from rte_memseg_get_fd). Left so, the
// next zero-copy port hands its peer a closed descriptor or whatever file
// took its number (a TAP's /dev/net/tun was seen: the peer's mmap fails and
// the link stays down), and the EAL itself can no longer grow its memory
// in those lists. MemifMemoryFds keeps a duplicate of every list's
// descriptor and puts the closed numbers back.
#pragma once

#include <sys/types.h>

#include <vector>

#include "common/result.h"

namespace podlane {

class MemifMemoryFds {
public:
    MemifMemoryFds() = default;
    MemifMemoryFds(const MemifMemoryFds&) = delete;
    MemifMemoryFds& operator=(const MemifMemoryFds&) = delete;
    ~MemifMemoryFds();

    /// Duplicates the descriptor of every memory segment list not kept yet
    /// (lists gain one when their first pages are allocated).
    Result<void> remember();

    /// Reopens, under its number, every kept descriptor that was closed.
    /// Fails when a number now belongs to another file: that memory can no
    /// longer be shared.
    Result<void> restore();

private:
    struct Kept {
        int number;   ///< the EAL's descriptor
        int copy;     ///< our duplicate of it
        dev_t dev;
        ino_t ino;
    };
    std::vector<Kept> kept_;
};

} // namespace podlane
