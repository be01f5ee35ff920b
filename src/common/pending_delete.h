// CNI DELs that could not reach podlaned, kept on disk until podlaned can
// release them. The CNI spec asks DEL to be best-effort: a runtime that
// retries a failing DEL forever blocks the pod's removal. So podlane-cni
// records the attachment here before it asks podlaned, forgets the record
// once podlaned answered, and succeeds while podlaned is down; podlaned
// releases every recorded attachment when it starts (after its API socket
// listens, so that no record written by a DEL that failed to connect is
// missed). docs/cni.md, "DEL while podlaned is down".
//
// The directory is derived from podlaned's API socket, the one path the
// plugin's network config and podlaned's config already agree on:
//   <api socket>.pending-del/<container id>%<ifname>
// A container id never holds '%', so the first '%' splits the name.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace podlane {

/// One DEL that podlaned has not seen yet: the runtime's (CNI_CONTAINERID, CNI_IFNAME).
struct PendingDelete {
    std::string container_id;
    std::string ifname;
    friend bool operator==(const PendingDelete&, const PendingDelete&) = default;
};

/// The record directory of the podlaned whose API socket is `api_socket`.
std::string pending_delete_dir(const std::string& api_socket);

/// Records `d` in `dir` (created 0700 with its parents), durably: the file
/// and the directory are fsync()ed. Recording twice is fine.
Result<void> record_pending_delete(const std::string& dir, const PendingDelete& d);

/// Removes the record of `d`; a missing record or directory is fine.
Result<void> forget_pending_delete(const std::string& dir, const PendingDelete& d);

/// Every record in `dir`, sorted; none when the directory does not exist.
/// Names that are not "<id>%<ifname>" are skipped.
std::vector<PendingDelete> list_pending_deletes(const std::string& dir);

} // namespace podlane
