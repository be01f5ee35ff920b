// The filter language of `podlane capture --filter`: a tcpdump-like
// conjunction of terms, compiled into the CaptureFilter workers evaluate.
//
//   [not] [src|dst] host IP      IP as source, destination or either
//   [not] [src|dst] port N       TCP or UDP port
//   [not] tcp | udp | icmp       protocol
//   [not] pod NAME               the pod's IP, as "host" (NAME: endpoint id)
//   TERM and TERM ...            all must hold ("&&" works too)
//
// An empty filter captures everything. A tunnel packet (VXLAN, Geneve)
// matches when its outer or its inner packet does.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "common/net_types.h"
#include "common/result.h"
#include "dataplane/capture.h"

namespace podlane {

/// Looks a pod up by endpoint id: its IP, or nullopt.
using PodLookup = std::function<std::optional<Ipv4Addr>(const std::string&)>;

/// Compiles `text`; the error names the word it could not use and what was expected.
Result<CaptureFilter> parse_capture_filter(const std::string& text, const PodLookup& pod_ip);

} // namespace podlane
