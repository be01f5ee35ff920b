// The agent's lists of named objects (services, nodes, other nodes' pods),
// kept sorted by name, and how a ClusterDelta changes them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace podlane {

/// Applies upserts and deletes (or a whole replacement) to a list of named
/// objects sorted by name, keeping it sorted. Returns the names that changed.
/// Changes to existing entries are a binary search each; new entries are
/// merged in and deleted ones compacted out in one pass over the list, so a
/// delta costs O(list + its size), whatever its size (inserting 128 names
/// one by one into a list of 10,000 moved the list 128 times; a range delete
/// of 10,000 erased it one entry at a time).
template <typename T>
inline std::vector<std::string> apply_named(std::vector<T>& list, bool replace, std::vector<T>& upserts,
                                            const std::vector<std::string>& deletes) {
    const auto by_name = [](const T& item, const std::string& name) { return item.name < name; };
    const auto name_less = [](const T& a, const T& b) { return a.name < b.name; };
    std::vector<std::string> changed;
    if (replace) {
        std::map<std::string, T> next;
        for (T& item : upserts)
            next.insert_or_assign(item.name, std::move(item));
        auto old = list.begin();
        for (const auto& [name, item] : next) {
            for (; old != list.end() && old->name < name; ++old)
                changed.push_back(old->name); // gone
            if (old != list.end() && old->name == name) {
                if (!(*old == item))
                    changed.push_back(name);
                ++old;
            } else {
                changed.push_back(name); // new
            }
        }
        for (; old != list.end(); ++old)
            changed.push_back(old->name);
        list.clear();
        list.reserve(next.size());
        for (auto& [name, item] : next)
            list.push_back(std::move(item));
    } else {
        std::vector<T> added;
        for (T& item : upserts) {
            auto at = std::lower_bound(list.begin(), list.end(), item.name, by_name);
            if (at != list.end() && at->name == item.name) {
                if (*at == item)
                    continue;
                changed.push_back(item.name);
                *at = std::move(item);
            } else {
                changed.push_back(item.name);
                added.push_back(std::move(item));
            }
        }
        if (!added.empty()) {
            // A name upserted twice in one delta: its last version.
            std::stable_sort(added.begin(), added.end(), name_less);
            size_t kept = 0;
            for (size_t i = 0; i < added.size(); ++i) {
                if (i + 1 < added.size() && added[i + 1].name == added[i].name)
                    continue;
                if (kept != i)
                    added[kept] = std::move(added[i]);
                ++kept;
            }
            added.erase(added.begin() + static_cast<std::ptrdiff_t>(kept), added.end());
            if (added.size() <= 2) { // an insert moves only the tail: cheaper for one or two
                for (T& item : added)
                    list.insert(std::lower_bound(list.begin(), list.end(), item.name, by_name), std::move(item));
                added.clear();
            }
        }
        if (!added.empty()) {
            std::vector<T> merged;
            merged.reserve(list.size() + added.size());
            std::merge(std::make_move_iterator(list.begin()), std::make_move_iterator(list.end()),
                       std::make_move_iterator(added.begin()), std::make_move_iterator(added.end()),
                       std::back_inserter(merged), name_less);
            list = std::move(merged);
        }
        if (!deletes.empty()) {
            std::vector<bool> gone(list.size());
            size_t removed = 0;
            for (const std::string& name : deletes) {
                auto at = std::lower_bound(list.begin(), list.end(), name, by_name);
                if (at != list.end() && at->name == name && !gone[static_cast<size_t>(at - list.begin())]) {
                    changed.push_back(name);
                    gone[static_cast<size_t>(at - list.begin())] = true;
                    ++removed;
                }
            }
            if (removed > 0) {
                size_t kept = 0;
                for (size_t i = 0; i < list.size(); ++i) {
                    if (gone[i])
                        continue;
                    if (kept != i)
                        list[kept] = std::move(list[i]);
                    ++kept;
                }
                list.erase(list.begin() + static_cast<std::ptrdiff_t>(kept), list.end());
            }
        }
    }
    std::sort(changed.begin(), changed.end());
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
    return changed;
}

} // namespace podlane
