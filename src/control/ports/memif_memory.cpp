#include "control/ports/memif_memory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <rte_memory.h>

namespace podlane {

namespace {

int collect_fd(const rte_memseg_list*, const rte_memseg* ms, void* arg) {
    // Called with the memory lock held: the _thread_unsafe variant.
    const int fd = rte_memseg_get_fd_thread_unsafe(ms);
    auto& fds = *static_cast<std::vector<int>*>(arg);
    if (fd >= 0 && (fds.empty() || fds.back() != fd))
        fds.push_back(fd);
    return 0;
}

bool same_file(int fd, dev_t dev, ino_t ino) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

} // namespace

MemifMemoryFds::~MemifMemoryFds() {
    for (const Kept& k : kept_)
        ::close(k.copy);
}

Result<void> MemifMemoryFds::remember() {
    std::vector<int> fds;
    rte_memseg_walk(collect_fd, &fds);
    for (int fd : fds) {
        bool known = false;
        for (const Kept& k : kept_)
            known = known || k.number == fd;
        if (known)
            continue;
        struct stat st {};
        if (::fstat(fd, &st) != 0)
            return make_error("DPDK memory descriptor " + std::to_string(fd) + ": " + std::strerror(errno));
        const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (copy < 0)
            return make_error("cannot duplicate DPDK memory descriptor " + std::to_string(fd) + ": " +
                              std::strerror(errno));
        kept_.push_back({fd, copy, st.st_dev, st.st_ino});
    }
    return {};
}

Result<void> MemifMemoryFds::restore() {
    for (const Kept& k : kept_) {
        if (::fcntl(k.number, F_GETFD) >= 0) {
            if (same_file(k.number, k.dev, k.ino))
                continue;
            return make_error("descriptor " + std::to_string(k.number) +
                              " of DPDK's memory was closed by net_memif and now belongs to another file");
        }
        if (errno != EBADF || ::dup2(k.copy, k.number) < 0)
            return make_error("cannot reopen DPDK memory descriptor " + std::to_string(k.number) + ": " +
                              std::strerror(errno));
    }
    return {};
}

} // namespace podlane
