// Tables for `podlane policy get`: the policies in force and what each local
// endpoint enforces (like cilium-dbg policy get and endpoint list).
#include "cli/format.h"

namespace podlane {

namespace {

const Json& list_of(const Json& obj, const char* key) {
    static const Json empty = Json::array();
    if (!obj.is_object() || !obj.contains(key) || !obj.at(key).is_array())
        return empty;
    return obj.at(key);
}

std::string selector_text(const Json& s) {
    std::string out;
    if (s.is_object() && s.contains("matchLabels") && s.at("matchLabels").is_object())
        for (const auto& [k, v] : s.at("matchLabels").items())
            out += (out.empty() ? "" : ",") + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
    if (s.is_object() && s.contains("matchExpressions"))
        for (const auto& e : s.at("matchExpressions"))
            out += (out.empty() ? "" : ",") + cell(e, "key") + " " + cell(e, "operator") + " " + e.value("values", Json::array()).dump();
    return out.empty() ? "(all)" : out;
}

std::string joined(const Json& list) {
    std::string out;
    if (list.is_array())
        for (const auto& v : list)
            out += (out.empty() ? "" : ", ") + (v.is_string() ? v.get<std::string>() : v.dump());
    return out.empty() ? "-" : out;
}

} // namespace

std::string format_policy(const Json& data) {
    std::string out = "Revision: " + cell(data, "revision") + "\n\n";
    const Json& policies = list_of(data, "policies");
    if (policies.empty()) {
        out += "no policies\n";
    } else {
        Table t({"KIND", "NAMESPACE", "NAME", "SELECTOR", "TYPES", "INGRESS RULES", "EGRESS RULES"});
        for (const auto& p : policies)
            t.add_row({cell(p, "kind"), cell(p, "namespace"), cell(p, "name"), selector_text(p.value("subject", Json())),
                       joined(p.value("policy_types", Json::array())), std::to_string(list_of(p, "ingress").size()),
                       std::to_string(list_of(p, "egress").size())});
        out += t.render();
    }
    const Json& eps = list_of(data, "endpoints");
    if (!eps.empty()) {
        Table t({"ENDPOINT", "IP", "IDENTITY", "POLICY (INGRESS)", "POLICY (EGRESS)", "INGRESS POLICIES", "EGRESS POLICIES"});
        for (const auto& e : eps)
            t.add_row({cell(e, "id"), cell(e, "ip"), cell(e, "identity"),
                       e.value("ingress_enforcement", false) ? "Enabled" : "Disabled",
                       e.value("egress_enforcement", false) ? "Enabled" : "Disabled",
                       joined(e.value("ingress_policies", Json::array())), joined(e.value("egress_policies", Json::array()))});
        out += "\n" + t.render();
    }
    return out;
}

} // namespace podlane
