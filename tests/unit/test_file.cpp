// common/file: the one whole-file reader (missing, empty, directory, content).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/file.h"

using namespace podlane;
using Catch::Matchers::Equals;

namespace {

/// A fresh directory under /tmp, removed at the end of the test.
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/podlane-file-test.XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    /// Writes `bytes` to NAME in the directory and returns its path.
    std::string write(const std::string& name, const std::string& bytes) const {
        const std::string p = path + "/" + name;
        std::ofstream(p, std::ios::binary) << bytes;
        return p;
    }
};

} // namespace

TEST_CASE("read_file: a missing file names the path and the reason", "[file]") {
    TempDir dir;
    auto r = read_file(dir.path + "/missing.yaml");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Equals("cannot open " + dir.path + "/missing.yaml: No such file or directory"));
}

TEST_CASE("read_file: a directory cannot be read", "[file]") {
    TempDir dir;
    auto r = read_file(dir.path);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Equals("cannot read " + dir.path + ": Is a directory"));
}

TEST_CASE("read_file: an empty file is an empty string", "[file]") {
    TempDir dir;
    auto r = read_file(dir.write("empty", ""));
    REQUIRE(r.ok());
    CHECK(r->empty());
}

TEST_CASE("read_file: the content as it is, binary and past one buffer", "[file]") {
    TempDir dir;
    std::string bytes = "line one\r\nline two\n";
    bytes += std::string("\0\xff\x01", 3);
    for (int i = 0; bytes.size() < 10000; ++i)
        bytes += static_cast<char>(i * 7);
    auto r = read_file(dir.write("content", bytes));
    REQUIRE(r.ok());
    CHECK(*r == bytes);
}
