// Turning the config into DPDK EAL arguments.
#pragma once

#include <string>
#include <vector>

#include "control/config/config.h"

namespace podlane {

/// EAL argv for `config` (argv[0] first). No hugepages unless configured;
/// never PCI (podlane drives virtual devices and named devargs only).
std::vector<std::string> build_eal_args(const Config& config, const std::string& argv0);

} // namespace podlane
