#include "fuzz_node.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <rte_mbuf.h>

#include "control/tables/snapshot_builder.h"
#include "dataplane/drop_reason.h"
#include "dataplane/stage.h"
#include "fuzz_eal.h"

namespace podlane::fuzz {

namespace {

constexpr unsigned kPoolSize = 255;

const char* const kNodeYaml = R"(
node: {name: node1, ip: 192.168.50.11}
network: {pod_cidr: 10.200.0.0/24, gateway_ip: 10.200.0.1}
uplinks: [{name: eth0, devargs: net_null0}]
nodes: [{name: node2, ip: 192.168.50.12, pod_cidrs: [10.201.0.0/24]}]
services:
  - name: default/web
    cluster_ip: 10.96.0.10
    ports: [{protocol: TCP, port: 80, target_port: 8080}, {name: dns, protocol: UDP, port: 53, target_port: 5353}]
    backends: [{ip: 10.200.0.12}, {ip: 10.200.0.13}]
  - name: default/np
    type: NodePort
    cluster_ip: 10.96.0.20
    session_affinity: ClientIP
    ports: [{protocol: TCP, port: 80, target_port: 8080, node_port: 30080},
            {name: dns, protocol: UDP, port: 53, target_port: 53, node_port: 30053}]
    backends: [{ip: 10.201.0.12, node: node2}, {ip: 10.200.0.13}]
  - name: default/empty
    cluster_ip: 10.96.0.30
    ports: [{protocol: TCP, port: 80, target_port: 80}]
    backends: []
)";

const char* const kGeneveYaml = R"(
routing: {mode: tunnel, tunnel_protocol: geneve}
loadbalancer: {nodeport_mode: hybrid}
)";

[[noreturn]] void fail(const char* what, const std::string& detail = "") {
    std::fprintf(stderr, "fuzz node: %s %s\n", what, detail.c_str());
    std::abort();
}

rte_mbuf* to_mbufs(rte_mempool* pool, std::span<const uint8_t> frame, size_t split) {
    const uint16_t room = static_cast<uint16_t>(RTE_MBUF_DEFAULT_DATAROOM);
    if (split == 0 || split >= frame.size())
        split = frame.size();
    rte_mbuf* head = rte_pktmbuf_alloc(pool);
    if (head == nullptr)
        fail("packet pool empty");
    const size_t first = std::min<size_t>(split, room);
    std::memcpy(rte_pktmbuf_append(head, static_cast<uint16_t>(first)), frame.data(), first);
    const size_t rest = std::min<size_t>(frame.size() - first, room);
    if (rest > 0) {
        rte_mbuf* tail = rte_pktmbuf_alloc(pool);
        if (tail == nullptr)
            fail("packet pool empty");
        std::memcpy(rte_pktmbuf_append(tail, static_cast<uint16_t>(rest)), frame.data() + first, rest);
        if (rte_pktmbuf_chain(head, tail) != 0)
            fail("cannot chain segments");
    }
    return head;
}

} // namespace

FuzzNode& FuzzNode::get(bool geneve) {
    static FuzzNode* nodes[2] = {nullptr, nullptr};
    FuzzNode*& n = nodes[geneve ? 1 : 0];
    if (n == nullptr)
        n = new FuzzNode(geneve); // lives for the process
    return *n;
}

