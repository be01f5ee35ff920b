// The agent's side of the CNI plugin (podlane-cni): cni.add, cni.del,
// cni.check, cni.gc, cni.list and cni.status over the IPAM store
// (control/pods/ipam_store.h) and the endpoint attach path, and the re-attachment
// of CNI pods after a restart (start_cni).
//
// Ordering: an address is recorded on disk before the pod is attached and
// released only after it is detached, so a crash in between leaves a record
// that the next start re-attaches (or releases, when the pod is gone).
#include "control/agent/agent.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "common/pending_delete.h"
#include "control/pods/cni_json.h"
#include "control/pods/cni_endpoint_id.h"
#include "control/ports/netlink.h"
#include "control/pods/pod_check.h"

namespace podlane {

namespace {

/// Where vhost-user sockets go when the request names no directory.
constexpr const char* kDefaultVhostSocketDir = "/run/podlane/vhost";
/// The label that carries the pod's namespace (Cilium's k8s:io.kubernetes.pod.namespace).
constexpr const char* kNamespaceLabel = "io.kubernetes.pod.namespace";

bool is_socket(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

} // namespace

Result<IpamStore*> Agent::cni_store() {
    if (!ipam_store_) {
        auto store = IpamStore::open(config_.ipam.state_dir, config_.network.pod_cidr, config_.network.gateway_ip);
        if (!store)
            return make_error("ipam.state_dir: " + store.error().message);
        ipam_store_ = std::move(*store);
        for (const std::string& d : ipam_store_->dropped())
            std::fprintf(stderr, "podlaned: cni: dropped the recorded attachment %s\n", d.c_str());
    }
    return ipam_store_.get();
}

Result<void> Agent::start_cni() {
    if (!IpamStore::has_state(config_.ipam.state_dir))
        return {}; // no pod was ever attached through CNI here
    auto store = cni_store();
    if (!store)
        return store.error();
    std::vector<CniKey> gone;
    size_t attached = 0, failed = 0;
    for (const auto& [key, a] : (*store)->attachments()) {
        if (!resolve_netns_path(a.netns)) {
            gone.push_back(key); // the pod went away while podlaned was down
            continue;
        }
        if (auto r = attach_cni(a); !r) {
            ++failed; // kept: CHECK reports it, DEL releases it
            std::fprintf(stderr, "podlaned: cni: cannot re-attach %s (%s): %s\n", a.endpoint_id.c_str(),
                         a.ip.str().c_str(), r.error().message.c_str());
        } else {
            ++attached;
        }
    }
    for (const CniKey& key : gone) {
        std::fprintf(stderr, "podlaned: cni: %s: network namespace gone, releasing its address\n", key.str().c_str());
        if (auto r = (*store)->release(key); !r)
            return r.error();
    }
    std::printf("podlaned: cni: re-attached %zu pod(s) from %s (%zu released, %zu failed)\n", attached,
                config_.ipam.state_dir.c_str(), gone.size(), failed);
    std::fflush(stdout);
    return {};
}

Result<Json> Agent::attach_cni(const CniAttachment& a) {
    EndpointConfig ep;
    ep.id = a.endpoint_id;
    ep.ip = a.ip;
    ep.mac = a.mac;
    ep.netns = a.netns;
    ep.ifname = a.key.ifname;
    ep.labels = a.labels;
    ep.host_ports = a.host_ports;
    ep.vhost_socket = a.vhost_socket;
    return endpoint_add(ep);
}

Json Agent::cni_result(const CniAttachment& a) const {
    return Json{{"endpoint_id", a.endpoint_id},
                {"ip", a.ip.str()},
                {"prefix_len", 32},
                {"gateway", config_.network.gateway_ip.str()},
                {"mac", a.mac.str()},
                {"mtu", config_.network.pod_mtu},
                {"ifname", a.key.ifname},
                {"netns", a.netns},
                {"vhost_socket", a.vhost_socket}};
}

Result<Json> Agent::cni_add(const CniAddRequest& req) {
    auto store = cni_store();
    if (!store)
        return store.error();
    if (const CniAttachment* known = (*store)->find(req.key)) {
        auto ep = endpoints_.find(known->endpoint_id);
        if (known->netns == req.netns && ep != endpoints_.end() && ep->second.spec.ip == known->ip)
            return cni_result(*known); // a retried ADD: the same answer
        return make_error("container " + req.key.container_id + " already has " + req.key.ifname + " (" +
                          known->ip.str() + " in " + known->netns + "); DEL it first");
    }
    if (auto netns = resolve_netns_path(req.netns); !netns)
        return netns.error();

    CniAttachment a;
    a.key = req.key;
    a.netns = req.netns;
    a.pod_namespace = req.pod_namespace;
    a.pod_name = req.pod_name;
    a.endpoint_id = cni_endpoint_id(req, [this](const std::string& id) { return endpoints_.count(id) != 0; });
    a.labels = req.labels;
    if (!req.pod_namespace.empty())
        a.labels[kNamespaceLabel] = req.pod_namespace;
    a.host_ports = req.host_ports;
    if (req.vhost) {
        const std::string dir = req.vhost_socket_dir.empty() ? kDefaultVhostSocketDir : req.vhost_socket_dir;
        a.vhost_socket = dir + "/" + req.key.container_id.substr(0, 12) + "-" + req.key.ifname + ".sock";
        for (const auto& [key, other] : (*store)->attachments())
            if (other.vhost_socket == a.vhost_socket)
                return make_error("vhost-user socket " + a.vhost_socket + " is already used by " + key.str());
    }
    if (auto it = endpoints_.find(a.endpoint_id); it != endpoints_.end())
        return make_error("endpoint \"" + a.endpoint_id + "\" already exists (" + it->second.spec.ip.str() + " in " +
                          it->second.spec.netns + ")");

    auto taken = [this](Ipv4Addr ip) {
        return std::any_of(endpoints_.begin(), endpoints_.end(),
                           [ip](const auto& e) { return e.second.spec.ip == ip; });
    };
    if (req.mac)
        a.mac = *req.mac;
    // A new ADD of this key supersedes a DEL recorded while podlaned was down.
    (void)forget_pending_delete(pending_delete_dir(config_.api.socket), PendingDelete{req.key.container_id, req.key.ifname});
    auto allocated = (*store)->allocate(std::move(a), req.ip, taken);
    if (!allocated)
        return allocated.error();
    if (auto r = attach_cni(*allocated); !r) {
        if (auto released = (*store)->release(allocated->key); !released)
            std::fprintf(stderr, "podlaned: cni: %s\n", released.error().message.c_str());
        return r.error();
    }
    return cni_result(*allocated);
}

Result<Json> Agent::cni_del(const CniKey& key) {
    auto store = cni_store();
    if (!store)
        return store.error();
    const CniAttachment* a = (*store)->find(key);
    if (a == nullptr)
        return Json{{"released", false}}; // DEL is idempotent
    const Ipv4Addr ip = a->ip;
    if (auto ep = endpoints_.find(a->endpoint_id); ep != endpoints_.end() && ep->second.spec.ip == ip)
        if (auto r = endpoint_delete(a->endpoint_id); !r)
            return r.error();
    if (auto r = (*store)->release(key); !r)
        return r.error();
    return Json{{"released", true}, {"ip", ip.str()}};
}

void Agent::release_pending_cni_deletes() {
    const std::string dir = pending_delete_dir(config_.api.socket);
    const std::vector<PendingDelete> pending = list_pending_deletes(dir);
    size_t released = 0;
    for (const PendingDelete& d : pending) {
        auto r = cni_del(CniKey{d.container_id, d.ifname});
        if (!r) {
            std::fprintf(stderr, "podlaned: cni: pending DEL of %s/%s: %s (kept for the next start)\n",
                         d.container_id.c_str(), d.ifname.c_str(), r.error().message.c_str());
            continue;
        }
        released += r->value("released", false) ? 1 : 0;
        if (auto f = forget_pending_delete(dir, d); !f)
            std::fprintf(stderr, "podlaned: cni: %s\n", f.error().message.c_str());
    }
    if (!pending.empty()) {
        std::printf("podlaned: cni: %zu DEL(s) recorded while podlaned was down, %zu address(es) released\n",
                    pending.size(), released);
        std::fflush(stdout);
    }
}

Result<Json> Agent::cni_check(const CniKey& key) {
    auto store = cni_store();
    if (!store)
        return store.error();
    const CniAttachment* a = (*store)->find(key);
    if (a == nullptr)
        return Json{{"known", false}};
    Json problems = Json::array();
    auto ep = endpoints_.find(a->endpoint_id);
    if (ep == endpoints_.end() || ep->second.spec.ip != a->ip) {
        problems.push_back("podlane has no endpoint " + a->endpoint_id + " for it (was its network namespace gone?)");
    } else if (!a->vhost_socket.empty()) {
        if (!is_socket(a->vhost_socket))
            problems.push_back("the vhost-user socket " + a->vhost_socket + " is gone");
    } else {
        PodInterfaceSpec want{.host_ifname = ep->second.tap_ifname,
                              .netns_path = ep->second.netns_path,
                              .pod_ifname = a->key.ifname,
                              .mac = a->mac,
                              .ip = a->ip,
                              .gateway = config_.network.gateway_ip,
                              .mtu = config_.network.pod_mtu};
        auto seen = inspect_pod_interface(ep->second.netns_path, a->key.ifname);
        if (!seen)
            problems.push_back(seen.error().message);
        else
            for (std::string& p : pod_interface_problems(want, *seen))
                problems.push_back(std::move(p));
    }
    return Json{{"known", true}, {"attachment", cni_result(*a)}, {"problems", problems}};
}

Result<Json> Agent::cni_gc(const std::vector<CniKey>& valid) {
    auto store = cni_store();
    if (!store)
        return store.error();
    auto gone = (*store)->retain(std::set<CniKey>(valid.begin(), valid.end()));
    if (!gone)
        return gone.error();
    Json released = Json::array();
    for (const CniAttachment& a : *gone) {
        if (auto ep = endpoints_.find(a.endpoint_id); ep != endpoints_.end() && ep->second.spec.ip == a.ip)
            (void)endpoint_delete(a.endpoint_id); // exists: cannot fail
        released.push_back(attachment_json(a));
    }
    return Json{{"released", released}};
}

Result<Json> Agent::cni_list() {
    auto store = cni_store();
    if (!store)
        return store.error();
    Json list = Json::array();
    for (const auto& [key, a] : (*store)->attachments()) {
        Json j = attachment_json(a);
        auto ep = endpoints_.find(a.endpoint_id);
        j["attached"] = ep != endpoints_.end() && ep->second.spec.ip == a.ip;
        list.push_back(std::move(j));
    }
    return list;
}

Result<Json> Agent::cni_status() {
    auto store = cni_store();
    if (!store)
        return store.error();
    size_t others = 0; // endpoints not from CNI that hold an address of the PodCIDR
    for (const auto& [id, rec] : endpoints_)
        others += std::none_of((*store)->attachments().begin(), (*store)->attachments().end(),
                               [&](const auto& kv) { return kv.second.endpoint_id == id; });
    const size_t capacity = (*store)->capacity();
    const size_t used = (*store)->allocated() + others;
    return Json{{"pod_cidr", config_.network.pod_cidr.str()},
                {"gateway", config_.network.gateway_ip.str()},
                {"state_dir", (*store)->dir()},
                {"capacity", capacity},
                {"allocated", (*store)->allocated()},
                {"free", used >= capacity ? 0 : capacity - used}};
}

} // namespace podlane
