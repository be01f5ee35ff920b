// "policy.get": the policies in force, as read, and what each local endpoint
// enforces (docs/api.md).
#include "control/policy/policy_compiler.h"

namespace podlane {

namespace {

const char* proto_name(uint8_t p) {
    switch (p) {
    case 6:
        return "TCP";
    case 17:
        return "UDP";
    case 132:
        return "SCTP";
    default:
        return "ANY";
    }
}

const char* op_name(SelectorRequirement::Op op) {
    switch (op) {
    case SelectorRequirement::Op::In:
        return "In";
    case SelectorRequirement::Op::NotIn:
        return "NotIn";
    case SelectorRequirement::Op::Exists:
        return "Exists";
    case SelectorRequirement::Op::DoesNotExist:
        return "DoesNotExist";
    }
    return "";
}

Json selector_json(const LabelSelector& s) {
    Json j = Json::object();
    j["matchLabels"] = s.match_labels;
    Json ex = Json::array();
    for (const auto& r : s.match_expressions)
        ex.push_back(Json{{"key", r.key}, {"operator", op_name(r.op)}, {"values", r.values}});
    if (!ex.empty())
        j["matchExpressions"] = ex;
    return j;
}

Json peer_json(const PolicyPeer& p) {
    switch (p.kind) {
    case PolicyPeer::Kind::Cidr: {
        Json ex = Json::array();
        for (const auto& e : p.except)
            ex.push_back(e.str());
        return Json{{"cidr", p.cidr.str()}, {"except", ex}};
    }
    case PolicyPeer::Kind::Entity:
        return Json{{"entity", p.entity}};
    case PolicyPeer::Kind::Pods:
        break;
    }
    Json j = Json::object();
    j["pods"] = p.pods ? selector_json(*p.pods) : Json("all");
    j["namespaces"] = p.namespaces ? selector_json(*p.namespaces) : Json("own");
    return j;
}

Json rule_json(const PolicyRule& r) {
    Json peers = Json::array();
    for (const auto& p : r.peers)
        peers.push_back(peer_json(p));
    Json ports = Json::array();
    for (const auto& p : r.ports) {
        Json pj{{"protocol", proto_name(p.proto)}};
        if (!p.name.empty())
            pj["port"] = p.name;
        else
            pj["port"] = p.port;
        if (p.end_port != 0)
            pj["end_port"] = p.end_port;
        ports.push_back(pj);
    }
    return Json{{"peers", r.all_peers ? Json("all") : peers}, {"ports", r.ports.empty() ? Json("all") : ports}};
}

Json rules_json(const std::vector<PolicyRule>& rules) {
    Json out = Json::array();
    for (const auto& r : rules)
        out.push_back(rule_json(r));
    return out;
}

} // namespace

Json policy_json(const Config& config, const CompiledPolicy& compiled) {
    Json policies = Json::array();
    for (const PolicyConfig& p : config.policies) {
        Json types = Json::array();
        if (p.ingress)
            types.push_back("Ingress");
        if (p.egress)
            types.push_back("Egress");
        policies.push_back(Json{{"kind", p.kind == PolicyKind::NetworkPolicy ? "NetworkPolicy" : "CiliumNetworkPolicy"},
                                {"namespace", p.ns},
                                {"name", p.name},
                                {"subject", selector_json(p.subject)},
                                {"policy_types", types},
                                {"ingress", rules_json(p.ingress_rules)},
                                {"egress", rules_json(p.egress_rules)}});
    }
    Json eps = Json::array();
    for (const EndpointPolicyView& v : compiled.endpoints) {
        eps.push_back(Json{{"id", v.id},
                           {"ip", v.ip.str()},
                           {"identity", v.identity},
                           {"ingress_enforcement", v.enforce[0]},
                           {"egress_enforcement", v.enforce[1]},
                           {"ingress_policies", v.selected_by[0]},
                           {"egress_policies", v.selected_by[1]},
                           {"ingress_allow_entries", v.allow_entries[0]},
                           {"egress_allow_entries", v.allow_entries[1]}});
    }
    const uint64_t rev = compiled.tables ? compiled.tables->revision : 0;
    return Json{{"revision", rev}, {"policies", policies}, {"endpoints", eps}};
}

} // namespace podlane
