// The loader's health section (docs/config.md "health").
#include "control/config/config_reader.h"

namespace podlane::config_detail {

void read_health(const Mapping& top, Config& c) {
    const Mapping h = top.section("health", {"enabled", "interval_ms", "timeout_ms", "port", "endpoint"});
    h.read("enabled", c.health.enabled, as_bool);
    h.read("interval_ms", c.health.interval_ms, as_uint<uint32_t>(100, 3600000));
    h.read("timeout_ms", c.health.timeout_ms, as_uint<uint32_t>(10, 60000));
    h.read("port", c.health.port, as_uint<uint16_t>(1, 65535));
    h.read("endpoint", c.health.endpoint, as_bool);
    if (c.health.timeout_ms > c.health.interval_ms)
        if (auto f = h.get("timeout_ms"))
            invalid(*f, "at most health.interval_ms (" + std::to_string(c.health.interval_ms) + ")");
}

} // namespace podlane::config_detail
