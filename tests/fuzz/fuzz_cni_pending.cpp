// Fuzz target: the CNI pending-DEL records (common/pending_delete.h): the
// names podlaned finds in <api socket>.pending-del at start, and the records
// podlane-cni writes. Input: one name a line. Each name that can be a file
// name is created in a fresh directory; list_pending_deletes() must then
// return exactly the "<id>%<ifname>" ones, and each record it returns must
// survive forget, record and list again unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <unistd.h>

#include "common/pending_delete.h"

using namespace podlane;

namespace {

std::string fresh_dir() {
    static const std::string base =
        std::filesystem::temp_directory_path() / ("podlane-fuzz-pending-" + std::to_string(getpid()));
    static bool cleanup = [] {
        std::atexit([] {
            std::error_code ignored;
            std::filesystem::remove_all(base, ignored);
        });
        return true;
    }();
    (void)cleanup;
    std::error_code ignored;
    std::filesystem::remove_all(base, ignored);
    std::filesystem::create_directories(base + "/records");
    return base + "/records";
}

[[noreturn]] void broken(const char* what, const std::string& detail) {
    std::fprintf(stderr, "pending deletes: %s: %s\n", what, detail.c_str());
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string dir = fresh_dir();
    std::string_view text(reinterpret_cast<const char*>(data), size);
    for (int n = 0; n < 16 && !text.empty(); ++n) {
        const size_t nl = text.find('\n');
        const std::string name(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (name.empty() || name == "." || name == ".." || name.size() > 255 ||
            name.find_first_of(std::string("/\0", 2)) != std::string::npos)
            continue;
        std::ofstream(dir + "/" + name).put('\n');
    }
    const std::vector<PendingDelete> found = list_pending_deletes(dir);
    for (const PendingDelete& d : found) {
        if (d.container_id.empty() || d.container_id.find('%') != std::string::npos)
            broken("a record with a bad container id", d.container_id);
        if (!forget_pending_delete(dir, d))
            broken("cannot forget", d.container_id + "%" + d.ifname);
        if (!record_pending_delete(dir, d))
            broken("cannot record again", d.container_id + "%" + d.ifname);
    }
    if (list_pending_deletes(dir) != found)
        broken("the records changed after forget and record", std::to_string(found.size()));
    return 0;
}
