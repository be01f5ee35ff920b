#include "control/agent/eal_args.h"

namespace podlane {

std::vector<std::string> build_eal_args(const Config& config, const std::string& argv0) {
    const DataplaneConfig& dp = config.dataplane;
    std::vector<std::string> args{argv0};
    if (!dp.lcore_map.empty()) {
        args.insert(args.end(), {"--lcores", dp.lcore_map});
    } else {
        std::string list = std::to_string(dp.main_lcore);
        for (uint32_t l : dp.worker_lcores)
            list += "," + std::to_string(l);
        args.insert(args.end(), {"-l", list});
    }
    args.insert(args.end(), {"--main-lcore", std::to_string(dp.main_lcore)});
    args.insert(args.end(), {"--file-prefix", dp.file_prefix, "--no-pci"});
    if (dp.hugepages)
        args.push_back("--in-memory"); // hugepages via memfd, no hugetlbfs mount, no files left
    else
        args.push_back("--no-huge");
    args.insert(args.end(), {"-m", std::to_string(dp.memory_mb)});
    // One file descriptor per memory segment list rather than per page: memif
    // zero-copy pods (memif_zero_copy) are handed podlane's memory, the
    // mbufs' included, as one region per list passed by file descriptor,
    // and net_memif refuses memory it cannot get a list's descriptor for.
    args.push_back("--single-file-segments");
    // net_tap logs at error level that it cannot create the multiq qdisc this
    // kernel lacks (it only disables rte_flow, which podlane does not use),
    // once per pod. A real attach failure still reaches the operator as the
    // attach error. dataplane.eal_args come later and can override this.
    args.push_back("--log-level=pmd.net.tap:critical");
    args.insert(args.end(), dp.eal_args.begin(), dp.eal_args.end());
    return args;
}

} // namespace podlane
