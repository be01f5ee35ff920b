// Fuzz target: the etcd source's decoders, from the JSON etcd's gRPC gateway
// sends to the objects podlaned applies: a watch message (parse_watch_message,
// base64 keys and values) or a range response (parse_range_response), then
// every key and value decoded by EtcdObjects (node, service and endpoint
// values). The first byte picks watch or range; the rest is the JSON.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/config/config.h"
#include "control/sources/etcd/etcd_client.h"
#include "control/sources/etcd/etcd_objects.h"

using namespace podlane;

namespace {

const EtcdObjects& objects() {
    static const EtcdObjects o = [] {
        auto c = parse_config("node: {name: node1, ip: 192.168.50.11}\n"
                              "network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.1}\n"
                              "uplinks: [{name: eth0, devargs: net_null0}]\n",
                              "fuzz");
        if (!c)
            std::abort();
        return EtcdObjects(*c, "/podlane/");
    }();
    return o;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1)
        return 0;
    // The client parses replies the same way: invalid JSON is an error, not an exception.
    const nlohmann::json message =
        nlohmann::json::parse(reinterpret_cast<const char*>(data) + 1, reinterpret_cast<const char*>(data) + size,
                              nullptr, false);
    if (message.is_discarded())
        return 0;
    std::vector<std::string> errors;
    EtcdObjects fresh = objects(); // apply keeps what it has seen: a copy per input keeps runs independent
    if (data[0] & 1) {
        auto range = parse_range_response(message);
        if (range)
            (void)fresh.load(range->kvs, errors);
    } else {
        auto watch = parse_watch_message(message);
        if (watch)
            (void)fresh.apply(watch->events, errors);
    }
    return 0;
}
