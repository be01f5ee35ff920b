#include "dataplane/drop_reason.h"

#include <array>

namespace podlane {

namespace {
constexpr std::array<std::string_view, kDropReasonCount> kNames = {
#define PODLANE_DROP_NAME(name, str, help) str,
    PODLANE_FOREACH_DROP_REASON(PODLANE_DROP_NAME)
#undef PODLANE_DROP_NAME
};
constexpr std::array<std::string_view, kDropReasonCount> kHelp = {
#define PODLANE_DROP_HELP(name, str, help) help,
    PODLANE_FOREACH_DROP_REASON(PODLANE_DROP_HELP)
#undef PODLANE_DROP_HELP
};
} // namespace

std::string_view drop_reason_name(DropReason r) noexcept {
    auto i = static_cast<size_t>(r);
    return i < kDropReasonCount ? kNames[i] : "invalid";
}

std::string_view drop_reason_help(DropReason r) noexcept {
    auto i = static_cast<size_t>(r);
    return i < kDropReasonCount ? kHelp[i] : "invalid";
}

} // namespace podlane
