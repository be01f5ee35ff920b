#include "fuzz_eal.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

namespace podlane::fuzz {

namespace {

void remove_runtime_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(rte_eal_get_runtime_dir(), ignored); // EAL leaves it behind
}

} // namespace

void ensure_eal() {
    static const bool ready = [] {
        const std::string prefix = "podlane-fuzz-" + std::to_string(getpid());
        const char* argv[] = {"fuzz", "--no-huge", "--no-pci", "--no-shconf", "-m", "256", "--no-telemetry",
                              "-l", "0", "--log-level", "*:error", "--file-prefix", prefix.c_str()};
        if (rte_eal_init(static_cast<int>(sizeof argv / sizeof argv[0]), const_cast<char**>(argv)) < 0) {
            std::fprintf(stderr, "fuzz: cannot initialise DPDK's EAL\n");
            std::abort();
        }
        std::atexit(remove_runtime_dir);
        return true;
    }();
    (void)ready;
}

rte_mempool* packet_pool(const char* name, unsigned n) {
    ensure_eal();
    rte_mempool* pool = rte_mempool_lookup(name);
    if (pool == nullptr)
        pool = rte_pktmbuf_pool_create(name, n, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (pool == nullptr) {
        std::fprintf(stderr, "fuzz: cannot create the packet pool %s\n", name);
        std::abort();
    }
    return pool;
}

} // namespace podlane::fuzz
