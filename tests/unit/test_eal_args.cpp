// The EAL command line podlaned builds from its config (src/control/agent/eal_args.cpp).
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "control/config/config.h"
#include "control/agent/eal_args.h"

using namespace podlane;

namespace {

bool has(const std::vector<std::string>& args, const std::string& arg) {
    return std::find(args.begin(), args.end(), arg) != args.end();
}

} // namespace

TEST_CASE("eal args: one file per memory segment list, with or without hugepages", "[config]") {
    auto c = parse_config("dataplane: {worker_lcores: [1, 2], file_prefix: t}\n"
                          "network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.1}\n",
                          "config.yaml");
    REQUIRE(c.ok());
    // memif zero-copy hands the peer podlane's memory by file descriptor, one per list.
    auto args = build_eal_args(*c, "podlaned");
    CHECK(args.front() == "podlaned");
    CHECK(has(args, "--single-file-segments"));
    CHECK(has(args, "--no-huge"));
    CHECK_FALSE(has(args, "--in-memory"));
    c->dataplane.hugepages = true;
    args = build_eal_args(*c, "podlaned");
    CHECK(has(args, "--single-file-segments"));
    CHECK(has(args, "--in-memory"));
    CHECK_FALSE(has(args, "--no-huge"));
    CHECK(std::count(args.begin(), args.end(), "--single-file-segments") == 1);
}

TEST_CASE("eal args: lcores, file prefix and the config's extra arguments last", "[config]") {
    auto c = parse_config("dataplane: {main_lcore: 0, worker_lcores: [1, 2], file_prefix: t, "
                          "eal_args: [\"--log-level=7\"]}\n"
                          "network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.1}\n",
                          "config.yaml");
    REQUIRE(c.ok());
    const auto args = build_eal_args(*c, "podlaned");
    const auto at = [&](const std::string& a) { return std::find(args.begin(), args.end(), a) - args.begin(); };
    REQUIRE(at("-l") + 1 < static_cast<long>(args.size()));
    CHECK(args[at("-l") + 1] == "0,1,2");
    CHECK(args[at("--file-prefix") + 1] == "t");
    CHECK(args.back() == "--log-level=7");
}
