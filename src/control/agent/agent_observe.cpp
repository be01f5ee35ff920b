// Flow events (observe): one single-producer ring per worker, drained by the
// control thread into a bounded history that `podlane observe` reads.
#include "control/agent/agent.h"
#include "control/tables/identity.h"

#include <chrono>
#include <cstdio>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/drop_reason.h"

namespace podlane {

namespace {

std::string ip_text(rte_be32_t be) { return Ipv4Addr{be}.str(); }

const char* proto_name(uint8_t p) {
    switch (p) {
    case IPPROTO_TCP: return "TCP";
    case IPPROTO_UDP: return "UDP";
    case IPPROTO_ICMP: return "ICMP";
    default: return "";
    }
}

const char* verdict_name(FlowVerdict v) {
    switch (v) {
    case FlowVerdict::Forwarded: return "FORWARDED";
    case FlowVerdict::Dropped: return "DROPPED";
    case FlowVerdict::Translated: return "TRANSLATED";
    }
    return "";
}

std::string tcp_flags(uint8_t f) {
    std::string s;
    const std::pair<uint8_t, const char*> names[] = {{0x02, "SYN"}, {0x10, "ACK"}, {0x01, "FIN"}, {0x04, "RST"}, {0x08, "PSH"}};
    for (const auto& [bit, name] : names)
        if (f & bit)
            s += (s.empty() ? "" : ",") + std::string(name);
    return s;
}

} // namespace

Result<void> Agent::start_observe() {
    const ObserveConfig& o = config_.observe;
    if (!o.enabled)
        return {};
    const uint32_t n = static_cast<uint32_t>(config_.dataplane.worker_lcores.size());
    taps_ = std::make_unique<FlowTap[]>(n);
    for (uint32_t w = 0; w < n; ++w) {
        const std::string name = "podlane_flows" + std::to_string(w);
        rte_ring* ring = rte_ring_create_elem(name.c_str(), sizeof(FlowEvent), o.ring_size,
                                              static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (ring == nullptr)
            return make_error("observe: cannot create a ring of " + std::to_string(o.ring_size) +
                              " flow events: " + rte_strerror(rte_errno) + " (lower observe.ring_size)");
        flow_rings_.push_back(ring);
        taps_[w].ring = ring;
        taps_[w].sample_every = o.sample_every;
        taps_[w].countdown = o.sample_every == 0 ? 1 : o.sample_every;
        taps_[w].worker = static_cast<uint8_t>(w);
        taps_[w].aggregate_tsc = rte_get_tsc_hz() / 1000 * o.aggregate_ms;
    }
    return {};
}

void Agent::stop_observe() {
    for (rte_ring* r : flow_rings_)
        rte_ring_free(r);
    flow_rings_.clear();
}

void Agent::drain_flows() {
    if (flow_rings_.empty())
        return;
    const uint64_t tsc_now = rte_rdtsc();
    const double hz = static_cast<double>(rte_get_tsc_hz());
    const double wall_now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    FlowEvent batch[64];
    for (rte_ring* ring : flow_rings_) {
        unsigned got;
        while ((got = rte_ring_sc_dequeue_burst_elem(ring, batch, sizeof(FlowEvent), 64, nullptr)) > 0)
            for (unsigned i = 0; i < got; ++i) {
                // Another core's TSC may run a little ahead of this one's.
                const double age = batch[i].tsc < tsc_now ? static_cast<double>(tsc_now - batch[i].tsc) / hz : 0.0;
                flows_.push_back(StoredFlow{++flow_seq_, wall_now - age, batch[i]});
                if (flows_.size() > config_.observe.history)
                    flows_.pop_front();
            }
    }
}

Json Agent::flow_json(const StoredFlow& f, const std::vector<IpcacheEntry>& ipcache) const {
    const FlowEvent& e = f.event;
    auto endpoint_of = [&](rte_be32_t ip) -> std::string {
        for (const auto& [id, rec] : endpoints_)
            if (rec.spec.ip.be == ip)
                return id;
        return "";
    };
    auto port_name = [&](uint16_t port) {
        for (const auto& [id, name] : named_ports())
            if (id == port)
                return name;
        return PortManager::name(port);
    };
    auto side = [&](const FlowTuple& t, bool source) {
        const rte_be32_t ip = source ? t.src : t.dst;
        const rte_be16_t port = source ? t.sport : t.dport;
        Json j{{"ip", ip_text(ip)}, {"port", rte_be_to_cpu_16(port)}};
        Ipv4Addr addr;
        addr.be = ip;
        const IpcacheEntry* entry = ipcache_lookup(ipcache, addr);
        j["identity"] = entry != nullptr ? entry->identity : kIdentityWorld;
        const std::string pod = endpoint_of(ip);
        if (!pod.empty())
            j["pod"] = pod;
        return j;
    };
    Json j{{"seq", f.seq},
           {"time", f.time},
           {"worker", e.worker},
           {"verdict", verdict_name(e.verdict)},
           {"protocol", proto_name(e.pre.proto)},
           {"source", side(e.pre, true)},
           {"destination", side(e.pre, false)},
           {"length", e.length},
           {"count", e.count},
           {"in_port", port_name(e.in_port)}};
    if (e.pre.proto == IPPROTO_TCP)
        j["tcp_flags"] = tcp_flags(e.pre.tcp_flags);
    if (e.verdict == FlowVerdict::Dropped) {
        j["drop_reason"] = std::string(drop_reason_name(e.reason));
    } else {
        j["out_port"] = port_name(e.out_port);
        if (e.post.proto != 0) {
            j["post_source"] = side(e.post, true);
            j["post_destination"] = side(e.post, false);
        }
    }
    return j;
}

Json Agent::flow_list(uint64_t since, uint32_t last) {
    drain_flows();
    Json events = Json::array();
    auto it = flows_.begin();
    while (it != flows_.end() && it->seq <= since)
        ++it;
    const size_t available = static_cast<size_t>(flows_.end() - it);
    if (available > last)
        it += static_cast<std::ptrdiff_t>(available - last);
    const std::vector<IpcacheEntry> ipcache = build_ipcache(config_, endpoint_specs());
    for (; it != flows_.end(); ++it)
        events.push_back(flow_json(*it, ipcache));
    uint64_t lost = 0, aggregated = 0;
    if (taps_)
        for (size_t w = 0; w < config_.dataplane.worker_lcores.size(); ++w) {
            lost += taps_[w].lost.get();
            aggregated += taps_[w].aggregated.get();
        }
    return Json{{"events", events},
                {"next", flow_seq_},
                {"lost", lost},
                {"aggregated", aggregated},
                {"enabled", taps_ != nullptr},
                {"sample_every", config_.observe.sample_every},
                {"aggregate_ms", config_.observe.aggregate_ms}};
}

} // namespace podlane
