#include "cli/capture.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "client/api_client.h"

namespace podlane {

namespace {

volatile std::sig_atomic_t g_interrupted = 0;

void on_signal(int) { g_interrupted = 1; }

std::string summary(const Json& s) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f", s.value("seconds", 0.0));
    std::string out = std::to_string(s.value("packets", 0ull)) + " packets written to " + s.value("path", "") + " (" +
                      std::to_string(s.value("matched", 0ull)) + " matched, " + std::to_string(s.value("lost", 0ull)) +
                      " lost) in " + seconds + " s, filter: " + s.value("filter", "");
    if (s.contains("error"))
        out += "\nerror: " + s["error"].get<std::string>();
    return out;
}

} // namespace

int run_capture(const std::string& socket, const CaptureOptions& o) {
    Json args{{"path", std::filesystem::absolute(o.path).lexically_normal().string()}, {"count", o.count},
              {"snaplen", o.snaplen}};
    if (!o.filter.empty())
        args["filter"] = o.filter;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    auto started = call_api(socket, "capture.start", args);
    if (!started) {
        std::cerr << "podlane: " << started.error().message << "\n";
        return 1;
    }
    std::cerr << "capturing to " << args["path"].get<std::string>() << " (filter: " << (*started)["filter"].get<std::string>()
              << (o.count ? ", " + std::to_string(o.count) + " packets" : "")
              << (o.duration_s > 0 ? ", " + std::to_string(static_cast<uint64_t>(o.duration_s * 1000)) + " ms" : "")
              << "); Ctrl-C stops\n";
    const auto begin = std::chrono::steady_clock::now();
    auto last_report = begin;
    const bool progress = isatty(2);
    while (!g_interrupted) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const auto now = std::chrono::steady_clock::now();
        if (o.duration_s > 0 && std::chrono::duration<double>(now - begin).count() >= o.duration_s)
            break;
        auto status = call_api(socket, "capture.status", Json::object());
        if (!status) {
            std::cerr << "podlane: " << status.error().message << "\n";
            return 1;
        }
        if (!(*status)["running"].get<bool>())
            break; // the count was reached, or writing failed
        if (now - last_report >= std::chrono::seconds(1)) {
            last_report = now;
            std::cerr << (progress ? "\r" : "") << (*status)["packets"].get<uint64_t>() << " packets"
                      << (progress ? "" : "\n") << std::flush;
        }
    }
    if (progress)
        std::cerr << "\r";
    auto stopped = call_api(socket, "capture.stop", Json::object());
    if (!stopped) {
        std::cerr << "podlane: " << stopped.error().message << "\n";
        return 1;
    }
    if (o.json)
        std::cout << stopped->dump(2) << "\n";
    else
        std::cout << summary(*stopped) << "\n";
    return stopped->contains("error") ? 1 : 0;
}

} // namespace podlane
