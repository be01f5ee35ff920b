// Fuzz target: the Kubernetes source's decoders: list responses and watch
// events (one JSON object a line, as the API server streams them) of Nodes,
// Services and EndpointSlices, applied to the source's cache (K8sCache),
// which converts them and joins services with their slices, then the delta
// podlaned would apply. Each line's first byte picks the resource (bits 0-1)
// and whether the line is a list response (bit 2); the rest is JSON, parsed
// as source_k8s.cpp parses it. An exception escaping the cache would end
// that resource's watch loop for good in podlaned: it is a crash here.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "control/sources/k8s/k8s_cache.h"

using namespace podlane;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ConvertSettings s;
    s.node_name = "node1";
    s.node_ip = *Ipv4Addr::parse("192.168.50.11");
    s.pod_cidr = *Ipv4Prefix::parse("10.200.0.0/24");
    s.native_routing_cidr = *Ipv4Prefix::parse("0.0.0.0/0");
    K8sCache cache(s);
    std::string_view text(reinterpret_cast<const char*>(data), size);
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (line.empty())
            continue;
        const auto r = static_cast<K8sResource>((static_cast<uint8_t>(line[0]) & 3) % 3);
        const nlohmann::json j = nlohmann::json::parse(line.substr(1), nullptr, false);
        if (static_cast<uint8_t>(line[0]) & 4)
            (void)cache.apply_list(r, j);
        else
            (void)cache.apply_event(r, j);
    }
    (void)cache.take_delta(false);
    (void)cache.take_problems();
    return 0;
}
