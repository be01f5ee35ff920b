// What one podlaned hands the next (docs/restart.md): the restart state file
// (control/restart/restart_state.h) written on a graceful stop and, every
// restart.checkpoint_interval_s, as a checkpoint; read before the workers
// start. A liveness mark next to it (pid and flow count, rewritten every
// second) tells the next process that its predecessor did not stop cleanly,
// and roughly how many flows it had: what a crash lost is counted, not guessed.
#include "control/agent/agent.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "common/file.h"
#include "control/restart/restart_state.h"

namespace podlane {

namespace {

int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

double ms_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

std::string mark_path(const std::string& state) { return state + ".running"; }

/// The liveness mark: "pid flows unix_ms".
void write_mark(const std::string& path, uint64_t flows) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << ::getpid() << " " << flows << " " << unix_ms_now() << "\n";
        if (!out)
            return;
    }
    std::rename(tmp.c_str(), path.c_str());
}

} // namespace

std::string Agent::restart_state_path() const { return config_.api.socket + ".restart-state"; }

Result<size_t> Agent::save_restart_state(const std::string& reason) {
    const auto begin = std::chrono::steady_clock::now();
    RestartState s;
    s.node = config_.node_name;
    s.writer_version = "podlaned";
    s.reason = reason;
    s.written_unix_ms = unix_ms_now();
    const auto frontends = services_.ids().frontend_keys();
    const auto backends = services_.ids().backend_keys();
    const uint32_t now = ct_now_s();
    ct_->for_each([&](const CtFlowView& v) {
        const CtEntry& e = *v.entry;
        const uint32_t expires = e.expires.load(std::memory_order_relaxed);
        if (expires <= now)
            return;
        SavedFlow f;
        f.orig = v.orig;
        f.fwd = v.fwd;
        f.flags = e.flags.load(std::memory_order_relaxed);
        f.tcp_state = e.tcp_state.load(std::memory_order_relaxed);
        f.remaining_s = expires - now;
        f.packets = e.packets.load(std::memory_order_relaxed);
        f.bytes = e.bytes();
        if (v.rev_nat_id != 0)
            if (auto it = frontends.find(v.rev_nat_id); it != frontends.end())
                f.frontend_key = it->second;
        if (f.flags & kCtDnat) {
            auto it = backends.find(v.backend_id);
            if (it == backends.end())
                return; // its backend is gone already: the next packet rebinds it anyway
            f.backend_key = it->second;
        }
        s.flows.push_back(f);
    });
    affinity_->for_each([&](const AffinityKey& k, uint32_t backend_id, uint32_t last_s) {
        auto fe = frontends.find(k.rev_nat_id);
        auto be = backends.find(backend_id);
        if (fe == frontends.end() || be == backends.end())
            return;
        s.affinity.push_back(SavedAffinity{Ipv4Addr{k.client_be}, fe->second, be->second, now > last_s ? now - last_s : 0});
    });
    if (uplink_)
        for (const auto& [ip, n] : neighbors_.entries())
            if (n.mac_valid && n.state != NeighborState::Failed && n.port_id == uplink_->port.port_id)
                s.neighbors.push_back(SavedNeighbor{ip, n.mac});
    const std::string path = restart_state_path();
    if (auto r = write_restart_state(path, s); !r)
        return r.error();
    const double took = ms_since(begin);
    if (reason == "graceful-stop") {
        std::remove(mark_path(path).c_str()); // stopped cleanly: nothing to report as lost
        std::printf("podlaned: restart state: %zu flows, %zu affinity pins, %zu neighbours written to %s in %.1f ms\n",
                    s.flows.size(), s.affinity.size(), s.neighbors.size(), path.c_str(), took);
        std::fflush(stdout);
    }
    restart_.last_checkpoint_ms = took;
    return s.flows.size();
}

