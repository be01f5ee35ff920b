// Fuzz target: the YAML node config reader (parse_config), as podlaned reads
// --config and `podlane config check` does. Any text must give a config or
// an error; an exception escaping the reader is a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "control/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto parsed = podlane::parse_config(text, "fuzz");
    if (!parsed)
        (void)parsed.error().message.size();
    return 0;
}
