// Fuzz target: the parser of BIRD's `show protocols all` reply
// (parse_bird_protocols), the one place podlane reads a tool's text. The
// input is the reply as it arrives on BIRD's control socket: "CCCC-text",
// "CCCC text" and " text" lines (BIRD's doc/prog "Remote control"), cut into
// BirdLine as bird_command() does; lines of any other shape are kept with
// code 0, to reach the parser too.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "control/bgp/bird_control.h"

using namespace podlane;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::vector<BirdLine> lines;
    int last = 0;
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        const std::string line(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (!line.empty() && line[0] == ' ') {
            lines.push_back(BirdLine{last, line.substr(1)});
            continue;
        }
        bool coded = line.size() >= 5 && (line[4] == '-' || line[4] == ' ');
        for (size_t i = 0; coded && i < 4; ++i)
            coded = line[i] >= '0' && line[i] <= '9';
        if (coded) {
            last = std::stoi(line.substr(0, 4));
            lines.push_back(BirdLine{last, line.substr(5)});
        } else {
            lines.push_back(BirdLine{0, line});
        }
    }
    (void)parse_bird_protocols(lines);
    return 0;
}
