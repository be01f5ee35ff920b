#include "control/bgp/bgp_speaker.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include "control/bgp/bird_config.h"

namespace podlane {

namespace {

constexpr auto kStatusPeriod = std::chrono::seconds(1);
constexpr auto kReloadRetry = std::chrono::milliseconds(200);
constexpr auto kMaxBackoff = std::chrono::milliseconds(10000);
/// A BIRD that ran this long before dying restarts after the shortest delay.
constexpr auto kStableRun = std::chrono::seconds(60);

std::string exit_text(int status) {
    if (WIFEXITED(status))
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return std::string("killed by signal ") + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
    return "ended (status " + std::to_string(status) + ")";
}

/// mkdir -p with mode 0700 for the directories it creates.
Result<void> make_dirs(const std::string& path) {
    for (size_t at = 1; at <= path.size(); ++at) {
        if (at != path.size() && path[at] != '/')
            continue;
        const std::string dir = path.substr(0, at);
        if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
            return make_error("cannot create " + dir + ": " + std::strerror(errno));
    }
    return {};
}

} // namespace

BgpSpeaker::BgpSpeaker(BgpConfig config, Ipv4Addr node_ip, std::string node_name)
    : config_(std::move(config)), node_ip_(node_ip), node_name_(std::move(node_name)) {
    conf_path_ = config_.run_dir + "/bird.conf";
    socket_path_ = config_.run_dir + "/bird.ctl";
    log_path_ = config_.run_dir + "/bird.log";
    pid_path_ = config_.run_dir + "/bird.pid";
}

BgpSpeaker::~BgpSpeaker() { stop(); }

Result<void> BgpSpeaker::write_config(const BgpRouteSet& routes) {
    const std::string text = bird_config(config_, routes, node_ip_, node_name_);
    // Written whole and renamed: BIRD never reads half a file. 0600: it may hold passwords.
    const std::string tmp = conf_path_ + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return make_error("bgp.run_dir: cannot write " + tmp + ": " + std::strerror(errno));
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const int err = errno;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), conf_path_.c_str()) != 0)
        return make_error("bgp.run_dir: cannot write " + conf_path_ + ": " + std::strerror(ok ? errno : err));
    return {};
}

Result<void> BgpSpeaker::spawn(bool recovering) {
    const int log = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log < 0)
        return make_error("bgp.run_dir: cannot open " + log_path_ + ": " + std::strerror(errno));
    std::vector<std::string> args = {config_.bird, "-f", "-c", conf_path_, "-s", socket_path_, "-P", pid_path_};
    if (recovering)
        args.push_back("-R"); // graceful restart recovery: peers keep our routes meanwhile
    std::vector<char*> argv;
    for (std::string& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(log);
        return make_error(std::string("cannot fork for BIRD: ") + std::strerror(errno));
    }
    if (pid == 0) {
        // The child: only async-signal-safe calls until exec. BIRD stops with
        // podlaned even if podlaned is killed.
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent)
            ::_exit(127);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::setpgid(0, 0); // a terminal's Ctrl-C goes to podlaned, which stops BIRD itself
        ::dup2(log, STDOUT_FILENO);
        ::dup2(log, STDERR_FILENO);
        const int null = ::open("/dev/null", O_RDONLY);
        if (null >= 0)
            ::dup2(null, STDIN_FILENO);
        ::close_range(3, ~0u, 0); // DPDK's and the ports' descriptors stay with podlaned
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(log);
    pid_ = pid;
    started_at_ = Clock::now();
    std::fprintf(stderr, "podlaned: bgp: started BIRD (%s, pid %d%s), config %s\n", config_.bird.c_str(),
                 static_cast<int>(pid), recovering ? ", graceful restart recovery" : "", conf_path_.c_str());
    return {};
}

Result<void> BgpSpeaker::start(const BgpRouteSet& routes) {
    if (::access(config_.bird.c_str(), X_OK) != 0)
        return make_error("bgp.bird: cannot run " + config_.bird + ": " + std::strerror(errno) +
                          " (Debian: apt-get install bird2)");
    if (auto r = make_dirs(config_.run_dir); !r)
        return make_error("bgp.run_dir: " + r.error().message);
    ::chmod(config_.run_dir.c_str(), 0700);
    if (auto r = write_config(routes); !r)
        return r;
    applied_ = routes;
    ::unlink(socket_path_.c_str()); // a stale socket from a BIRD that did not stop
    return spawn(false);
}

