#include "control/sources/k8s/k8s_cache.h"

#include <utility>

namespace podlane {

using Json = nlohmann::json;

std::optional<CiliumKind> cilium_kind(K8sResource r) {
    switch (r) {
    case K8sResource::CiliumBgpClusterConfigs: return CiliumKind::BgpClusterConfig;
    case K8sResource::CiliumBgpPeerConfigs: return CiliumKind::BgpPeerConfig;
    case K8sResource::CiliumBgpAdvertisements: return CiliumKind::BgpAdvertisement;
    case K8sResource::CiliumLoadBalancerIPPools: return CiliumKind::LoadBalancerIPPool;
    default: return std::nullopt;
    }
}

const char* resource_name(K8sResource r) {
    if (auto k = cilium_kind(r))
        return cilium_kind_plural(*k);
    switch (r) {
    case K8sResource::Nodes: return "nodes";
    case K8sResource::Services: return "services";
    case K8sResource::EndpointSlices: return "endpointslices";
    default: return "unknown";
    }
}

std::string resource_path(K8sResource r) {
    if (r == K8sResource::EndpointSlices)
        return "/apis/discovery.k8s.io/v1/endpointslices";
    if (cilium_kind(r))
        return std::string("/apis/cilium.io/v2/") + resource_name(r);
    return std::string("/api/v1/") + resource_name(r);
}

K8sCache::K8sCache(ConvertSettings settings, const Config& file) : settings_(std::move(settings)) {
    file_.node_name = file.node_name;
    file_.node_ip = file.node_ip;
    file_.bgp = file.bgp;
    file_.lb_ipam = file.lb_ipam;
}

void K8sCache::apply_absent(K8sResource r) {
    if (auto k = cilium_kind(r); k && !cilium_.of(*k).empty()) {
        cilium_.of(*k).clear();
        policy_dirty_ = true;
    }
    rv_[index(r)].clear();
    listed_[index(r)] = true;
}

void K8sCache::add_policy(ClusterDelta& d) {
    CiliumPolicy policy = convert_cilium_objects(
        cilium_, CiliumNodeFacts{.name = settings_.node_name, .ip = settings_.node_ip, .labels = own_labels_});
    add_file_policy(file_, policy);
    for (const std::string& p : policy.problems)
        if (std::find(policy_problems_.begin(), policy_problems_.end(), p) == policy_problems_.end())
            problems_.push_back(p);
    policy_problems_ = policy.problems;
    d.bgp_instances = std::move(policy.bgp_instances);
    d.lb_ipam = std::move(policy.lb_ipam);
    policy_dirty_ = false;
}

std::string watch_target(K8sResource r, const std::string& resource_version, unsigned timeout_s) {
    // resourceVersions are opaque digits-and-letters strings; nothing to escape.
    return resource_path(r) + "?watch=1&resourceVersion=" + resource_version +
           "&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(timeout_s);
}

namespace {

/// How problems name an object: "Service shop/web".
std::string label(K8sResource r, const std::string& key) {
    if (auto k = cilium_kind(r))
        return std::string(cilium_kind_name(*k)) + " " + key;
    switch (r) {
    case K8sResource::Nodes: return "Node " + key;
    case K8sResource::Services: return "Service " + key;
    case K8sResource::EndpointSlices: return "EndpointSlice " + key;
    default: return key;
    }
}

} // namespace

Result<void> K8sCache::apply_list(K8sResource r, const Json& list) {
    const auto items = list.is_object() ? list.find("items") : Json::const_iterator();
    if (!list.is_object() || items == list.end() || !(items->is_array() || items->is_null()))
        return make_error(std::string("the ") + resource_name(r) + " list has no items");
    const std::string rv = object_resource_version(list);
    if (rv.empty())
        return make_error(std::string("the ") + resource_name(r) + " list has no metadata.resourceVersion");
    switch (r) {
    case K8sResource::Nodes:
        for (const auto& [name, node] : nodes_)
            dirty_nodes_.insert(name);
        nodes_.clear();
        break;
    case K8sResource::Services:
        for (const auto& [key, svc] : services_)
            dirty_services_.insert(key);
        services_.clear();
        service_rv_.clear();
        break;
    case K8sResource::EndpointSlices:
        for (const auto& [service, keys] : slices_of_)
            dirty_services_.insert(service);
        slices_.clear();
        slices_of_.clear();
        break;
    default:
        cilium_.of(*cilium_kind(r)).clear();
        policy_dirty_ = true;
        break;
    }
    // Objects that no longer exist take their reported problems with them.
    const std::string prefix = label(r, "");
    for (auto it = reported_.lower_bound(prefix); it != reported_.end() && it->first.rfind(prefix, 0) == 0;)
        it = reported_.erase(it);
    if (items->is_array())
        for (const Json& obj : *items)
            upsert(r, obj);
    rv_[index(r)] = rv;
    listed_[index(r)] = true;
    return {};
}

WatchOutcome K8sCache::apply_event(K8sResource r, const Json& event) {
    using Kind = WatchOutcome::Kind;
    const auto type = event.is_object() ? event.find("type") : Json::const_iterator();
    const auto obj = event.is_object() ? event.find("object") : Json::const_iterator();
    if (!event.is_object() || type == event.end() || !type->is_string() || obj == event.end() || !obj->is_object())
        return {Kind::Failed, "not a watch event: " + event.dump().substr(0, 200)};
    const std::string t = type->get<std::string>();
    if (t == "ERROR") { // a Status object
        const auto c = obj->find("code");
        const auto m = obj->find("message");
        const int64_t code = c != obj->end() && c->is_number_integer() ? c->get<int64_t>() : 0;
        const std::string message = m != obj->end() && m->is_string() ? m->get<std::string>() : "(no message)";
        if (code == 410)
            return {Kind::Expired, message};
        return {Kind::Failed, "watch error " + std::to_string(code) + ": " + message};
    }
    const std::string rv = object_resource_version(*obj);
    if (t == "BOOKMARK") {
        if (!rv.empty())
            rv_[index(r)] = rv;
        return {Kind::Bookmark, ""};
    }
    if (t == "ADDED" || t == "MODIFIED")
        upsert(r, *obj);
    else if (t == "DELETED")
        remove(r, object_key(*obj));
    else
        return {Kind::Failed, "unknown watch event type \"" + t + "\""};
    if (!rv.empty())
        rv_[index(r)] = rv;
    return {Kind::Applied, ""};
}

void K8sCache::upsert(K8sResource r, const Json& obj) {
    const std::string key = object_key(obj);
    auto report = [&](const std::string& problem) {
        std::string& last = reported_[label(r, key)];
        if (last != problem)
            problems_.push_back(problem + " (skipped)");
        last = problem;
    };
    if (auto k = cilium_kind(r)) { // converted together, by take_delta
        cilium_.of(*k).insert_or_assign(key, obj);
        policy_dirty_ = true;
        return;
    }
    switch (r) {
    case K8sResource::Nodes: {
        if (key == settings_.node_name) { // this node: its labels select BGP configs
            LabelMap labels;
            const auto meta = obj.find("metadata");
            if (meta != obj.end() && meta->is_object() && meta->contains("labels") && (*meta)["labels"].is_object())
                for (const auto& [k, v] : (*meta)["labels"].items())
                    if (v.is_string())
                        labels[k] = v.get<std::string>();
            if (labels != own_labels_) {
                own_labels_ = std::move(labels);
                policy_dirty_ = true;
            }
        }
        auto node = convert_node(obj, settings_);
        if (!node) {
            report(node.error().message);
            if (nodes_.erase(key))
                dirty_nodes_.insert(key);
        } else if (*node) {
            reported_.erase(label(r, key));
            dirty_nodes_.insert(key);
            nodes_.insert_or_assign(key, std::move(**node));
        }
        break;
    }
    case K8sResource::Services: {
        auto svc = convert_service(obj, settings_);
        dirty_services_.insert(key);
        service_rv_[key] = object_resource_version(obj);
        if (!svc)
            report(svc.error().message);
        else
            reported_.erase(label(r, key)); // build_service reports what it left out
        if (svc && *svc)
            services_.insert_or_assign(key, std::move(**svc));
        else
            services_.erase(key);
        break;
    }
    case K8sResource::EndpointSlices: {
        auto slice = convert_endpoint_slice(obj);
        if (!slice) {
            report(slice.error().message);
            remove_slice(key);
        } else {
            reported_.erase(label(r, key));
            upsert_slice(key, std::move(*slice));
        }
        break;
    }
    default:
        break;
    }
}

void K8sCache::remove(K8sResource r, const std::string& key) {
    reported_.erase(label(r, key));
    if (auto k = cilium_kind(r)) {
        policy_dirty_ |= cilium_.of(*k).erase(key) > 0;
        return;
    }
    switch (r) {
    case K8sResource::Nodes:
        if (nodes_.erase(key))
            dirty_nodes_.insert(key);
        break;
    case K8sResource::Services:
        services_.erase(key);
        service_rv_.erase(key);
        dirty_services_.insert(key);
        break;
    case K8sResource::EndpointSlices:
        remove_slice(key);
        break;
    default:
        break;
    }
}

void K8sCache::upsert_slice(const std::string& key, K8sEndpointSlice slice) {
    remove_slice(key); // its service label may have changed
    if (!slice.service.empty()) {
        slices_of_[slice.service].insert(key);
        dirty_services_.insert(slice.service);
    }
    slices_.insert_or_assign(key, std::move(slice));
}

void K8sCache::remove_slice(const std::string& key) {
    auto it = slices_.find(key);
    if (it == slices_.end())
        return;
    const std::string& service = it->second.service;
    if (!service.empty()) {
        dirty_services_.insert(service);
        auto of = slices_of_.find(service);
        if (of != slices_of_.end()) {
            of->second.erase(key);
            if (of->second.empty())
                slices_of_.erase(of);
        }
    }
    slices_.erase(it);
}

std::optional<ServiceConfig> K8sCache::build_service(const std::string& key) {
    auto svc = services_.find(key);
    if (svc == services_.end())
        return std::nullopt;
    std::vector<const K8sEndpointSlice*> slices;
    if (auto of = slices_of_.find(key); of != slices_of_.end())
        for (const std::string& slice : of->second)
            slices.push_back(&slices_.at(slice));
    std::vector<std::string> notes = svc->second.notes;
    auto joined = join_service(svc->second, slices, notes);
    std::string problem;
    for (const std::string& n : notes)
        problem += (problem.empty() ? "Service " + key + ": " : "; ") + n;
    if (!joined)
        problem = joined.error().message;
    std::string& last = reported_[label(K8sResource::Services, key)];
    if (!problem.empty() && last != problem)
        problems_.push_back(problem + (joined ? "" : " (skipped)"));
    last = problem;
    if (!joined)
        return std::nullopt;
    return std::move(*joined);
}

ClusterDelta K8sCache::take_delta(bool replace) {
    ClusterDelta d;
    d.replace = replace;
    if (replace) {
        sent_nodes_ = nodes_;
        sent_services_.clear();
        for (const auto& [key, svc] : services_)
            if (auto built = build_service(key))
                sent_services_.emplace(key, std::move(*built));
        for (const auto& [name, node] : sent_nodes_)
            d.upsert_nodes.push_back(node);
        for (const auto& [key, svc] : sent_services_)
            d.upsert_services.push_back(svc);
    } else {
        for (const std::string& name : dirty_nodes_) {
            auto now = nodes_.find(name);
            auto sent = sent_nodes_.find(name);
            if (now != nodes_.end() && (sent == sent_nodes_.end() || !(sent->second == now->second))) {
                d.upsert_nodes.push_back(now->second);
                sent_nodes_.insert_or_assign(name, now->second);
            } else if (now == nodes_.end() && sent != sent_nodes_.end()) {
                d.delete_nodes.push_back(name);
                sent_nodes_.erase(sent);
            }
        }
        for (const std::string& key : dirty_services_) {
            auto now = build_service(key);
            auto sent = sent_services_.find(key);
            if (now && (sent == sent_services_.end() || !(sent->second == *now))) {
                d.upsert_services.push_back(*now);
                sent_services_.insert_or_assign(key, std::move(*now));
            } else if (!now && sent != sent_services_.end()) {
                d.delete_services.push_back(key);
                sent_services_.erase(sent);
            }
        }
    }
    dirty_nodes_.clear();
    dirty_services_.clear();
    if (replace || policy_dirty_)
        add_policy(d);
    return d;
}

std::vector<std::string> K8sCache::take_problems() { return std::exchange(problems_, {}); }

} // namespace podlane