FuzzNode::FuzzNode(bool geneve) : geneve_(geneve), verbose_(std::getenv("PODLANE_FUZZ_VERBOSE") != nullptr) {
    ensure_eal();
    const std::string tag = geneve ? "gnv" : "vxl";
    pool_ = packet_pool(("fuzz_pool_" + tag).c_str(), kPoolSize);
    auto ct = Conntrack::create("fuzz_ct_" + tag, 1024, 1, qsbr_.get());
    auto affinity = AffinityTable::create("fuzz_aff_" + tag, 1024, qsbr_.get());
    if (!ct || !affinity)
        fail("cannot create the flow tables");
    ct_ = std::move(*ct);
    affinity_ = std::move(*affinity);

    auto parsed = parse_config(std::string(kNodeYaml) + (geneve ? kGeneveYaml : ""), "fuzz");
    if (!parsed)
        fail("node config:", parsed.error().message);
    config_ = *parsed;

    ServiceCompileInputs in;
    in.config = &config_;
    in.node_ip = kNodeIp;
    in.local_pod_cidr = config_.network.pod_cidr;
    in.remote_pod_cidrs = {*Ipv4Prefix::parse("10.201.0.0/24")};
    in.peer_node_ips = {kPeerIp};
    auto compiled = compile_services(in, ids_);
    if (!compiled)
        fail("services:", compiled.error().message);
    LbTables lb = std::move(*compiled);
    lb.frontend_ips = lb_frontend_ips(lb);
    lb.ct = ct_.get();
    lb.affinity = affinity_.get();

    SnapshotInputs si;
    si.generation = 1;
    si.pod_cidr = config_.network.pod_cidr;
    si.gateway_ip = kGw;
    si.gateway_mac = MacAddr::from_ipv4(kGw);
    si.endpoints = {{kPodA, MacAddr::from_ipv4(kPodA), {kPortA, 1}, 1001},
                    {kPodB, MacAddr::from_ipv4(kPodB), {kPortB, 1}, 1002},
                    {kPodC, MacAddr::from_ipv4(kPodC), {kPortC, 1}, 1002}};
    UplinkInput u;
    u.port = {kUplinkPort, 1};
    u.node_ip = kNodeIp;
    u.node_mac = MacAddr::from_ipv4(kNodeIp);
    u.routing = geneve ? Routing::Geneve : Routing::Vxlan;
    u.tunnel_port = geneve ? 6081 : 8472;
    u.nodes.push_back(RemoteNodeInput{kPeerIp, {*Ipv4Prefix::parse("10.201.0.0/24")}, MacAddr::from_ipv4(kPeerIp),
                                      true, {}});
    u.subnet = *Ipv4Prefix::parse("192.168.50.0/24");
    u.neighbors = {{kExtIp, MacAddr::from_ipv4(kExtIp)}, {kPeerIp, MacAddr::from_ipv4(kPeerIp)}};
    u.host_port = PortQueues{kHostPort, 1};
    u.host_mac = *MacAddr::parse("02:00:00:00:00:99");
    si.uplink = u;
    si.lb = std::make_shared<const LbTables>(std::move(lb));
    snap_ = build_snapshot(si);
    if (!snap_)
        fail("cannot build the snapshot");
}

void FuzzNode::reset() {
    ct_->expire(UINT32_MAX);
    ct_->reclaim();
    affinity_->expire(UINT32_MAX, [](uint16_t) { return 0u; });
    affinity_->reclaim();
}

uint16_t FuzzNode::run(uint16_t in_port, std::span<const uint8_t> frame, size_t split, std::vector<uint8_t>* out) {
    if (frame.empty())
        return kDropPort;
    rte_mbuf* m = to_mbufs(pool_, frame, split);
    rte_mbuf* burst[1] = {m};
    uint16_t port = kDropPort;
    std::array<uint64_t, kDropReasonCount> drops_before{};
    for (size_t i = 0; i < kDropReasonCount; ++i)
        drops_before[i] = counters_.drops[i].get();
    run_stages(*snap_, in_port, std::span(burst, 1), &port, counters_, nullptr, &worker_);
    if (verbose_) {
        std::string fate = port == kDropPort ? "dropped" : "to port " + std::to_string(port);
        for (size_t i = 0; i < kDropReasonCount; ++i)
            if (counters_.drops[i].get() != drops_before[i])
                fate += " (" + std::string(drop_reason_name(static_cast<DropReason>(i))) + ")";
        std::fprintf(stderr, "fuzz node %s: %zu bytes from port %u: %s\n", geneve_ ? "geneve" : "vxlan", frame.size(),
                     in_port, fate.c_str());
    }
    if (port != kDropPort) {
        const char* why = nullptr;
        if (rte_mbuf_check(m, 1, &why) != 0)
            fail("forwarded a broken mbuf:", why);
        if (port != kPortA && port != kPortB && port != kPortC && port != kHostPort && port != kUplinkPort)
            fail("forwarded to a port the node does not have:", std::to_string(port));
        if (out != nullptr) {
            out->resize(rte_pktmbuf_pkt_len(m));
            const void* p = rte_pktmbuf_read(m, 0, rte_pktmbuf_pkt_len(m), out->data());
            if (p != out->data())
                std::memcpy(out->data(), p, out->size());
        }
        rte_pktmbuf_free(m);
    }
    if (rte_mempool_avail_count(pool_) != kPoolSize)
        fail("mbufs leaked or freed twice:", std::to_string(rte_mempool_avail_count(pool_)) + " of " +
                                                 std::to_string(kPoolSize) + " in the pool");
    uint64_t finished = 0;
    for (size_t i = 0; i < kStageCount; ++i)
        finished += counters_.stage(static_cast<Stage>(i)).finished.get();
    if (finished != counters_.stage(Stage::Parse).in.get())
        fail("a packet did not finish at exactly one stage");
    return port;
}

} // namespace podlane::fuzz
