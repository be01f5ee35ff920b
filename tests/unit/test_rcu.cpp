// RCU publication: readers never see a torn or freed table, and an old table
// is freed only after every online reader has passed a quiescent state.
#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <thread>
#include <vector>

#include "control/tables/snapshot_builder.h"
#include "dataplane/rcu_publisher.h"

using namespace podlane;

namespace {

std::atomic<uint64_t> g_destroyed{0};

/// A table whose every field must equal `gen`; its destructor poisons it, so
/// a reader that touches a freed table sees the poison.
struct Table {
    explicit Table(uint64_t g) : gen(g) { vals.fill(g); }
    ~Table() {
        gen = kPoison;
        vals.fill(kPoison);
        g_destroyed.fetch_add(1);
    }
    static constexpr uint64_t kPoison = 0xdeaddeaddeaddeadull;
    volatile uint64_t gen;
    std::array<volatile uint64_t, 32> vals;
};

} // namespace

TEST_CASE("a retired table is freed only after every online reader is quiescent", "[rcu]") {
    Qsbr qsbr(2);
    rte_rcu_qsbr* q = qsbr.get();
    g_destroyed = 0;
    {
        RcuPublisher<Table> pub(q, std::make_unique<Table>(1));
        rte_rcu_qsbr_thread_register(q, 0);
        rte_rcu_qsbr_thread_register(q, 1);
        rte_rcu_qsbr_thread_online(q, 0);
        rte_rcu_qsbr_thread_online(q, 1);

        pub.publish(std::make_unique<Table>(2));
        CHECK(pub.reclaim() == 0); // neither reader has moved on
        rte_rcu_qsbr_quiescent(q, 0);
        CHECK(pub.reclaim() == 0); // reader 1 may still hold table 1
        rte_rcu_qsbr_quiescent(q, 1);
        CHECK(pub.reclaim() == 1);
        CHECK(g_destroyed == 1);
        CHECK(pub.load()->gen == 2);

        // An offline reader (a sleeping worker) does not hold up reclamation.
        rte_rcu_qsbr_thread_offline(q, 1);
        pub.publish(std::make_unique<Table>(3));
        rte_rcu_qsbr_quiescent(q, 0);
        CHECK(pub.reclaim() == 1);
        CHECK(pub.pending() == 0);

        rte_rcu_qsbr_thread_offline(q, 0);
        rte_rcu_qsbr_thread_unregister(q, 0);
        rte_rcu_qsbr_thread_unregister(q, 1);
    }
    CHECK(g_destroyed == 3); // the current table goes with the publisher
}

TEST_CASE("concurrent readers never see a torn or freed table", "[rcu]") {
    constexpr uint32_t kReaders = 3;
    constexpr uint64_t kPublishes = 20000;
    Qsbr qsbr(kReaders);
    rte_rcu_qsbr* q = qsbr.get();
    g_destroyed = 0;
    RcuPublisher<Table> pub(q, std::make_unique<Table>(1));

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> bad_reads{0}, reads{0};
    std::atomic<uint32_t> reading{0}; // readers online that have read a table
    std::vector<std::thread> readers;
    for (uint32_t id = 0; id < kReaders; ++id) {
        readers.emplace_back([&, id] {
            rte_rcu_qsbr_thread_register(q, id);
            rte_rcu_qsbr_thread_online(q, id);
            uint64_t last_gen = 0, local_reads = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                const Table* t = pub.load();
                const uint64_t g = t->gen;
                bool ok = g != Table::kPoison && g >= last_gen;
                for (int spin = 0; spin < 4; ++spin) // hold the table a little while
                    for (const auto& v : t->vals)
                        ok = ok && v == g;
                if (!ok)
                    bad_reads.fetch_add(1);
                last_gen = g;
                if (++local_reads == 1)
                    reading.fetch_add(1);
                rte_rcu_qsbr_quiescent(q, id);
            }
            reads.fetch_add(local_reads);
            rte_rcu_qsbr_thread_offline(q, id);
            rte_rcu_qsbr_thread_unregister(q, id);
        });
    }

    // Publish only once every reader is in its loop: on a fast machine the
    // publishes would otherwise all be over before a reader starts.
    while (reading.load() < kReaders)
        std::this_thread::yield();
    size_t max_pending = 0;
    for (uint64_t g = 2; g <= kPublishes + 1; ++g) {
        pub.publish(std::make_unique<Table>(g));
        pub.reclaim();
        max_pending = std::max(max_pending, pub.pending());
    }
    pub.synchronize();
    const uint64_t destroyed_while_running = g_destroyed.load();
    stop = true;
    for (auto& t : readers)
        t.join();

    CHECK(bad_reads == 0);
    CHECK(reads > kReaders);
    CHECK(destroyed_while_running == kPublishes); // every retired table was freed
    CHECK(pub.pending() == 0);
    CHECK(pub.load()->gen == kPublishes + 1);
    INFO("most tables waiting for a grace period at once: " << max_pending);
    CHECK(max_pending >= 1);
}

