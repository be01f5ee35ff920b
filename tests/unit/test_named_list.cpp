// Tests for apply_named (control/agent/named_list.h): the agent's sorted
// lists of services, nodes and pods changed by deltas of any size give what
// applying each upsert and then each delete to a map gives.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "control/agent/named_list.h"

using namespace podlane;

namespace {

struct Item {
    std::string name;
    int value = 0;
    bool operator==(const Item&) const = default;
};

} // namespace

TEST_CASE("apply_named keeps the list sorted and equal to a map under random deltas of any size", "[services]") {
    std::mt19937 rng(16);
    std::vector<Item> list;
    std::map<std::string, int> model;
    auto name = [&](int n) { return "ns/svc-" + std::to_string(n); };
    for (int round = 0; round < 300; ++round) {
        const int size = std::vector<int>{1, 2, 3, 5, 40, 300}[rng() % 6];
        const bool replace = rng() % 25 == 0;
        std::vector<Item> upserts;
        std::vector<std::string> deletes;
        for (int i = 0; i < size; ++i)
            upserts.push_back({name(static_cast<int>(rng() % 800)), static_cast<int>(rng() % 3)});
        if (!replace)
            for (int i = 0; i < static_cast<int>(rng() % (size + 1)); ++i)
                deletes.push_back(name(static_cast<int>(rng() % 800)));
        std::map<std::string, int> next = replace ? std::map<std::string, int>{} : model;
        for (const Item& u : upserts)
            next[u.name] = u.value; // the last upsert of a name wins
        for (const std::string& d : deletes)
            next.erase(d); // deletes after upserts
        std::vector<std::string> want_changed;
        for (const auto& [n, v] : next)
            if (auto it = model.find(n); it == model.end() || it->second != v)
                want_changed.push_back(n);
        for (const auto& [n, v] : model)
            if (!next.count(n))
                want_changed.push_back(n);
        std::sort(want_changed.begin(), want_changed.end());

        std::set<std::string> touched(deletes.begin(), deletes.end());
        for (const Item& u : upserts)
            touched.insert(u.name);
        if (replace)
            for (const auto& [n, v] : model)
                touched.insert(n);
        const std::vector<std::string> changed = apply_named(list, replace, upserts, deletes);
        model = next;
        REQUIRE(list.size() == model.size());
        size_t i = 0;
        for (const auto& [n, v] : model) {
            REQUIRE(list[i].name == n);
            REQUIRE(list[i].value == v);
            ++i;
        }
        // Every real change is named (a name upserted with its current value
        // is none); a name may be named that the delta touched and left as
        // it was (upserted new and deleted again): a recompile for nothing.
        REQUIRE(std::includes(changed.begin(), changed.end(), want_changed.begin(), want_changed.end()));
        for (const std::string& n : changed)
            REQUIRE(touched.count(n) == 1);
    }
}
