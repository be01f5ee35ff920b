// The loader's lb_ipam section (docs/config.md "lb_ipam"): pools of
// LoadBalancer addresses. Overlapping pools are not an error: LB IPAM reports
// the later one as conflicting, as Cilium does.
#include "control/config/config_reader.h"

namespace podlane::config_detail {

namespace {

constexpr const char* kBlockExample = "172.16.1.0/24 or 172.16.2.10-172.16.2.20";

LbIpamBlock as_block(const Field& f) {
    const std::string s = f.node.IsScalar() ? f.node.Scalar() : "";
    LbIpamBlock b{.text = s};
    if (s.find('/') != std::string::npos) {
        const Ipv4Prefix p = as_prefix(f, 1, 32, "172.16.1.0/24");
        b.first = p.addr;
        b.last = Ipv4Addr::from_host(p.addr.host() | ~p.mask_host());
        b.cidr = true;
        return b;
    }
    const size_t dash = s.find('-');
    auto lo = dash == std::string::npos ? std::nullopt : Ipv4Addr::parse(std::string_view(s).substr(0, dash));
    auto hi = dash == std::string::npos ? std::nullopt : Ipv4Addr::parse(std::string_view(s).substr(dash + 1));
    if (!lo || !hi)
        invalid(f, "a CIDR or a start-stop range, like " + std::string(kBlockExample));
    if (lo->host() > hi->host())
        invalid(f, "a range whose start is not above its stop, like 172.16.2.10-172.16.2.20");
    b.first = *lo;
    b.last = *hi;
    return b;
}

std::vector<std::string> as_names(const Field& f, const std::string& example) {
    std::vector<std::string> out;
    for (const Field& item : items(f, "a list like " + example))
        out.push_back(as_nonempty(item));
    return out;
}

LbIpamPoolConfig read_pool(const Mapping& m, const LbIpamConfig& before) {
    LbIpamPoolConfig p;
    const Field name = m.require("name", "a unique pool name, like blue");
    p.name = as_nonempty(name);
    for (size_t i = 0; i < before.pools.size(); ++i)
        if (before.pools[i].name == p.name)
            invalid(name, "a unique name, but lb_ipam.pools[" + std::to_string(i) + "] already uses it");
    const Field blocks = m.require("blocks", "a list of CIDRs or start-stop ranges, like [" + std::string(kBlockExample) + "]");
    for (const Field& item : items(blocks, "a list of CIDRs or start-stop ranges, like [172.16.1.0/24]")) {
        LbIpamBlock b = as_block(item);
        for (const LbIpamBlock& o : p.blocks)
            if (b.first.host() <= o.last.host() && o.first.host() <= b.last.host())
                invalid(item, "a block that does not overlap this pool's " + o.text);
        p.blocks.push_back(std::move(b));
    }
    if (p.blocks.empty())
        invalid(blocks, "at least one block, like [172.16.1.0/24]");
    m.read("allow_first_last_ips", p.allow_first_last_ips, as_bool);
    m.read("disabled", p.disabled, as_bool);
    const Mapping sel = m.section("service_selector", {"names", "namespaces", "match_labels", "match_expressions"});
    if (auto f = sel.get("names"))
        p.service_selector.names = as_names(*f, "[default/web]");
    if (auto f = sel.get("namespaces"))
        p.service_selector.namespaces = as_names(*f, "[default]");
    p.service_selector.labels = read_label_selector(sel);
    return p;
}

} // namespace

void read_lb_ipam(const Mapping& top, Config& c) {
    const Mapping section = top.section("lb_ipam", {"pools"});
    auto list = section.get("pools");
    if (!list)
        return;
    for (const Field& item : items(*list, "a list of pools, like [{name: blue, blocks: [172.16.1.0/24]}]")) {
        const Mapping m(item, {"name", "blocks", "allow_first_last_ips", "service_selector", "disabled"});
        c.lb_ipam.pools.push_back(read_pool(m, c.lb_ipam));
    }
}

} // namespace podlane::config_detail
