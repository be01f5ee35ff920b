#include "control/agent/final_report.h"

namespace podlane {

void print_final_report(const Json& stats, std::FILE* out) {
    std::fprintf(out, "podlaned: final counters\n");
    for (const Json& w : stats.value("workers", Json::array())) {
        std::fprintf(out, "  worker %u (lcore %u): rx %llu tx %llu forwarded %llu arp_replies %llu icmp_replies %llu\n",
                     w["id"].get<unsigned>(), w["lcore"].get<unsigned>(),
                     static_cast<unsigned long long>(w["rx_packets"].get<uint64_t>()),
                     static_cast<unsigned long long>(w["tx_packets"].get<uint64_t>()),
                     static_cast<unsigned long long>(w["forwarded"].get<uint64_t>()),
                     static_cast<unsigned long long>(w["arp_replies"].get<uint64_t>()),
                     static_cast<unsigned long long>(w["icmp_replies"].get<uint64_t>()));
        for (const auto& [reason, n] : w["drops"].items())
            if (n.get<uint64_t>() != 0)
                std::fprintf(out, "    drop %-22s %llu\n", reason.c_str(),
                             static_cast<unsigned long long>(n.get<uint64_t>()));
    }
    std::fflush(out);
}

} // namespace podlane
