// The node the packet fuzz targets send frames to: the real burst pipeline
// (run_stages) with the tables podlaned would publish, built from a config
// by the real config reader, service compiler and snapshot builder, as the
// unit tests' UplinkNode does (tests/unit/test_lb_pipeline.cpp).
//
// Node 192.168.50.11, pods A .11, B .12, C .13 in 10.200.0.0/24 (ports 1-3),
// the host path on port 8, the uplink on port 9 with a peer node .12 owning
// 10.201.0.0/24 and the external host .1 resolved; services: a ClusterIP
// with local backends (TCP 80, UDP 53), a NodePort with ClientIP affinity and
// a remote backend, one with no backends; masquerade on. In VXLAN with
// NodePort SNAT, or in Geneve with NodePort hybrid (DSR for TCP).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "control/config/config.h"
#include "control/tables/service_compiler.h"
#include "dataplane/affinity.h"
#include "dataplane/conntrack.h"
#include "dataplane/pipeline.h"
#include "dataplane/rcu_publisher.h"
#include "dataplane/service_lb.h"
#include "dataplane/snapshot.h"

namespace podlane::fuzz {

inline constexpr uint16_t kPortA = 1, kPortB = 2, kPortC = 3, kHostPort = 8, kUplinkPort = 9;
inline const Ipv4Addr kGw = *Ipv4Addr::parse("10.200.0.1");
inline const Ipv4Addr kPodA = *Ipv4Addr::parse("10.200.0.11");
inline const Ipv4Addr kPodB = *Ipv4Addr::parse("10.200.0.12");
inline const Ipv4Addr kPodC = *Ipv4Addr::parse("10.200.0.13");
inline const Ipv4Addr kNodeIp = *Ipv4Addr::parse("192.168.50.11");
inline const Ipv4Addr kPeerIp = *Ipv4Addr::parse("192.168.50.12");
inline const Ipv4Addr kExtIp = *Ipv4Addr::parse("192.168.50.1");
inline const Ipv4Addr kRemotePod = *Ipv4Addr::parse("10.201.0.12");
inline const Ipv4Addr kWebVip = *Ipv4Addr::parse("10.96.0.10");   ///< TCP 80 -> 8080, UDP 53 -> 5353; B and C
inline const Ipv4Addr kNpVip = *Ipv4Addr::parse("10.96.0.20");    ///< NodePort 30080/TCP, 30053/UDP
inline const Ipv4Addr kEmptyVip = *Ipv4Addr::parse("10.96.0.30"); ///< no backends: rejects

/// One node's tables and flow state.
class FuzzNode {
public:
    /// The node in VXLAN (NodePort SNAT) or Geneve (NodePort hybrid); built once per process.
    static FuzzNode& get(bool geneve);

    /// Runs one frame received on `in_port` through run_stages. With
    /// 0 < split < size the frame arrives as two chained segments. Checks
    /// what must hold for any input and aborts if not: every mbuf comes back
    /// to the pool, a forwarded mbuf is sane and goes to a port of the node,
    /// every packet finishes at exactly one stage. Returns the output port
    /// (kDropPort when dropped) and, in `out`, the forwarded frame.
    uint16_t run(uint16_t in_port, std::span<const uint8_t> frame, size_t split = 0,
                 std::vector<uint8_t>* out = nullptr);

    /// Forgets every flow and affinity entry, so each input starts alike.
    void reset();

    Conntrack& ct() { return *ct_; }
    bool geneve() const { return geneve_; }
    const MacAddr& gateway_mac() const { return snap_->gateway_mac; }

private:
    explicit FuzzNode(bool geneve);

    bool geneve_;
    bool verbose_; ///< PODLANE_FUZZ_VERBOSE set: each frame's fate on stderr (for looking at a corpus)
    Qsbr qsbr_{1};
    std::unique_ptr<Conntrack> ct_;
    std::unique_ptr<AffinityTable> affinity_;
    Config config_;
    ServiceIds ids_;
    std::unique_ptr<Snapshot> snap_;
    WorkerCounters counters_;
    LbWorker worker_;
    rte_mempool* pool_ = nullptr;
};

} // namespace podlane::fuzz
