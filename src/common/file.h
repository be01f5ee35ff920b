// Reading a whole file: the one reader the config loader, the kubeconfig and
// TLS file loaders, the IPAM store and the CLI share.
#pragma once

#include <string>

#include "common/result.h"

namespace podlane {

/// The whole content of the file at `path` (bytes as they are; "" for an
/// empty file). Errors name the path and the reason:
/// "cannot open PATH: No such file or directory", "cannot read PATH: Is a directory".
Result<std::string> read_file(const std::string& path);

} // namespace podlane
