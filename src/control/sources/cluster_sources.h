// Picks and builds the cluster-state source the config names (source.kind).
#pragma once

#include <memory>
#include <string>

#include "control/sources/cluster_source.h"

namespace podlane {

/// The source for `config.source.kind`; `config_path` is the file podlaned
/// was started with ("" for the embedded default). nullptr (no error) when
/// there is nothing to watch: the file source with watch off or no file.
Result<std::unique_ptr<ClusterSource>> make_cluster_source(const Config& config, const std::string& config_path);

} // namespace podlane
