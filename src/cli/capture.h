// `podlane capture`: podlaned writes the packets its workers receive that
// match a filter into a pcapng file (Wireshark, tshark, tcpdump read it).
#pragma once

#include <cstdint>
#include <string>

namespace podlane {

struct CaptureOptions {
    std::string filter;        ///< capture filter (control/observe/capture_filter.h), empty: everything
    std::string path;          ///< the pcapng file, made absolute by the CLI
    uint64_t count = 0;        ///< stop after this many packets; 0: no limit
    double duration_s = 0;     ///< stop after this long; 0: no limit
    uint32_t snaplen = 0;      ///< bytes per packet; 0: whole packets
    bool json = false;         ///< -o json: the final summary as JSON
};

/// Starts a capture, shows its progress once a second until the count, the
/// duration or Ctrl-C, stops it and prints the summary; returns the exit code.
int run_capture(const std::string& socket, const CaptureOptions& o);

} // namespace podlane
