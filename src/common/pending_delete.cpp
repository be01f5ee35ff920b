#include "common/pending_delete.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace podlane {

namespace {

std::string file_of(const std::string& dir, const PendingDelete& d) { return dir + "/" + d.container_id + "%" + d.ifname; }

/// mkdir -p with mode 0700 for the directories it creates.
Result<void> make_dirs(const std::string& dir) {
    for (size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
        const std::string part = dir.substr(0, slash);
        if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
            return make_error("cannot create " + part + ": " + std::strerror(errno));
        if (slash == std::string::npos)
            return {};
    }
}

Result<void> fsync_path(const std::string& path, int flags) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0)
        return make_error("cannot open " + path + ": " + std::strerror(errno));
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0)
        return make_error("cannot fsync " + path + ": " + std::strerror(err));
    return {};
}

} // namespace

std::string pending_delete_dir(const std::string& api_socket) { return api_socket + ".pending-del"; }

Result<void> record_pending_delete(const std::string& dir, const PendingDelete& d) {
    if (d.container_id.empty() || d.container_id.find_first_of("%/") != std::string::npos || d.ifname.empty() ||
        d.ifname.find('/') != std::string::npos)
        return make_error("cannot record a pending DEL for \"" + d.container_id + "\"/\"" + d.ifname + "\"");
    if (auto r = make_dirs(dir); !r)
        return r;
    const std::string path = file_of(dir, d);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return make_error("cannot create " + path + ": " + std::strerror(errno));
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0)
        return make_error("cannot fsync " + path + ": " + std::strerror(err));
    return fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

Result<void> forget_pending_delete(const std::string& dir, const PendingDelete& d) {
    const std::string path = file_of(dir, d);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return make_error("cannot remove " + path + ": " + std::strerror(errno));
    return {};
}

std::vector<PendingDelete> list_pending_deletes(const std::string& dir) {
    std::vector<PendingDelete> out;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr)
        return out;
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        const size_t pct = name.find('%');
        if (pct == 0 || pct == std::string::npos || pct + 1 == name.size())
            continue;
        out.push_back(PendingDelete{name.substr(0, pct), name.substr(pct + 1)});
    }
    ::closedir(d);
    std::sort(out.begin(), out.end(), [](const PendingDelete& a, const PendingDelete& b) {
        return a.container_id != b.container_id ? a.container_id < b.container_id : a.ifname < b.ifname;
    });
    return out;
}

} // namespace podlane
