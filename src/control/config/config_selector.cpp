// The loader's label maps and label selectors (service labels, node.labels,
// lb_ipam pools' service_selector, bgp advertise.service_selector).
#include "control/config/config_reader.h"

namespace podlane::config_detail {

LabelMap as_labels(const Field& f) {
    LabelMap out;
    if (f.node.IsNull())
        return out;
    if (!f.node.IsMap())
        invalid(f, "a mapping of label names to values, like {app: web}");
    for (const auto& kv : f.node) {
        const std::string key = as_nonempty(Field{kv.first, f.path});
        if (!out.emplace(key, as_string(Field{kv.second, f.path + "." + key})).second)
            fail_at(kv.first, f.path + "." + key, "duplicate key");
    }
    return out;
}

LabelSelector as_label_selector(const Field& f) {
    return read_label_selector(Mapping(f, {"match_labels", "match_expressions"}));
}

LabelSelector read_label_selector(const Mapping& m) {
    LabelSelector sel;
    if (auto labels = m.get("match_labels"))
        sel.match_labels = as_labels(*labels);
    if (auto list = m.get("match_expressions"))
        for (const Field& item : items(*list, "a list like [{key: app, operator: In, values: [web]}]")) {
            const Mapping e(item, {"key", "operator", "values"});
            LabelRequirement r;
            r.key = as_nonempty(e.require("key", "a label name, like app"));
            r.op = as_enum<LabelRequirement::Op>(
                e.require("operator", "In, NotIn, Exists or DoesNotExist"),
                {{"In", LabelRequirement::Op::In}, {"NotIn", LabelRequirement::Op::NotIn},
                 {"Exists", LabelRequirement::Op::Exists}, {"DoesNotExist", LabelRequirement::Op::DoesNotExist}});
            const bool sets = r.op == LabelRequirement::Op::In || r.op == LabelRequirement::Op::NotIn;
            if (auto v = e.get("values"))
                for (const Field& x : items(*v, "a list of label values, like [web]"))
                    r.values.push_back(as_string(x));
            if (sets && r.values.empty())
                e.require("values", "at least one value with In and NotIn");
            if (!sets && !r.values.empty())
                invalid(*e.get("values"), "no values with Exists and DoesNotExist");
            sel.match_expressions.push_back(std::move(r));
        }
    return sel;
}

} // namespace podlane::config_detail
