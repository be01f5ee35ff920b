// How long each step of podlaned's start or stop took: printed as one log
// line, so a slow restart shows where its time went (docs/restart.md).
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace podlane {

/// Steps and their durations, measured on the steady clock.
class StepTimeline {
public:
    /// The clock starts here (the start of main, the stop signal).
    void begin() {
        begin_ = last_ = std::chrono::steady_clock::now();
        steps_.clear();
        running_ = true;
    }
    /// The step called `name` has just ended; no-op before begin().
    void mark(const char* name) {
        if (!running_)
            return;
        const auto now = std::chrono::steady_clock::now();
        steps_.push_back(Step{name, ms(now - last_), ms(now - begin_)});
        last_ = now;
    }
    /// Milliseconds from begin() to the step `name`'s end, or -1.
    double at(const std::string& name) const {
        for (const Step& s : steps_)
            if (name == s.name)
                return s.at_ms;
        return -1;
    }
    /// "<what> in 12.3 ms: source 0.1, api 0.2, ... (ms)" (empty before begin()).
    std::string summary(const std::string& what) const {
        if (!running_)
            return {};
        char buf[64];
        std::snprintf(buf, sizeof buf, " in %.1f ms:", steps_.empty() ? 0.0 : steps_.back().at_ms);
        std::string out = what + buf;
        for (size_t i = 0; i < steps_.size(); ++i) {
            std::snprintf(buf, sizeof buf, "%s %s %.1f", i ? "," : "", steps_[i].name, steps_[i].took_ms);
            out += buf;
        }
        return out + " (ms)";
    }

private:
    struct Step {
        const char* name;
        double took_ms, at_ms;
    };
    static double ms(std::chrono::steady_clock::duration d) {
        return std::chrono::duration<double, std::milli>(d).count();
    }
    std::chrono::steady_clock::time_point begin_, last_;
    std::vector<Step> steps_;
    bool running_ = false;
};

} // namespace podlane
