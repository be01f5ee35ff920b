// Cilium's cilium.io/v2 BGP and LB IPAM objects to podlane's config
// (cilium_policy.h). Field names are Cilium's (docs.cilium.io, "BGP Control
// Plane Resources" and "LoadBalancer IP Address Management").
#include "control/sources/cilium/cilium_policy.h"

#include <algorithm>
#include <tuple>

namespace podlane {

using Json = nlohmann::json;

namespace {

/// A key that does not convert; caught per object.
struct Bad {
    std::string text;
};

[[noreturn]] void fail(const std::string& path, const std::string& why) { throw Bad{path + ": " + why}; }

const Json* member(const Json& obj, const char* key) {
    if (!obj.is_object())
        return nullptr;
    auto it = obj.find(key);
    return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::string join(const std::string& path, const char* key) { return path.empty() ? key : path + "." + key; }

std::string text(const Json& obj, const char* key, const std::string& path, bool required = false) {
    const Json* v = member(obj, key);
    if (!v) {
        if (required)
            fail(join(path, key), "required key is missing");
        return "";
    }
    if (!v->is_string())
        fail(join(path, key), "expected a string, got " + v->dump());
    return v->get<std::string>();
}

std::optional<int64_t> integer(const Json& obj, const char* key, const std::string& path, int64_t lo, int64_t hi,
                               bool required = false) {
    const Json* v = member(obj, key);
    if (!v) {
        if (required)
            fail(join(path, key), "required key is missing");
        return std::nullopt;
    }
    if (!v->is_number_integer())
        fail(join(path, key), "expected an integer, got " + v->dump());
    const int64_t n = v->get<int64_t>();
    if (n < lo || n > hi)
        fail(join(path, key), std::to_string(n) + " is out of range: expected " + std::to_string(lo) + ".." +
                                  std::to_string(hi));
    return n;
}

bool flag(const Json& obj, const char* key, const std::string& path, bool fallback) {
    const Json* v = member(obj, key);
    if (!v)
        return fallback;
    if (!v->is_boolean())
        fail(join(path, key), "expected true or false, got " + v->dump());
    return v->get<bool>();
}

std::vector<const Json*> list(const Json& obj, const char* key, const std::string& path) {
    std::vector<const Json*> out;
    const Json* v = member(obj, key);
    if (!v)
        return out;
    if (!v->is_array())
        fail(join(path, key), "expected a list, got " + v->dump());
    for (const Json& item : *v)
        out.push_back(&item);
    return out;
}

std::string at(const std::string& path, const char* key, size_t i) {
    return join(path, key) + "[" + std::to_string(i) + "]";
}

LabelMap labels_of(const Json& obj, const std::string& path) {
    LabelMap out;
    if (obj.is_null())
        return out;
    if (!obj.is_object())
        fail(path, "expected a mapping of label names to values, got " + obj.dump());
    for (const auto& [k, v] : obj.items()) {
        if (!v.is_string())
            fail(path + "." + k, "expected a string, got " + v.dump());
        out[k] = v.get<std::string>();
    }
    return out;
}

LabelSelector selector(const Json& j, const std::string& path) {
    if (!j.is_object())
        fail(path, "expected a label selector (matchLabels, matchExpressions), got " + j.dump());
    LabelSelector sel;
    if (const Json* m = member(j, "matchLabels"))
        sel.match_labels = labels_of(*m, join(path, "matchLabels"));
    const auto exprs = list(j, "matchExpressions", path);
    for (size_t i = 0; i < exprs.size(); ++i) {
        const std::string p = at(path, "matchExpressions", i);
        LabelRequirement r;
        r.key = text(*exprs[i], "key", p, true);
        const std::string op = text(*exprs[i], "operator", p, true);
        if (op == "In")
            r.op = LabelRequirement::Op::In;
        else if (op == "NotIn")
            r.op = LabelRequirement::Op::NotIn;
        else if (op == "Exists")
            r.op = LabelRequirement::Op::Exists;
        else if (op == "DoesNotExist")
            r.op = LabelRequirement::Op::DoesNotExist;
        else
            fail(p + ".operator", "\"" + op + "\" is not In, NotIn, Exists or DoesNotExist");
        const auto values = list(*exprs[i], "values", p);
        for (size_t k = 0; k < values.size(); ++k) {
            if (!values[k]->is_string())
                fail(at(p, "values", k), "expected a string, got " + values[k]->dump());
            r.values.push_back(values[k]->get<std::string>());
        }
        const bool sets = r.op == LabelRequirement::Op::In || r.op == LabelRequirement::Op::NotIn;
        if (sets == r.values.empty())
            fail(p + ".values", sets ? "at least one value with In and NotIn" : "no values with Exists and DoesNotExist");
        sel.match_expressions.push_back(std::move(r));
    }
    return sel;
}

Ipv4Addr address(const Json& obj, const char* key, const std::string& path) {
    const std::string s = text(obj, key, path, true);
    auto ip = Ipv4Addr::parse(s);
    if (!ip || ip->is_zero())
        fail(join(path, key), "\"" + s + "\" is not an IPv4 address (podlane is IPv4-only)");
    return *ip;
}

/// A BGP instance or peer name: it becomes part of a BIRD protocol name.
std::string bgp_name(const Json& obj, const std::string& path) {
    const std::string s = text(obj, "name", path, true);
    const bool ok = !s.empty() && s.size() <= 28 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
    if (!ok)
        fail(join(path, "name"), "\"" + s + "\" is not 1..28 characters of a-z, 0-9 and '-'");
    return s;
}

/// One CiliumBGPPeerConfig: the peer settings and the ipv4/unicast advertisement selector.
struct PeerSettings {
    BgpPeerConfig peer;                       ///< address, ASN and name left to the caller
    std::optional<LabelSelector> advertisements;
};

PeerSettings peer_settings(const Json& spec) {
    PeerSettings out;
    BgpPeerConfig& p = out.peer;
    if (const Json* t = member(spec, "timers")) {
        if (auto h = integer(*t, "holdTimeSeconds", "spec.timers", 3, 65535))
            p.hold_time_s = static_cast<uint32_t>(*h);
        if (auto k = integer(*t, "keepAliveTimeSeconds", "spec.timers", 1, 65535))
            p.keepalive_time_s = static_cast<uint32_t>(*k);
        else
            p.keepalive_time_s = std::min(p.keepalive_time_s, std::max(1u, p.hold_time_s / 3));
        integer(*t, "connectRetryTimeSeconds", "spec.timers", 1, 2147483647); // checked; BIRD retries every 5 s
        if (p.keepalive_time_s >= p.hold_time_s)
            fail("spec.timers.keepAliveTimeSeconds", std::to_string(p.keepalive_time_s) +
                                                       " is not less than holdTimeSeconds (" +
                                                       std::to_string(p.hold_time_s) + ")");
    }
    if (auto m = integer(spec, "ebgpMultihop", "spec", 1, 254))
        p.ebgp_multihop = static_cast<uint32_t>(*m);
    if (const Json* gr = member(spec, "gracefulRestart")) {
        p.graceful_restart = flag(*gr, "enabled", "spec.gracefulRestart", false);
        if (auto r = integer(*gr, "restartTimeSeconds", "spec.gracefulRestart", 1, 4095))
            p.restart_time_s = static_cast<uint32_t>(*r);
    }
    if (member(spec, "authSecretRef"))
        fail("spec.authSecretRef", "not supported: podlane reads no Secrets (give the password in bgp.instances of "
                                   "the config file)");
    const auto families = list(spec, "families", "spec");
    for (size_t i = 0; i < families.size(); ++i) {
        const std::string path = at("spec", "families", i);
        const std::string afi = text(*families[i], "afi", path, true);
        const std::string safi = text(*families[i], "safi", path, true);
        if (afi != "ipv4" || safi != "unicast")
            continue; // podlane is IPv4-only; other families are ignored
        if (const Json* a = member(*families[i], "advertisements"))
            out.advertisements = selector(*a, path + ".advertisements");
    }
    return out;
}

/// One CiliumBGPAdvertisement's spec.advertisements added to `adv`.
void add_advertisements(const Json& spec, BgpAdvertiseConfig& adv) {
    const auto list_ = list(spec, "advertisements", "spec");
    for (size_t i = 0; i < list_.size(); ++i) {
        const std::string path = at("spec", "advertisements", i);
        const std::string type = text(*list_[i], "advertisementType", path, true);
        if (type == "PodCIDR") {
            adv.pod_cidr = true;
            continue;
        }
        if (type != "Service")
            fail(path + ".advertisementType", "\"" + type + "\" is not supported (podlane: PodCIDR or Service)");
        BgpServiceAdvertisement s;
        const Json* svc = member(*list_[i], "service");
        const auto addresses = svc ? list(*svc, "addresses", path + ".service") : std::vector<const Json*>{};
        if (addresses.empty())
            fail(path + ".service.addresses", "at least one of LoadBalancerIP, ExternalIP, ClusterIP");
        for (size_t k = 0; k < addresses.size(); ++k) {
            const std::string a = addresses[k]->is_string() ? addresses[k]->get<std::string>() : addresses[k]->dump();
            if (a == "LoadBalancerIP")
                s.load_balancer_ips = true;
            else if (a == "ExternalIP")
                s.external_ips = true;
            else if (a == "ClusterIP")
                s.cluster_ips = true;
            else
                fail(at(path + ".service", "addresses", k), "\"" + a + "\" is not LoadBalancerIP, ExternalIP or ClusterIP");
        }
        const Json* sel = member(*list_[i], "selector");
        if (!sel)
            continue; // Cilium: without a selector no service is selected
        s.selector = selector(*sel, path + ".selector");
        adv.services.push_back(std::move(s));
    }
}

/// The advertisements the selector picks, by their labels (objects that do
/// not convert are reported once, by the caller's loop over all of them).
BgpAdvertiseConfig advertisements_for(const std::optional<LabelSelector>& sel, const CiliumObjects& objects) {
    BgpAdvertiseConfig adv{.pod_cidr = false};
    if (!sel)
        return adv;
    for (const auto& [name, obj] : objects.of(CiliumKind::BgpAdvertisement)) {
        const Json* meta = member(obj, "metadata");
        LabelMap labels;
        try {
            labels = meta && member(*meta, "labels") ? labels_of((*meta)["labels"], "metadata.labels") : LabelMap{};
            if (!sel->matches(labels))
                continue;
            BgpAdvertiseConfig one{.pod_cidr = false};
            if (const Json* spec = member(obj, "spec"))
                add_advertisements(*spec, one);
            adv.pod_cidr |= one.pod_cidr;
            adv.services.insert(adv.services.end(), one.services.begin(), one.services.end());
        } catch (const Bad&) {
            // left out; reported by check_advertisements
        }
    }
    return adv;
}

std::string problem(CiliumKind k, const std::string& name, const std::string& text) {
    return std::string(cilium_kind_name(k)) + " " + name + ": " + text;
}

void check_advertisements(const CiliumObjects& objects, std::vector<std::string>& problems) {
    for (const auto& [name, obj] : objects.of(CiliumKind::BgpAdvertisement)) {
        try {
            if (const Json* meta = member(obj, "metadata"); meta && member(*meta, "labels"))
                labels_of((*meta)["labels"], "metadata.labels");
            BgpAdvertiseConfig one;
            if (const Json* spec = member(obj, "spec"))
                add_advertisements(*spec, one);
        } catch (const Bad& b) {
            problems.push_back(problem(CiliumKind::BgpAdvertisement, name, b.text + " (left out)"));
        }
    }
}

std::vector<BgpInstanceConfig> instances_of(const Json& spec, const CiliumObjects& objects, const CiliumNodeFacts& node,
                                            const std::string& config_name, std::vector<std::string>& problems) {
    std::vector<BgpInstanceConfig> out;
    const auto instances = list(spec, "bgpInstances", "spec");
    for (size_t i = 0; i < instances.size(); ++i) {
        const std::string path = at("spec", "bgpInstances", i);
        BgpInstanceConfig in;
        in.name = bgp_name(*instances[i], path);
        in.local_asn = static_cast<uint32_t>(*integer(*instances[i], "localASN", path, 1, 4294967295, true));
        in.router_id = node.ip;
        if (in.router_id.is_zero())
            fail(path, "this node has no IPv4 address for a router id");
        for (const BgpInstanceConfig& before : out)
            if (before.name == in.name)
                fail(path + ".name", "\"" + in.name + "\" is used by another instance");
        const auto peers = list(*instances[i], "peers", path);
        bool have_advertise = false;
        for (size_t k = 0; k < peers.size(); ++k) {
            const std::string pp = at(path, "peers", k);
            try {
                PeerSettings settings;
                std::string ref;
                if (const Json* r = member(*peers[k], "peerConfigRef")) {
                    ref = text(*r, "name", pp + ".peerConfigRef", true);
                    const auto& pcs = objects.of(CiliumKind::BgpPeerConfig);
                    auto it = pcs.find(ref);
                    if (it == pcs.end())
                        fail(pp + ".peerConfigRef.name", "no CiliumBGPPeerConfig named \"" + ref + "\"");
                    try {
                        const Json* s = member(it->second, "spec");
                        settings = peer_settings(s ? *s : Json::object());
                    } catch (const Bad& b) {
                        fail(pp + ".peerConfigRef.name", "CiliumBGPPeerConfig " + ref + ": " + b.text);
                    }
                }
                BgpPeerConfig p = settings.peer;
                p.name = bgp_name(*peers[k], pp);
                p.address = address(*peers[k], "peerAddress", pp);
                p.peer_asn = static_cast<uint32_t>(*integer(*peers[k], "peerASN", pp, 1, 4294967295, true));
                for (const BgpPeerConfig& q : in.peers)
                    if (q.name == p.name || q.address == p.address)
                        fail(pp, "peer " + q.name + " of the instance has the same name or address");
                const BgpAdvertiseConfig adv = advertisements_for(settings.advertisements, objects);
                if (have_advertise && !(adv == in.advertise))
                    fail(pp + ".peerConfigRef",
                         "selects other advertisements than the instance's first peer: podlane advertises the same "
                         "routes to every peer of an instance");
                in.advertise = adv;
                have_advertise = true;
                in.peers.push_back(std::move(p));
            } catch (const Bad& b) {
                problems.push_back(problem(CiliumKind::BgpClusterConfig, config_name, b.text + " (peer left out)"));
            }
        }
        if (!have_advertise)
            in.advertise = BgpAdvertiseConfig{.pod_cidr = false};
        if (!in.peers.empty())
            out.push_back(std::move(in));
    }
    return out;
}

LbIpamPoolConfig pool_of(const std::string& name, const Json& spec) {
    LbIpamPoolConfig p;
    p.name = name;
    const auto blocks = list(spec, "blocks", "spec");
    for (size_t i = 0; i < blocks.size(); ++i) {
        const std::string path = at("spec", "blocks", i);
        LbIpamBlock b;
        const std::string cidr = text(*blocks[i], "cidr", path);
        if (!cidr.empty()) {
            auto pre = Ipv4Prefix::parse(cidr);
            if (!pre || pre->len == 0)
                fail(path + ".cidr", "\"" + cidr + "\" is not an IPv4 CIDR like 172.16.1.0/24 (podlane is IPv4-only)");
            b.first = pre->addr;
            b.last = Ipv4Addr::from_host(pre->addr.host() | ~pre->mask_host());
            b.cidr = true;
            b.text = cidr;
        } else {
            b.first = address(*blocks[i], "start", path);
            b.last = address(*blocks[i], "stop", path);
            if (b.first.host() > b.last.host())
                fail(path + ".stop", "below start");
            b.text = b.first.str() + "-" + b.last.str();
        }
        for (const LbIpamBlock& o : p.blocks)
            if (b.first.host() <= o.last.host() && o.first.host() <= b.last.host())
                fail(path, b.text + " overlaps this pool's " + o.text);
        p.blocks.push_back(std::move(b));
    }
    if (p.blocks.empty())
        fail("spec.blocks", "at least one block, like [{cidr: 172.16.1.0/24}]");
    const Json* first_last = member(spec, "allowFirstLastIPs");
    if (first_last) {
        const std::string v = first_last->is_string() ? first_last->get<std::string>() : first_last->dump();
        if (v != "Yes" && v != "No")
            fail("spec.allowFirstLastIPs", "\"" + v + "\" is not Yes or No");
        p.allow_first_last_ips = v == "Yes";
    }
    p.disabled = flag(spec, "disabled", "spec", false);
    if (const Json* sel = member(spec, "serviceSelector"))
        p.service_selector.labels = selector(*sel, "spec.serviceSelector");
    return p;
}

} // namespace

const char* cilium_kind_name(CiliumKind k) {
    switch (k) {
    case CiliumKind::BgpClusterConfig: return "CiliumBGPClusterConfig";
    case CiliumKind::BgpPeerConfig: return "CiliumBGPPeerConfig";
    case CiliumKind::BgpAdvertisement: return "CiliumBGPAdvertisement";
    case CiliumKind::LoadBalancerIPPool: return "CiliumLoadBalancerIPPool";
    }
    return "?";
}

const char* cilium_kind_plural(CiliumKind k) {
    switch (k) {
    case CiliumKind::BgpClusterConfig: return "ciliumbgpclusterconfigs";
    case CiliumKind::BgpPeerConfig: return "ciliumbgppeerconfigs";
    case CiliumKind::BgpAdvertisement: return "ciliumbgpadvertisements";
    case CiliumKind::LoadBalancerIPPool: return "ciliumloadbalancerippools";
    }
    return "?";
}

std::optional<CiliumKind> cilium_kind_of_plural(const std::string& plural) {
    for (CiliumKind k : kCiliumKinds)
        if (plural == cilium_kind_plural(k))
            return k;
    return std::nullopt;
}

void add_file_policy(const Config& file, CiliumPolicy& policy) {
    std::vector<BgpInstanceConfig> instances = file.bgp.instances;
    for (BgpInstanceConfig& in : policy.bgp_instances) {
        std::string clash;
        for (const BgpInstanceConfig& f : file.bgp.instances) {
            if (f.name == in.name)
                clash = "instance " + in.name + " is also in the config file's bgp.instances";
            for (const BgpPeerConfig& p : in.peers)
                for (const BgpPeerConfig& q : f.peers)
                    if (p.address == q.address && clash.empty())
                        clash = "peer " + p.address.str() + " is also a peer of the config file's instance " + f.name;
        }
        if (clash.empty())
            instances.push_back(std::move(in));
        else
            policy.problems.push_back(std::string(cilium_kind_name(CiliumKind::BgpClusterConfig)) + ": " + clash +
                                      " (left out)");
    }
    policy.bgp_instances = std::move(instances);
    LbIpamConfig pools = file.lb_ipam;
    for (LbIpamPoolConfig& p : policy.lb_ipam.pools) {
        const bool clash = std::any_of(file.lb_ipam.pools.begin(), file.lb_ipam.pools.end(),
                                       [&](const LbIpamPoolConfig& f) { return f.name == p.name; });
        if (clash)
            policy.problems.push_back(problem(CiliumKind::LoadBalancerIPPool, p.name,
                                              "the config file's lb_ipam.pools has a pool of this name (left out)"));
        else
            pools.pools.push_back(std::move(p));
    }
    policy.lb_ipam = std::move(pools);
}

Result<LabelSelector> parse_json_label_selector(const Json& j, const std::string& path) {
    try {
        return selector(j, path);
    } catch (const Bad& b) {
        return make_error(b.text);
    }
}

CiliumPolicy convert_cilium_objects(const CiliumObjects& objects, const CiliumNodeFacts& node) {
    CiliumPolicy out;
    check_advertisements(objects, out.problems);
    for (const auto& [name, obj] : objects.of(CiliumKind::BgpPeerConfig))
        try {
            const Json* s = member(obj, "spec");
            peer_settings(s ? *s : Json::object());
        } catch (const Bad& b) {
            out.problems.push_back(problem(CiliumKind::BgpPeerConfig, name, b.text));
        }
    std::string applied; // the cluster config this node uses
    for (const auto& [name, obj] : objects.of(CiliumKind::BgpClusterConfig)) {
        try {
            const Json* spec = member(obj, "spec");
            if (!spec)
                fail("spec", "required key is missing");
            if (const Json* sel = member(*spec, "nodeSelector"))
                if (!selector(*sel, "spec.nodeSelector").matches(node.labels))
                    continue;
            if (!applied.empty()) {
                out.problems.push_back(problem(CiliumKind::BgpClusterConfig, name,
                                               "also selects node " + node.name + ", which uses " + applied +
                                                   " (one applies to a node; left out)"));
                continue;
            }
            std::vector<std::string> problems;
            auto instances = instances_of(*spec, objects, node, name, problems);
            out.problems.insert(out.problems.end(), problems.begin(), problems.end());
            out.bgp_instances = std::move(instances);
            applied = name;
        } catch (const Bad& b) {
            out.problems.push_back(problem(CiliumKind::BgpClusterConfig, name, b.text + " (left out)"));
        }
    }
    // Pools oldest first: of two overlapping pools the newer is conflicting, as in Cilium.
    std::vector<std::tuple<std::string, std::string, const Json*>> pools;
    for (const auto& [name, obj] : objects.of(CiliumKind::LoadBalancerIPPool)) {
        const Json* meta = member(obj, "metadata");
        const Json* created = meta ? member(*meta, "creationTimestamp") : nullptr;
        pools.emplace_back(created && created->is_string() ? created->get<std::string>() : "", name, &obj);
    }
    std::sort(pools.begin(), pools.end());
    for (const auto& [created, name, obj] : pools) {
        try {
            const Json* spec = member(*obj, "spec");
            if (!spec)
                fail("spec", "required key is missing");
            out.lb_ipam.pools.push_back(pool_of(name, *spec));
        } catch (const Bad& b) {
            out.problems.push_back(problem(CiliumKind::LoadBalancerIPPool, name, b.text + " (left out)"));
        }
    }
    return out;
}

} // namespace podlane
