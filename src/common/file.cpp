#include "common/file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace podlane {

Result<std::string> read_file(const std::string& path) {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (!file)
        return make_error("cannot open " + path + ": " + std::strerror(errno));
    std::string text;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, file)) > 0)
        text.append(buf, n);
    const bool failed = std::ferror(file) != 0;
    const int read_errno = errno;
    std::fclose(file);
    if (failed)
        return make_error("cannot read " + path + ": " + std::strerror(read_errno));
    return text;
}

} // namespace podlane
