#include "dataplane/stage.h"

#include <array>

namespace podlane {

namespace {
constexpr std::array<std::string_view, kStageCount> kNames = {
#define PODLANE_STAGE_NAME(name, str, help) str,
    PODLANE_FOREACH_STAGE(PODLANE_STAGE_NAME)
#undef PODLANE_STAGE_NAME
};
constexpr std::array<std::string_view, kStageCount> kHelp = {
#define PODLANE_STAGE_HELP(name, str, help) help,
    PODLANE_FOREACH_STAGE(PODLANE_STAGE_HELP)
#undef PODLANE_STAGE_HELP
};
} // namespace

std::string_view stage_name(Stage s) noexcept {
    auto i = static_cast<size_t>(s);
    return i < kStageCount ? kNames[i] : "invalid";
}

std::string_view stage_help(Stage s) noexcept {
    auto i = static_cast<size_t>(s);
    return i < kStageCount ? kHelp[i] : "invalid";
}

} // namespace podlane
