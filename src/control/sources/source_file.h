// The config file as a cluster-state source: its nodes and services, hot
// reloaded when the file changes. A file that no longer parses leaves the
// last good state in place and shows the error in `podlane status`.
#pragma once

#include <memory>
#include <string>

#include "control/sources/cluster_source.h"

namespace podlane {

class FileSource : public ClusterSource {
public:
    /// `running` is the config podlaned started with (node-local settings a
    /// reload does not change); `path` the file it came from.
    FileSource(Config running, std::string path, uint32_t poll_ms);
    ~FileSource() override;

    Result<void> start(boost::asio::io_context& io, Sink sink) override;
    void stop() override;
    SourceStatus status() const override;

    /// Reads the file now and hands the agent its nodes and services if it
    /// changed since the last read (also what the poll timer does).
    void reload();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace podlane
