// Catch2 main for podlane's unit tests: initialises DPDK's EAL once (it can
// only be initialised once per process) with no hugepages and no PCI, then
// runs the session. Packet tests use its mempools and software ports.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

#include <rte_eal.h>

int main(int argc, char** argv) {
    std::string prefix = "podlane-unit-" + std::to_string(getpid());
    const char* eal_argv[] = {"unit_tests", "--no-huge", "--no-pci", "-m", "256", "--no-telemetry",
                              "-l", "0", "--log-level", "*:warning", "--file-prefix", prefix.c_str()};
    int eal_argc = static_cast<int>(sizeof eal_argv / sizeof eal_argv[0]);
    if (rte_eal_init(eal_argc, const_cast<char**>(eal_argv)) < 0) {
        std::fprintf(stderr, "unit_tests: cannot initialise DPDK EAL\n");
        return 1;
    }
    int result = Catch::Session().run(argc, argv);
    const std::string runtime_dir = rte_eal_get_runtime_dir();
    rte_eal_cleanup();
    std::error_code ignored;
    std::filesystem::remove_all(runtime_dir, ignored); // EAL leaves it behind
    return result;
}
