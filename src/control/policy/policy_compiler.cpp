#include "control/policy/policy_compiler.h"

#include <algorithm>
#include <set>

#include "control/tables/identity.h"

namespace podlane {

namespace {

constexpr uint8_t kTcp = 6, kUdp = 17, kSctp = 132;
/// Port ranges up to this many ports become exact entries; wider ones a range scan.
constexpr uint32_t kExpandRange = 64;

/// A namespace's labels as a pod's label set carries them.
std::map<std::string, std::string> namespace_labels(const std::map<std::string, std::string>& labels) {
    std::map<std::string, std::string> ns{{"kubernetes.io/metadata.name", policy_namespace_of(labels)}};
    const std::string prefix = kNamespaceLabelPrefix;
    for (const auto& [k, v] : labels)
        if (k.rfind(prefix, 0) == 0)
            ns[k.substr(prefix.size())] = v;
    return ns;
}

/// Collects one direction of one endpoint.
class DirBuilder {
public:
    void allow(uint32_t identity, uint8_t proto, uint16_t lo, uint16_t hi) {
        if (proto == 0 && lo != 0) { // Cilium's ANY with a port: TCP, UDP and SCTP
            for (uint8_t p : {kTcp, kUdp, kSctp})
                allow(identity, p, lo, hi);
            return;
        }
        if (lo == 0 || hi <= lo) {
            keys_.insert(policy_key(identity, proto, lo));
            return;
        }
        if (uint32_t{hi} - lo < kExpandRange) {
            for (uint32_t p = lo; p <= hi; ++p)
                keys_.insert(policy_key(identity, proto, static_cast<uint16_t>(p)));
            return;
        }
        ranges_.push_back(PolicyRange{identity, proto, lo, hi});
    }
    void allow_cidr(const PolicyPeer& peer, uint8_t proto, uint16_t lo, uint16_t hi) {
        if (proto == 0 && lo != 0) {
            for (uint8_t p : {kTcp, kUdp, kSctp})
                allow_cidr(peer, p, lo, hi);
            return;
        }
        PolicyCidrRule r;
        r.net = peer.cidr.addr.host() & peer.cidr.mask_host();
        r.mask = peer.cidr.mask_host();
        r.except_begin = static_cast<uint32_t>(excepts_.size());
        for (const Ipv4Prefix& e : peer.except)
            excepts_.push_back(PolicyPrefixHost{e.addr.host() & e.mask_host(), e.mask_host()});
        r.except_end = static_cast<uint32_t>(excepts_.size());
        r.proto = proto;
        r.lo = lo;
        r.hi = hi < lo ? lo : hi;
        cidrs_.push_back(r);
    }
    uint32_t entries() const { return static_cast<uint32_t>(keys_.size() + ranges_.size() + cidrs_.size()); }
    void build(PolicyDirTable& t, bool enforce) {
        t.enforce = enforce;
        std::vector<uint64_t> keys(keys_.begin(), keys_.end());
        t.keys = KeyMap64(keys);
        t.shapes = 0;
        for (uint64_t k : keys) {
            const bool any = (k >> 32) == kPolicyAnyIdentity;
            const bool has_proto = ((k >> 16) & 0xff) != 0;
            const bool has_port = (k & 0xffff) != 0;
            const uint8_t shape = has_port ? kShapeIdPort : has_proto ? kShapeIdProto : kShapeId;
            t.shapes |= any ? static_cast<uint8_t>(shape << 3) : shape;
        }
        t.ranges = ranges_;
        t.cidrs = cidrs_;
        t.excepts = excepts_;
    }

private:
    std::set<uint64_t> keys_;
    std::vector<PolicyRange> ranges_;
    std::vector<PolicyCidrRule> cidrs_;
    std::vector<PolicyPrefixHost> excepts_;
};

struct PortSpan {
    uint8_t proto;
    uint16_t lo, hi;
};

/// A rule's ports as spans; named ports resolved against `named` (a port
/// name the destination does not have allows nothing, as in Kubernetes).
std::vector<PortSpan> port_spans(const std::vector<PolicyPort>& ports,
                                 const std::map<std::string, std::pair<uint8_t, uint16_t>>* named) {
    std::vector<PortSpan> out;
    if (ports.empty()) {
        out.push_back(PortSpan{0, 0, 0});
        return out;
    }
    for (const PolicyPort& p : ports) {
        if (!p.name.empty()) {
            if (named == nullptr)
                continue;
            auto it = named->find(p.name);
            if (it != named->end() && (p.proto == 0 || p.proto == it->second.first))
                out.push_back(PortSpan{it->second.first, it->second.second, it->second.second});
            continue;
        }
        out.push_back(PortSpan{p.proto, p.port, p.end_port == 0 ? p.port : p.end_port});
    }
    return out;
}

/// The identities an entity stands for (kPolicyAnyIdentity for "all").
std::vector<uint32_t> entity_identities(const std::string& entity, const std::vector<KnownIdentity>& known) {
    if (entity == "all")
        return {kPolicyAnyIdentity};
    if (entity == "world" || entity == "world-ipv4")
        return {kIdentityWorld, kIdentityWorldIpv4};
    if (entity == "host")
        return {kIdentityHost};
    if (entity == "remote-node")
        return {kIdentityRemoteNode};
    if (entity == "health")
        return {kIdentityHealth};
    if (entity == "init")
        return {kIdentityInit};
    if (entity == "unmanaged")
        return {kIdentityUnmanaged};
    if (entity == "kube-apiserver")
        return {kIdentityKubeApiServer};
    // cluster: everything but world
    std::vector<uint32_t> ids{kIdentityHost, kIdentityRemoteNode, kIdentityHealth, kIdentityInit, kIdentityUnmanaged,
                              kIdentityKubeApiServer, kIdentityIngress};
    for (const KnownIdentity& k : known)
        ids.push_back(k.id);
    return ids;
}

void compile_rule(const PolicyConfig& pol, const PolicyRule& rule, const PolicyEndpoint& ep, PolicyDirection dir,
                  const PolicyInputs& in, DirBuilder& b) {
    // Named ports: ingress resolves against the endpoint itself; egress
    // against the destination, which only a local endpoint names here.
    const bool ingress = dir == PolicyDirection::Ingress;
    auto allow_ids = [&](const std::vector<uint32_t>& ids, const std::map<std::string, std::pair<uint8_t, uint16_t>>* named) {
        for (const PortSpan& s : port_spans(rule.ports, named))
            for (uint32_t id : ids)
                b.allow(id, s.proto, s.lo, s.hi);
    };
    const auto* own_named = ingress ? &ep.named_ports : nullptr;
    auto named_of_identity = [&](uint32_t id) -> const std::map<std::string, std::pair<uint8_t, uint16_t>>* {
        for (const PolicyEndpoint& e : in.endpoints)
            if (e.identity == id)
                return &e.named_ports;
        return nullptr;
    };
    if (rule.all_peers) {
        allow_ids({kPolicyAnyIdentity}, own_named);
        return;
    }
    for (const PolicyPeer& peer : rule.peers) {
        switch (peer.kind) {
        case PolicyPeer::Kind::Pods: {
            std::set<uint32_t> ids;
            for (const KnownIdentity& k : in.identities)
                if (policy_peer_selects(pol.ns, peer, k.labels))
                    ids.insert(k.id);
            if (ingress) {
                allow_ids(std::vector<uint32_t>(ids.begin(), ids.end()), own_named);
            } else {
                for (uint32_t id : ids)
                    allow_ids({id}, named_of_identity(id));
            }
            break;
        }
        case PolicyPeer::Kind::Entity:
            allow_ids(entity_identities(peer.entity, in.identities), own_named);
            break;
        case PolicyPeer::Kind::Cidr:
            for (const PortSpan& s : port_spans(rule.ports, own_named))
                b.allow_cidr(peer, s.proto, s.lo, s.hi);
            break;
        }
    }
}

} // namespace

std::string policy_namespace_of(const std::map<std::string, std::string>& labels) {
    auto it = labels.find(kPodNamespaceLabel);
    return it == labels.end() || it->second.empty() ? "default" : it->second;
}

bool policy_peer_selects(const std::string& policy_ns, const PolicyPeer& peer,
                         const std::map<std::string, std::string>& labels) {
    if (peer.kind != PolicyPeer::Kind::Pods)
        return false;
    if (peer.pods && !peer.pods->matches(labels))
        return false;
    if (!peer.namespaces)
        return policy_namespace_of(labels) == policy_ns;
    return peer.namespaces->matches(namespace_labels(labels));
}

std::string policy_display_name(const PolicyConfig& p) {
    return std::string(p.kind == PolicyKind::NetworkPolicy ? "NetworkPolicy " : "CiliumNetworkPolicy ") + p.key();
}

CompiledPolicy compile_policy(const PolicyInputs& in, uint64_t revision) {
    auto t = std::make_shared<PolicyTables>();
    t->revision = revision;
    CompiledPolicy out;
    std::vector<Ipv4Addr> ips;
    for (const PolicyEndpoint& ep : in.endpoints) {
        EndpointPolicyView view{ep.id, ep.ip, ep.identity, {false, false}, {}, {0, 0}};
        EndpointPolicy table;
        const std::string ns = policy_namespace_of(ep.labels);
        for (int d = 0; d < 2; ++d) {
            const auto dir = static_cast<PolicyDirection>(d);
            DirBuilder b;
            bool enforce = false;
            for (const PolicyConfig& pol : in.policies) {
                const bool selects_dir = dir == PolicyDirection::Ingress ? pol.ingress : pol.egress;
                if (!selects_dir || pol.ns != ns || !pol.subject.matches(ep.labels))
                    continue;
                enforce = true;
                view.selected_by[d].push_back(policy_display_name(pol));
                for (const PolicyRule& r : dir == PolicyDirection::Ingress ? pol.ingress_rules : pol.egress_rules)
                    compile_rule(pol, r, ep, dir, in, b);
            }
            view.enforce[d] = enforce;
            view.allow_entries[d] = b.entries();
            b.build(table.dir[d], enforce);
            t->any_enforced |= enforce;
        }
        ips.push_back(ep.ip);
        t->endpoints.push_back(std::move(table));
        out.endpoints.push_back(std::move(view));
    }
    t->endpoint_index = Ipv4Map(ips);
    std::vector<Ipv4Addr> peer_ips;
    for (const PeerAddress& p : in.peers) {
        peer_ips.push_back(p.ip);
        t->peer_identity.push_back(p.identity);
    }
    t->peer_index = Ipv4Map(peer_ips);
    out.tables = std::move(t);
    return out;
}

PolicyInputs policy_inputs(const Config& config, const std::vector<EndpointConfig>& local_endpoints) {
    PolicyInputs in;
    in.policies = config.policies;
    std::map<uint32_t, std::map<std::string, std::string>> ids;
    for (const EndpointConfig& ep : local_endpoints) {
        const uint32_t id = identity_for_labels(ep.labels);
        in.endpoints.push_back(PolicyEndpoint{ep.id, ep.ip, id, ep.labels, ep.named_ports});
        ids.emplace(id, ep.labels);
    }
    for (const RemoteEndpointConfig& r : config.remote_endpoints) {
        ids.emplace(r.identity, r.labels);
        in.peers.push_back(PeerAddress{r.ip, r.identity});
    }
    for (const auto& [id, labels] : ids)
        in.identities.push_back(KnownIdentity{id, labels});
    for (const PeerNodeConfig& n : config.nodes)
        if (!n.ip.is_zero())
            in.peers.push_back(PeerAddress{n.ip, kIdentityRemoteNode});
    if (!config.node_ip.is_zero())
        in.peers.push_back(PeerAddress{config.node_ip, kIdentityHost});
    if (!config.network.gateway_ip.is_zero())
        in.peers.push_back(PeerAddress{config.network.gateway_ip, kIdentityHost});
    return in;
}

} // namespace podlane