TEST_CASE("snapshot builder assigns every port to exactly one worker", "[rcu]") {
    SnapshotInputs in;
    in.workers = 2;
    in.gateway_ip = *Ipv4Addr::parse("10.200.0.1");
    in.endpoints = {{*Ipv4Addr::parse("10.200.0.11"), {}, {3, 1}}, {*Ipv4Addr::parse("10.200.0.12"), {}, {1, 1}}};
    in.plain_ports = {{7, 1}};
    auto s = build_snapshot(in);
    REQUIRE(s->workers.size() == 2);
    CHECK(s->workers[0].rx.size() + s->workers[1].rx.size() == 3);
    CHECK(s->workers[0].rx[0].port_id == 1);
    CHECK(s->workers[1].rx[0].port_id == 3);
    CHECK(s->workers[0].rx[1].port_id == 7);
    CHECK(s->ports[3].endpoint != kNoEndpoint);
    CHECK(s->endpoints[s->ports[3].endpoint].ip == *Ipv4Addr::parse("10.200.0.11"));
    CHECK(s->ports[7].role == PortRole::Plain);
    CHECK(s->ports[7].endpoint == kNoEndpoint);
    CHECK(s->ports[2].role == PortRole::Unused);
    CHECK(s->endpoint_by_ip.lookup(*Ipv4Addr::parse("10.200.0.12")) == s->ports[1].endpoint);
    CHECK(s->endpoint_by_ip.lookup(*Ipv4Addr::parse("10.200.0.13")) == kNoEndpoint);
}

TEST_CASE("with one rx queue per worker, every worker polls every port", "[rcu]") {
    SnapshotInputs in;
    in.workers = 2;
    in.endpoints = {{*Ipv4Addr::parse("10.200.0.11"), {}, {0, 2}}, {*Ipv4Addr::parse("10.200.0.12"), {}, {1, 2}}};
    auto s = build_snapshot(in);
    for (const WorkerPlan& w : s->workers) {
        REQUIRE(w.rx.size() == 2);
        CHECK(w.rx[0].port_id == 0);
        CHECK(w.rx[1].port_id == 1);
        CHECK(w.rx[0].queue_id == w.rx[1].queue_id);
    }
    CHECK(s->workers[0].rx[0].queue_id != s->workers[1].rx[0].queue_id);
}

TEST_CASE("endpoint table finds every IP among many and nothing else", "[rcu]") {
    std::vector<Ipv4Addr> ips;
    for (uint32_t i = 0; i < 5000; ++i)
        ips.push_back(Ipv4Addr::from_host(0x0a000000u + i * 7919u)); // spread over 10.0.0.0-12.93.x.x
    Ipv4Map t(ips);
    for (uint32_t i = 0; i < ips.size(); ++i)
        REQUIRE(t.lookup(ips[i]) == i);
    for (uint32_t i = 0; i < 5000; ++i)
        REQUIRE(t.lookup(Ipv4Addr::from_host(0xc0a80000u + i)) == kNoEndpoint); // 192.168/16
    CHECK(Ipv4Map{}.lookup(ips[0]) == kNoEndpoint);
}
