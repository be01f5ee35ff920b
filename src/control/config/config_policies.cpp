// The loader's `policies:` section: Kubernetes NetworkPolicy and
// CiliumNetworkPolicy objects as Kubernetes writes them (apiVersion, kind,
// metadata, spec), read into PolicyConfig (docs/policy.md). The same reader
// serves objects from etcd and the Kubernetes API (read_policy_object).
// Semantics after the Kubernetes API reference (NetworkPolicySpec,
// NetworkPolicyPeer, NetworkPolicyPort) and Cilium's policy language
// (docs.cilium.io, "Layer 3", "Layer 4" examples).
#include "control/config/config_reader.h"
#include "control/config/policy_config.h"

#include <set>

namespace podlane::config_detail {

namespace {

std::map<std::string, std::string> as_string_map(const Field& f, bool strip_source) {
    std::map<std::string, std::string> out;
    if (f.node.IsNull())
        return out;
    if (!f.node.IsMap())
        invalid(f, "a mapping of label keys to values, like {app: web}");
    for (const auto& kv : f.node) {
        std::string key = kv.first.Scalar();
        if (strip_source) { // Cilium label sources: k8s:app, any:app
            for (const char* src : {"k8s:", "any:"})
                if (key.rfind(src, 0) == 0)
                    key = key.substr(std::string_view(src).size());
        }
        if (!kv.second.IsScalar())
            invalid(Field{kv.second, f.path + "." + key}, "a label value (a string)");
        out[key] = kv.second.Scalar();
    }
    return out;
}

LabelSelector read_selector(const Field& f, bool cilium) {
    const Mapping m(f, {"matchLabels", "matchExpressions"});
    LabelSelector s;
    if (auto ml = m.get("matchLabels"))
        s.match_labels = as_string_map(*ml, cilium);
    if (auto me = m.get("matchExpressions")) {
        for (const Field& item : items(*me, "a list of {key, operator, values}")) {
            const Mapping e(item, {"key", "operator", "values"});
            SelectorRequirement r;
            r.key = as_nonempty(e.require("key", "a label key"));
            if (cilium)
                for (const char* src : {"k8s:", "any:"})
                    if (r.key.rfind(src, 0) == 0)
                        r.key = r.key.substr(std::string_view(src).size());
            r.op = as_enum<SelectorRequirement::Op>(e.require("operator", "In, NotIn, Exists or DoesNotExist"),
                                                    {{"In", SelectorRequirement::Op::In},
                                                     {"NotIn", SelectorRequirement::Op::NotIn},
                                                     {"Exists", SelectorRequirement::Op::Exists},
                                                     {"DoesNotExist", SelectorRequirement::Op::DoesNotExist}});
            if (auto v = e.get("values"))
                for (const Field& x : items(*v, "a list of label values"))
                    r.values.push_back(as_string(x));
            const bool needs_values = r.op == SelectorRequirement::Op::In || r.op == SelectorRequirement::Op::NotIn;
            if (needs_values && r.values.empty())
                invalid(e.require("values", "values for In/NotIn"), "at least one value for " +
                                                                        std::string(r.op == SelectorRequirement::Op::In ? "In" : "NotIn"));
            if (!needs_values && !r.values.empty())
                invalid(*e.get("values"), "no values with Exists/DoesNotExist");
            s.match_expressions.push_back(std::move(r));
        }
    }
    return s;
}

uint8_t as_protocol(const Field& f, bool cilium) {
    if (cilium)
        return as_enum<uint8_t>(f, {{"TCP", uint8_t{6}}, {"UDP", uint8_t{17}}, {"SCTP", uint8_t{132}}, {"ANY", uint8_t{0}}});
    return as_enum<uint8_t>(f, {{"TCP", uint8_t{6}}, {"UDP", uint8_t{17}}, {"SCTP", uint8_t{132}}});
}

/// A port number or (Kubernetes only, or a Cilium string that is not a number) a name.
void read_port_value(const Field& f, PolicyPort& p) {
    if (!f.node.IsScalar())
        invalid(f, "a port number 1..65535 or a port name");
    const std::string& s = f.node.Scalar();
    if (looks_like_integer(s)) {
        p.port = as_uint<uint16_t>(0, 65535)(f);
        return;
    }
    // IANA_SVC_NAME: 1..15 lower-case letters, digits and '-', a letter somewhere.
    const bool ok = !s.empty() && s.size() <= 15 && s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos &&
                    s.find_first_of("abcdefghijklmnopqrstuvwxyz") != std::string::npos;
    if (!ok)
        invalid(f, "a port number 1..65535 or a port name (1..15 of a-z, 0-9, '-')");
    p.name = s;
}

PolicyPort read_np_port(const Field& f) {
    const Mapping m(f, {"protocol", "port", "endPort"});
    PolicyPort p;
    if (auto pr = m.get("protocol"))
        p.proto = as_protocol(*pr, false);
    if (auto v = m.get("port"))
        read_port_value(*v, p);
    if (auto e = m.get("endPort")) {
        p.end_port = as_uint<uint16_t>(1, 65535)(*e);
        if (p.port == 0 || !p.name.empty())
            invalid(*e, "endPort only with a numeric port");
        if (p.end_port < p.port)
            invalid(*e, "an endPort not below port " + std::to_string(p.port));
    }
    return p;
}

std::vector<PolicyPort> read_cnp_to_ports(const Field& f) {
    std::vector<PolicyPort> out;
    for (const Field& item : items(f, "a list of {ports: [{port, protocol}]}")) {
        const Mapping pr(item, {"ports", "rules", "originatingTLS", "terminatingTLS", "serverNames", "listener"});
        for (const char* l7 : {"rules", "originatingTLS", "terminatingTLS", "serverNames", "listener"})
            if (auto x = pr.get(l7))
                fail_at(x->node, x->path, "L7 policy is not supported (podlane enforces L3/L4 only)");
        for (const Field& pf : items(pr.require("ports", "a list of {port, protocol}"), "a list of {port, protocol}")) {
            const Mapping m(pf, {"port", "protocol", "endPort"});
            PolicyPort p;
            p.proto = 0; // Cilium: protocol defaults to ANY
            if (auto pro = m.get("protocol"))
                p.proto = as_protocol(*pro, true);
            read_port_value(m.require("port", "a port like \"80\""), p);
            if (auto e = m.get("endPort")) {
                p.end_port = as_uint<uint16_t>(1, 65535)(*e);
                if (p.end_port < p.port)
                    invalid(*e, "an endPort not below port " + std::to_string(p.port));
            }
            out.push_back(p);
        }
    }
    return out;
}

Ipv4Prefix as_cidr(const Field& f) { return as_prefix(f, 0, 32, "10.0.0.0/8"); }

PolicyPeer read_ip_block(const Field& f) {
    const Mapping m(f, {"cidr", "except"});
    PolicyPeer peer;
    peer.kind = PolicyPeer::Kind::Cidr;
    peer.cidr = as_cidr(m.require("cidr", "a CIDR like 10.0.0.0/8"));
    if (auto ex = m.get("except")) {
        for (const Field& e : items(*ex, "a list of CIDRs inside cidr")) {
            const Ipv4Prefix p = as_cidr(e);
            if (p.len < peer.cidr.len || (p.addr.host() & peer.cidr.mask_host()) != peer.cidr.addr.host())
                invalid(e, "a CIDR inside " + peer.cidr.str());
            peer.except.push_back(p);
        }
    }
    return peer;
}

PolicyRule read_np_rule(const Field& f, const char* peers_key) {
    const Mapping m(f, {peers_key, "ports"});
    PolicyRule r;
    auto peers = m.get(peers_key);
    const std::vector<Field> list = peers ? items(*peers, "a list of peers") : std::vector<Field>{};
    r.all_peers = list.empty(); // "If this field is empty or missing, this rule matches all sources"
    for (const Field& pf : list) {
        const Mapping pm(pf, {"podSelector", "namespaceSelector", "ipBlock"});
        if (auto ib = pm.get("ipBlock")) {
            if (pm.get("podSelector") || pm.get("namespaceSelector"))
                invalid(pf, "ipBlock alone, or podSelector and/or namespaceSelector");
            r.peers.push_back(read_ip_block(*ib));
            continue;
        }
        PolicyPeer peer;
        auto ps = pm.get("podSelector");
        auto ns = pm.get("namespaceSelector");
        if (!ps && !ns)
            invalid(pf, "a peer with podSelector, namespaceSelector or ipBlock");
        if (ps)
            peer.pods = read_selector(*ps, false);
        if (ns)
            peer.namespaces = read_selector(*ns, false);
        r.peers.push_back(std::move(peer));
    }
    if (auto ports = m.get("ports"))
        for (const Field& p : items(*ports, "a list of {protocol, port, endPort}"))
            r.ports.push_back(read_np_port(p));
    return r;
}

/// A Cilium endpoint selector as a peer: within the policy's namespace
/// unless it names the namespace label itself.
PolicyPeer cilium_endpoints_peer(const Field& f) {
    PolicyPeer peer;
    peer.pods = read_selector(f, true);
    bool names_ns = peer.pods->match_labels.count(kPodNamespaceLabel) != 0;
    for (const auto& e : peer.pods->match_expressions)
        names_ns |= e.key == kPodNamespaceLabel;
    if (names_ns)
        peer.namespaces = LabelSelector{};
    return peer;
}

const std::set<std::string>& entities() {
    static const std::set<std::string> e{"world", "cluster", "host", "remote-node", "all", "health", "init",
                                         "unmanaged", "kube-apiserver", "world-ipv4"};
    return e;
}

PolicyRule read_cnp_rule(const Field& f, bool ingress) {
    const std::string d = ingress ? "from" : "to";
    const std::string ep = d + "Endpoints", ent = d + "Entities", cidr = d + "CIDR", cidrset = d + "CIDRSet";
    const Mapping m(f, {ep, ent, cidr, cidrset, "toPorts", "fromRequires", "toRequires", "toFQDNs", "toServices",
                        "icmps", "authentication", "toGroups", "fromGroups", "toNodes", "fromNodes"});
    for (const char* unsupported : {"fromRequires", "toRequires", "toFQDNs", "toServices", "icmps", "authentication",
                                    "toGroups", "fromGroups", "toNodes", "fromNodes"})
        if (auto x = m.get(unsupported))
            fail_at(x->node, x->path, "not supported by podlane (L3/L4 endpoints, entities, CIDRs and ports only)");
    PolicyRule r;
    bool any_peer_key = false;
    if (auto x = m.get(ep)) {
        any_peer_key = true;
        for (const Field& s : items(*x, "a list of endpoint selectors"))
            r.peers.push_back(cilium_endpoints_peer(s));
    }
    if (auto x = m.get(ent)) {
        any_peer_key = true;
        for (const Field& s : items(*x, "a list of entities like [world]")) {
            const std::string name = as_nonempty(s);
            if (!entities().count(name))
                invalid(s, "an entity: world, cluster, host, remote-node, all, health, init, unmanaged, kube-apiserver");
            PolicyPeer peer;
            peer.kind = PolicyPeer::Kind::Entity;
            peer.entity = name;
            r.peers.push_back(peer);
        }
    }
    if (auto x = m.get(cidr)) {
        any_peer_key = true;
        for (const Field& s : items(*x, "a list of CIDRs")) {
            PolicyPeer peer;
            peer.kind = PolicyPeer::Kind::Cidr;
            peer.cidr = as_cidr(s);
            r.peers.push_back(peer);
        }
    }
    if (auto x = m.get(cidrset)) {
        any_peer_key = true;
        for (const Field& s : items(*x, "a list of {cidr, except}"))
            r.peers.push_back(read_ip_block(s));
    }
    if (auto x = m.get("toPorts"))
        r.ports = read_cnp_to_ports(*x);
    // An L4-only rule (toPorts, no peers) allows every peer on those ports;
    // an empty rule ({}) allows nothing but still selects the endpoint.
    r.all_peers = !any_peer_key && !r.ports.empty();
    return r;
}

std::string metadata_string(const Field& obj, const char* key) {
    const YAML::Node md = obj.node["metadata"];
    if (!md || !md.IsMap() || !md[key])
        return "";
    const YAML::Node v = md[key];
    if (!v.IsScalar())
        invalid(Field{v, obj.path + ".metadata." + key}, "a string");
    return v.Scalar();
}

void read_np_spec(const Field& spec, PolicyConfig& p) {
    const Mapping m(spec, {"podSelector", "policyTypes", "ingress", "egress"});
    if (auto ps = m.get("podSelector"))
        p.subject = read_selector(*ps, false);
    if (auto in = m.get("ingress"))
        for (const Field& r : items(*in, "a list of ingress rules"))
            p.ingress_rules.push_back(read_np_rule(r, "from"));
    if (auto eg = m.get("egress"))
        for (const Field& r : items(*eg, "a list of egress rules"))
            p.egress_rules.push_back(read_np_rule(r, "to"));
    // "If this field is not specified, it will default based on the existence
    // of ingress or egress rules": Ingress always, Egress when there are egress rules.
    if (auto types = m.get("policyTypes")) {
        for (const Field& t : items(*types, "a list of Ingress and/or Egress")) {
            const bool ingress = as_enum<bool>(t, {{"Ingress", true}, {"Egress", false}});
            (ingress ? p.ingress : p.egress) = true;
        }
    } else {
        p.ingress = true;
        p.egress = !p.egress_rules.empty();
    }
}

void read_cnp_spec(const Field& spec, PolicyConfig& p) {
    const Mapping m(spec, {"endpointSelector", "ingress", "egress", "ingressDeny", "egressDeny", "description",
                           "nodeSelector", "labels", "enableDefaultDeny"});
    for (const char* unsupported : {"ingressDeny", "egressDeny", "nodeSelector"})
        if (auto x = m.get(unsupported))
            fail_at(x->node, x->path, "not supported by podlane yet (allow rules on endpoints only)");
    p.subject = read_selector(m.require("endpointSelector", "an endpoint selector like {matchLabels: {app: web}}"), true);
    if (auto in = m.get("ingress")) {
        p.ingress = true; // any ingress rule (even {}) puts the endpoint in default deny
        for (const Field& r : items(*in, "a list of ingress rules"))
            p.ingress_rules.push_back(read_cnp_rule(r, true));
    }
    if (auto eg = m.get("egress")) {
        p.egress = true;
        for (const Field& r : items(*eg, "a list of egress rules"))
            p.egress_rules.push_back(read_cnp_rule(r, false));
    }
    if (auto dd = m.get("enableDefaultDeny")) {
        const Mapping d(*dd, {"ingress", "egress"});
        bool v = true;
        if (d.read("ingress", v, as_bool) && !v)
            p.ingress = false;
        if (d.read("egress", v, as_bool) && !v)
            p.egress = false;
    }
}

} // namespace

PolicyConfig read_policy_object(const Field& obj) {
    const Mapping top(obj, {"apiVersion", "kind", "metadata", "spec", "status"});
    const Field api = top.require("apiVersion", "networking.k8s.io/v1 or cilium.io/v2");
    const Field kind = top.require("kind", "NetworkPolicy or CiliumNetworkPolicy");
    PolicyConfig p;
    p.kind = as_enum<PolicyKind>(kind, {{"NetworkPolicy", PolicyKind::NetworkPolicy},
                                        {"CiliumNetworkPolicy", PolicyKind::CiliumNetworkPolicy}});
    const std::string want = p.kind == PolicyKind::NetworkPolicy ? "networking.k8s.io/v1" : "cilium.io/v2";
    if (!api.node.IsScalar() || api.node.Scalar() != want)
        invalid(api, want + " for a " + kind.node.Scalar());
    top.require("metadata", "{name, namespace}");
    p.name = metadata_string(obj, "name");
    if (p.name.empty())
        fail_at(obj.node, obj.path + ".metadata.name", "required key is missing: expected the policy's name");
    const std::string ns = metadata_string(obj, "namespace");
    if (!ns.empty())
        p.ns = ns;
    const Field spec = top.require("spec", "the policy's spec");
    if (p.kind == PolicyKind::NetworkPolicy)
        read_np_spec(spec, p);
    else
        read_cnp_spec(spec, p);
    return p;
}

void read_named_ports(const Mapping& endpoint, EndpointConfig& ep) {
    auto f = endpoint.get("named_ports");
    if (!f || f->node.IsNull())
        return;
    if (!f->node.IsMap())
        invalid(*f, "a mapping of port names to ports, like {http: 8080, dns: 53/UDP}");
    for (const auto& kv : f->node) {
        const Field v{kv.second, f->path + "." + kv.first.Scalar()};
        PolicyPort name_check;
        read_port_value(Field{kv.first, v.path}, name_check);
        if (name_check.name.empty())
            invalid(Field{kv.first, v.path}, "a port name (1..15 of a-z, 0-9, '-'), not a number");
        const std::string s = v.node.IsScalar() ? v.node.Scalar() : "";
        const size_t slash = s.find('/');
        const Field num{YAML::Node(s.substr(0, slash)), v.path};
        uint8_t proto = 6;
        if (slash != std::string::npos)
            proto = as_protocol(Field{YAML::Node(s.substr(slash + 1)), v.path}, false);
        ep.named_ports[name_check.name] = {proto, as_uint<uint16_t>(1, 65535)(num)};
    }
}

void read_policies(const Mapping& top, Config& c) {
    auto list = top.get("policies");
    if (!list)
        return;
    for (const Field& item : items(*list, "a list of NetworkPolicy or CiliumNetworkPolicy objects")) {
        PolicyConfig p = read_policy_object(item);
        for (const PolicyConfig& o : c.policies)
            if (o.kind == p.kind && o.key() == p.key())
                fail_at(item.node, item.path + ".metadata.name", "\"" + p.key() + "\" is used twice");
        c.policies.push_back(std::move(p));
    }
}

} // namespace podlane::config_detail

namespace podlane {


Result<std::vector<PolicyConfig>> parse_policy_objects(const std::string& text, const std::string& source_name) {
    try {
        const YAML::Node root = YAML::Load(text);
        std::vector<PolicyConfig> out;
        if (root.IsSequence()) {
            for (size_t i = 0; i < root.size(); ++i)
                out.push_back(config_detail::read_policy_object(config_detail::Field{root[i], "[" + std::to_string(i) + "]"}));
        } else {
            out.push_back(config_detail::read_policy_object(config_detail::Field{root, ""}));
        }
        return out;
    } catch (const config_detail::Failure& f) {
        return make_error(source_name + (f.line > 0 ? ":" + std::to_string(f.line) : "") + ": " + f.text);
    } catch (const YAML::Exception& e) {
        return make_error(source_name + ": " + e.what());
    }
}

} // namespace podlane