void BgpSpeaker::set_instances(std::vector<BgpInstanceConfig> instances) {
    if (instances == config_.instances)
        return;
    config_.instances = std::move(instances);
    status_.clear(); // peers may have gone; the next status refresh tells
    if (pid_ == 0)
        return; // the BIRD started next reads it
    if (auto r = write_config(applied_); !r)
        last_error_ = r.error().message;
    else
        reload_pending_ = true;
}

void BgpSpeaker::reap(Clock::time_point now) {
    if (pid_ == 0)
        return;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR))
        return;
    last_exit_ = r < 0 ? std::string("lost: ") + std::strerror(errno) : exit_text(status);
    std::fprintf(stderr, "podlaned: bgp: BIRD (pid %d) %s; starting it again in %lld ms\n", static_cast<int>(pid_),
                 last_exit_.c_str(), static_cast<long long>(backoff_.count()));
    pid_ = 0;
    status_.clear();
    if (now - started_at_ >= kStableRun)
        backoff_ = std::chrono::milliseconds(500);
    restart_at_ = now + backoff_;
    backoff_ = std::min(backoff_ * 2, std::chrono::duration_cast<std::chrono::milliseconds>(kMaxBackoff));
}

void BgpSpeaker::tick(const BgpRouteSet& routes, Clock::time_point now) {
    reap(now);
    if (pid_ == 0) {
        if (now < restart_at_)
            return;
        bool graceful = false;
        for (const BgpInstanceConfig& in : config_.instances)
            for (const BgpPeerConfig& p : in.peers)
                graceful |= p.graceful_restart;
        // The new BIRD reads the current routes from its config.
        if (auto r = write_config(routes); !r) {
            last_error_ = r.error().message;
            restart_at_ = now + backoff_;
            return;
        }
        applied_ = routes;
        reload_pending_ = false;
        ::unlink(socket_path_.c_str());
        if (auto r = spawn(graceful); !r) {
            last_error_ = r.error().message;
            restart_at_ = now + backoff_;
            return;
        }
        ++restarts_;
        return;
    }
    if (routes != applied_) {
        if (auto r = write_config(routes); !r) {
            last_error_ = r.error().message;
        } else {
            applied_ = routes;
            reload_pending_ = true;
        }
    }
    if (reload_pending_ && now - last_reload_try_ >= kReloadRetry) {
        last_reload_try_ = now;
        // `configure` re-reads bird.conf; a BIRD just started may not listen yet.
        if (auto r = bird_command(socket_path_, "configure"); !r) {
            last_error_ = "configure: " + r.error().message;
        } else {
            reload_pending_ = false;
            ++reloads_;
        }
    }
    if (now - last_status_ >= kStatusPeriod)
        refresh_status();
}

void BgpSpeaker::refresh_status() {
    last_status_ = Clock::now();
    if (pid_ == 0)
        return;
    auto reply = bird_command(socket_path_, "show protocols all");
    if (!reply) {
        // Just started: BIRD may not listen yet. Keep the last status until it does.
        if (Clock::now() - started_at_ > std::chrono::seconds(2))
            last_error_ = "show protocols: " + reply.error().message;
        return;
    }
    status_ = parse_bird_protocols(*reply);
}

void BgpSpeaker::stop() {
    if (pid_ == 0)
        return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 50; ++i) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = 0;
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::fprintf(stderr, "podlaned: bgp: BIRD (pid %d) did not stop within 5 s: SIGKILL\n", static_cast<int>(pid_));
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = 0;
}

std::vector<BgpPeerView> BgpSpeaker::peers() const {
    std::vector<BgpPeerView> out;
    for (const BgpInstanceConfig& in : config_.instances)
        for (const BgpPeerConfig& p : in.peers) {
            BgpPeerView v{in.name, &in, &p, false, {}};
            const std::string name = bird_protocol_name(in, p);
            for (const BirdBgpStatus& s : status_)
                if (s.name == name) {
                    v.known = true;
                    v.status = s;
                }
            out.push_back(std::move(v));
        }
    return out;
}

nlohmann::json BgpSpeaker::speaker_json() const {
    return nlohmann::json{{"speaker", "bird"},
                          {"binary", config_.bird},
                          {"running", pid_ != 0},
                          {"pid", pid_},
                          {"config", conf_path_},
                          {"socket", socket_path_},
                          {"log", log_path_},
                          {"restarts", restarts_},
                          {"reloads", reloads_},
                          {"last_exit", last_exit_},
                          {"last_error", last_error_}};
}

} // namespace podlane
