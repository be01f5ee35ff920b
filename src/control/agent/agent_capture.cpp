// Packet capture (podlane capture): the control side. capture.start opens
// the pcapng file and arms every worker's CaptureTap with the compiled
// filter; tick() moves the workers' copies into the file; the capture stops
// when it has its packet count or on capture.stop, after a grace period
// (no worker still copies), with the rest of the rings written.
#include "control/agent/agent.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "control/observe/capture_filter.h"

namespace podlane {

namespace {

constexpr uint32_t kCaptureRingSize = 1024;  ///< copies per worker waiting for the control thread
constexpr uint32_t kCapturePoolSize = 4095;  ///< copies in flight, all workers
constexpr uint32_t kCaptureDataRoom = 2048;  ///< bytes per copy segment (longer packets chain)

} // namespace

Result<void> Agent::start_capture_taps() {
    const uint32_t n = static_cast<uint32_t>(config_.dataplane.worker_lcores.size());
    capture_taps_ = std::make_unique<CaptureTap[]>(n);
    for (uint32_t w = 0; w < n; ++w) {
        const std::string name = "podlane_capture" + std::to_string(w);
        rte_ring* ring = rte_ring_create(name.c_str(), kCaptureRingSize, static_cast<int>(rte_socket_id()),
                                         RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (ring == nullptr)
            return make_error("capture: cannot create a ring: " + std::string(rte_strerror(rte_errno)));
        capture_taps_[w].ring = ring;
    }
    return {};
}

void Agent::stop_capture_taps() {
    if (capture_.file != nullptr)
        (void)finish_capture();
    if (capture_taps_)
        for (size_t w = 0; w < config_.dataplane.worker_lcores.size(); ++w)
            rte_ring_free(capture_taps_[w].ring);
    capture_taps_.reset();
    if (capture_pool_ != nullptr)
        rte_mempool_free(capture_pool_);
    capture_pool_ = nullptr;
}

Result<Json> Agent::capture_start(const std::string& filter_text, const std::string& path, uint64_t max_packets,
                                  uint32_t snaplen) {
    if (capture_.file != nullptr)
        return make_error("a capture is running (" + capture_.filter + " to " + capture_.path +
                          "); stop it first (podlane capture stop)");
    if (path.empty() || path[0] != '/')
        return make_error("capture: the file must be an absolute path, not \"" + path + "\"");
    auto filter = parse_capture_filter(filter_text, [this](const std::string& pod) -> std::optional<Ipv4Addr> {
        auto it = endpoints_.find(pod);
        if (it == endpoints_.end())
            return std::nullopt;
        return it->second.spec.ip;
    });
    if (!filter)
        return filter.error();
    if (capture_pool_ == nullptr) {
        capture_pool_ = rte_pktmbuf_pool_create("podlane_capture", kCapturePoolSize, 64, 0,
                                                static_cast<uint16_t>(rte_pcapng_mbuf_size(kCaptureDataRoom)),
                                                static_cast<int>(rte_socket_id()));
        if (capture_pool_ == nullptr)
            return make_error("capture: cannot create the copy pool: " + std::string(rte_strerror(rte_errno)));
    }
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return make_error("capture: cannot create " + path + ": " + std::strerror(errno));
    // The file describes every port that exists now, in port order.
    std::array<uint8_t, RTE_MAX_ETHPORTS> interface;
    interface.fill(0xff);
    uint8_t index = 0;
    uint16_t port;
    RTE_ETH_FOREACH_DEV(port) interface[port] = index++;
    rte_pcapng_t* file = rte_pcapng_fdopen(fd, "Linux", nullptr, "podlaned",
                                           filter_text.empty() ? "podlane capture" : filter_text.c_str());
    if (file == nullptr) {
        ::close(fd);
        return make_error("capture: cannot start a pcapng file in " + path + ": " + rte_strerror(rte_errno));
    }
    capture_ = CaptureRun{};
    capture_.file = file;
    capture_.path = path;
    capture_.filter = filter_text.empty() ? "(everything)" : filter_text;
    capture_.max_packets = max_packets;
    capture_.started = std::chrono::steady_clock::now();
    const uint16_t tunnel = rte_cpu_to_be_16(static_cast<uint16_t>(config_.routing.tunnel_port));
    for (size_t w = 0; w < config_.dataplane.worker_lcores.size(); ++w) {
        CaptureTap& tap = capture_taps_[w];
        tap.filter = *filter;
        tap.pool = capture_pool_;
        tap.snaplen = snaplen == 0 ? UINT32_MAX : snaplen;
        tap.tunnel_port_a = tunnel;
        tap.tunnel_port_b = tunnel;
        tap.interface = interface;
        capture_.matched_base += tap.matched.get();
        capture_.lost_base += tap.lost.get();
    }
    for (size_t w = 0; w < config_.dataplane.worker_lcores.size(); ++w)
        capture_taps_[w].active.store(true, std::memory_order_release);
    return capture_json();
}

/// Moves the copies waiting in the workers' rings into the file, up to the
/// capture's packet count (the rest is freed unwritten).
void Agent::write_captured() {
    rte_mbuf* batch[64];
    for (size_t w = 0; w < config_.dataplane.worker_lcores.size(); ++w) {
        unsigned got;
        while ((got = rte_ring_sc_dequeue_burst(capture_taps_[w].ring, reinterpret_cast<void**>(batch), 64,
                                                nullptr)) > 0) {
            unsigned keep = got;
            if (capture_.max_packets != 0 && capture_.written + keep > capture_.max_packets)
                keep = static_cast<unsigned>(capture_.max_packets - capture_.written);
            if (capture_.write_failed)
                keep = 0;
            if (keep < got)
                rte_pktmbuf_free_bulk(batch + keep, got - keep);
            if (keep == 0)
                continue;
            // rte_pcapng_write_packets frees the copies, written or not.
            if (rte_pcapng_write_packets(capture_.file, batch, static_cast<uint16_t>(keep)) < 0) {
                capture_.error = "writing " + capture_.path + ": " + std::strerror(errno);
                capture_.write_failed = true;
            } else {
                capture_.written += keep;
            }
        }
    }
}

void Agent::drain_capture() {
    if (capture_.file == nullptr)
        return;
    write_captured();
    if ((capture_.max_packets != 0 && capture_.written >= capture_.max_packets) || capture_.write_failed)
        (void)finish_capture();
}

Json Agent::finish_capture() {
    for (size_t w = 0; w < config_.dataplane.worker_lcores.size(); ++w)
        capture_taps_[w].active.store(false, std::memory_order_release);
    // After the grace period no worker is inside capture_burst: the rings
    // hold every copy there will be.
    tables_->synchronize();
    write_captured();
    rte_pcapng_close(capture_.file); // closes the fd too
    capture_.file = nullptr;
    capture_.stopped = std::chrono::steady_clock::now();
    return capture_json();
}

Json Agent::capture_json() const {
    uint64_t matched = 0, lost = 0;
    if (capture_taps_)
        for (size_t w = 0; w < config_.dataplane.worker_lcores.size(); ++w) {
            matched += capture_taps_[w].matched.get();
            lost += capture_taps_[w].lost.get();
        }
    const auto end = capture_.file != nullptr ? std::chrono::steady_clock::now() : capture_.stopped;
    Json j{{"running", capture_.file != nullptr},
           {"path", capture_.path},
           {"filter", capture_.filter},
           {"max_packets", capture_.max_packets},
           {"packets", capture_.written},
           {"matched", matched - capture_.matched_base},
           {"lost", lost - capture_.lost_base},
           {"seconds", capture_.path.empty() ? 0.0 : std::chrono::duration<double>(end - capture_.started).count()}};
    if (!capture_.error.empty())
        j["error"] = capture_.error;
    return j;
}

Result<Json> Agent::capture_status() {
    drain_capture();
    if (capture_.path.empty())
        return make_error("no capture has run since podlaned started (podlane capture -w FILE)");
    return capture_json();
}

Result<Json> Agent::capture_stop() {
    if (capture_.file != nullptr) {
        drain_capture();
        if (capture_.file != nullptr)
            return finish_capture();
    }
    if (capture_.path.empty())
        return make_error("no capture has run since podlaned started (podlane capture -w FILE)");
    return capture_json();
}

} // namespace podlane
