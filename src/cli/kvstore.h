// `podlane kvstore ...`: cluster state in etcd (source.kind: etcd), written
// and read directly, without podlaned.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace podlane {

struct KvstoreOptions {
    std::vector<std::string> endpoints{"http://127.0.0.1:2379"};
    std::string prefix = "/podlane/";
    bool prune = false; ///< apply: delete node and service keys the file does not name
    std::string ca_file, cert_file, key_file; ///< https endpoints: as etcdctl's --cacert, --cert, --key
};

/// Validates the nodes and services of a YAML document (config schema) and
/// writes each under its key. Returns {"written": [keys], "unchanged": n, "deleted": [keys]}.
Result<nlohmann::json> kvstore_apply(const std::string& yaml, const KvstoreOptions& o);
/// The nodes, services and ipam blocks under the prefix: [{"key", "kind", "name", "value", "mod_revision"}].
Result<nlohmann::json> kvstore_list(const KvstoreOptions& o);

} // namespace podlane
