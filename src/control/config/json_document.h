// JSON text loaded as a yaml-cpp document without yaml-cpp's scanner.
//
// The config reader (Field, Mapping) reads YAML::Node trees. Cluster objects
// arrive as JSON (etcd values, docs/config.md "Sources"), and yaml-cpp
// spends about 150 us scanning each ~600-byte service character by
// character; nlohmann's SAX parser reads the same text in a few, and builds
// the same tree here. Scalars keep their text (80 stays "80", true "true"),
// so the reader sees what YAML::Load would have given it; nodes carry no
// line marks, and a repeated key stays repeated (the reader refuses it).
#pragma once

#include <optional>
#include <string_view>

#include <yaml-cpp/yaml.h>

namespace podlane {

/// The document `text` holds, or nullopt when it is not JSON.
std::optional<YAML::Node> load_json_document(std::string_view text);

} // namespace podlane