void Agent::restore_restart_state() {
    const auto begin = std::chrono::steady_clock::now();
    const std::string path = restart_state_path();
    RestartReport& r = restart_;
    if (auto mark = read_file(mark_path(path)); mark) {
        unsigned long long pid = 0, flows = 0;
        long long ms = 0;
        if (std::sscanf(mark->c_str(), "%llu %llu %lld", &pid, &flows, &ms) == 3) {
            r.previous_crashed = true;
            r.previous_pid = pid;
            r.previous_flows = flows;
        }
    }
    auto state = read_restart_state(path);
    if (!state) {
        if (::access(path.c_str(), F_OK) == 0) {
            // Kept aside for a look, and never read again.
            r.source = "refused";
            r.error = state.error().message;
            std::rename(path.c_str(), (path + ".refused").c_str());
            std::fprintf(stderr, "podlaned: %s; starting without it (moved to %s.refused)\n", r.error.c_str(),
                         path.c_str());
        }
    } else if (state->node != config_.node_name) {
        r.source = "refused";
        r.error = "restart state " + path + " refused: it was written by node \"" + state->node + "\", this is \"" +
                  config_.node_name + "\"";
        std::rename(path.c_str(), (path + ".refused").c_str());
        std::fprintf(stderr, "podlaned: %s\n", r.error.c_str());
    } else {
        r.source = state->reason;
        r.state_age_ms = std::max<int64_t>(0, unix_ms_now() - state->written_unix_ms);
        const uint32_t age_s = static_cast<uint32_t>((r.state_age_ms + 999) / 1000);
        const uint32_t now = ct_now_s();
        const ServiceIds& ids = services_.ids();
        const uint32_t workers = static_cast<uint32_t>(config_.dataplane.worker_lcores.size());
        uint32_t next_worker = 0;
        for (const SavedFlow& f : state->flows) {
            if (f.remaining_s <= age_s) {
                ++r.flows_expired;
                continue;
            }
            uint16_t rev_nat = 0;
            if (f.frontend_key != 0) {
                auto id = ids.rev_nat_id(f.frontend_key);
                if (!id) {
                    ++r.flows_frontend_gone;
                    continue;
                }
                rev_nat = *id;
            }
            uint32_t backend = 0;
            if (f.flags & kCtDnat) {
                auto id = ids.backend_id_of_key(f.backend_key);
                if (!id) {
                    ++r.flows_backend_gone;
                    continue;
                }
                backend = *id;
            }
            // The workers are not running yet: any worker's share may take it.
            CtHit hit = ct_->create(next_worker, f.orig, f.fwd, rev_nat, backend, f.flags, now + f.remaining_s - age_s);
            next_worker = (next_worker + 1) % workers;
            if (hit.entry == nullptr) {
                ++r.flows_table_full;
                continue;
            }
            hit.entry->tcp_state.store(f.tcp_state, std::memory_order_relaxed);
            hit.entry->packets.store(f.packets, std::memory_order_relaxed);
            hit.entry->bytes_lo.store(static_cast<uint32_t>(f.bytes), std::memory_order_relaxed);
            hit.entry->bytes_hi.store(static_cast<uint16_t>(f.bytes >> 32), std::memory_order_relaxed);
            ++r.flows_restored;
        }
        for (const SavedAffinity& a : state->affinity) {
            auto fe = ids.rev_nat_id(a.frontend_key);
            auto be = ids.backend_id_of_key(a.backend_key);
            if (fe && be && affinity_->pin(*fe, a.client, *be, now > a.idle_s + age_s ? now - a.idle_s - age_s : 0))
                ++r.affinity_restored;
            else
                ++r.affinity_dropped;
        }
        if (uplink_) {
            const auto t = NeighborCache::Clock::now();
            for (const SavedNeighbor& n : state->neighbors) {
                neighbors_.learn(n.ip, n.mac, uplink_->port.port_id, t);
                ++r.neighbors_restored;
            }
        }
        std::remove(path.c_str()); // consumed: a later crash must not bring these flows back
    }
    r.restore_ms = ms_since(begin);
    if (r.source != "none" && r.source != "refused") {
        std::printf("podlaned: restart: restored %llu flows, %llu affinity pins, %llu neighbours from the %s state "
                    "(%lld ms old) in %.1f ms; dropped %llu expired, %llu whose frontend and %llu whose backend are "
                    "gone, %llu for a full table\n",
                    (unsigned long long)r.flows_restored, (unsigned long long)r.affinity_restored,
                    (unsigned long long)r.neighbors_restored, r.source.c_str(), (long long)r.state_age_ms,
                    r.restore_ms, (unsigned long long)r.flows_expired, (unsigned long long)r.flows_frontend_gone,
                    (unsigned long long)r.flows_backend_gone, (unsigned long long)r.flows_table_full);
    }
    if (r.previous_crashed) {
        const uint64_t lost = r.previous_flows > r.flows_restored ? r.previous_flows - r.flows_restored : 0;
        std::printf("podlaned: restart: the previous podlaned (pid %llu) did not stop cleanly: it tracked %llu flows, "
                    "%llu restored from %s, about %llu lost\n",
                    (unsigned long long)r.previous_pid, (unsigned long long)r.previous_flows,
                    (unsigned long long)r.flows_restored,
                    r.source == "checkpoint" ? "its last checkpoint" : "no checkpoint", (unsigned long long)lost);
    }
    std::fflush(stdout);
    write_mark(mark_path(path), ct_->flows());
    last_mark_ = last_checkpoint_ = std::chrono::steady_clock::now();
}

void Agent::restart_tick() {
    if (!ct_)
        return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_mark_ >= std::chrono::seconds(1)) {
        last_mark_ = now;
        write_mark(mark_path(restart_state_path()), ct_->flows());
    }
    const uint32_t every = config_.restart.checkpoint_interval_s;
    if (every == 0 || now - last_checkpoint_ < std::chrono::seconds(every))
        return;
    last_checkpoint_ = now;
    auto r = save_restart_state("checkpoint");
    controller_ran("restart-checkpoint", r ? "" : r.error().message);
    if (r) {
        ++restart_.checkpoints;
    } else {
        ++restart_.checkpoint_failures;
        restart_.last_checkpoint_error = r.error().message;
    }
}

Json Agent::restart_status() const {
    const RestartReport& r = restart_;
    const uint64_t lost = r.flows_lost();
    return Json{{"state_file", restart_state_path()},
                {"restored_from", r.source},
                {"error", r.error},
                {"state_age_ms", r.state_age_ms},
                {"restore_ms", r.restore_ms},
                {"previous_crashed", r.previous_crashed},
                {"previous_pid", r.previous_pid},
                {"previous_flows", r.previous_flows},
                {"flows_restored", r.flows_restored},
                {"flows_lost", lost},
                {"flows_dropped",
                 Json{{"expired", r.flows_expired},
                      {"frontend_gone", r.flows_frontend_gone},
                      {"backend_gone", r.flows_backend_gone},
                      {"table_full", r.flows_table_full}}},
                {"affinity_restored", r.affinity_restored},
                {"affinity_dropped", r.affinity_dropped},
                {"neighbors_restored", r.neighbors_restored},
                {"pods_adopted", r.pods_adopted},
                {"pods_recreated", r.pods_recreated},
                {"checkpoint_interval_s", config_.restart.checkpoint_interval_s},
                {"checkpoints", r.checkpoints},
                {"checkpoint_failures", r.checkpoint_failures},
                {"last_checkpoint_ms", r.last_checkpoint_ms},
                {"last_checkpoint_error", r.last_checkpoint_error}};
}

} // namespace podlane
