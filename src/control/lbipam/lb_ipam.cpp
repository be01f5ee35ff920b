// LB IPAM's assignment (lb_ipam.h has the rule).
#include "control/lbipam/lb_ipam.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

namespace podlane {

namespace {

/// Addresses lo..hi (host order), inclusive.
struct Range {
    uint32_t lo;
    uint32_t hi;
};

/// A pool with the addresses it can give.
struct Pool {
    const LbIpamPoolConfig* config = nullptr;
    std::vector<Range> ranges{};///< first/last of CIDRs already taken out
    bool usable = false;       ///< neither disabled nor conflicting

    bool contains(uint32_t ip) const {
        return std::any_of(ranges.begin(), ranges.end(), [&](const Range& r) { return r.lo <= ip && ip <= r.hi; });
    }
};

/// Who holds an address: a service (with its sharing key and ports) or a
/// static load_balancer_ips/external_ips entry (svc == nullptr).
struct Holder {
    const ServiceConfig* svc = nullptr;
    std::string name;
};

using Holders = std::map<uint32_t, std::vector<Holder>>;

Range usable_range(const LbIpamBlock& b, bool allow_first_last) {
    Range r{b.first.host(), b.last.host()};
    if (b.cidr && !allow_first_last && r.hi - r.lo >= 2) { // /31 and /32 keep every address, as in Cilium
        ++r.lo;
        --r.hi;
    }
    return r;
}

const char* proto_text(L4Proto p) { return p == L4Proto::Tcp ? "TCP" : "UDP"; }

/// The first port of `a` that `b` also uses, as "TCP 80"; empty when none.
std::string port_clash(const ServiceConfig& a, const ServiceConfig& b) {
    for (const ServicePortConfig& p : a.ports)
        for (const ServicePortConfig& q : b.ports)
            if (p.protocol == q.protocol && p.port == q.port)
                return std::string(proto_text(p.protocol)) + " " + std::to_string(p.port);
    return {};
}

/// Why `svc` cannot join the holders of `ip`; empty when it can (no holder, or
/// every holder shares its sharing key and no port).
std::string share_problem(const ServiceConfig& svc, Ipv4Addr ip, const std::vector<Holder>& holders) {
    for (const Holder& h : holders) {
        if (h.svc == nullptr)
            return ip.str() + " is used by " + h.name;
        if (svc.lbipam_sharing_key.empty() || h.svc->lbipam_sharing_key != svc.lbipam_sharing_key)
            return ip.str() + " is used by " + h.name +
                   (svc.lbipam_sharing_key.empty() ? "" : ", which has another sharing key");
        if (auto clash = port_clash(svc, *h.svc); !clash.empty())
            return ip.str() + " is shared by " + h.name + ", whose port " + clash + " clashes";
    }
    return {};
}

std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (size_t i = 0; i < names.size(); ++i)
        out += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
    return out;
}

class Assigner {
public:
    Assigner(const LbIpamConfig& config, std::span<const ServiceConfig> services) {
        const auto& cfg = config.pools;
        for (size_t j = 0; j < cfg.size(); ++j) {
            LbIpamPoolStatus st{.name = cfg[j].name, .disabled = cfg[j].disabled};
            for (size_t i = 0; i < j && !st.conflicting; ++i)
                for (const LbIpamBlock& a : cfg[j].blocks)
                    for (const LbIpamBlock& b : cfg[i].blocks)
                        if (!st.conflicting && a.first.host() <= b.last.host() && b.first.host() <= a.last.host()) {
                            st.conflicting = true;
                            st.conflict = "block " + a.text + " overlaps pool " + cfg[i].name + "'s " + b.text;
                        }
            Pool p{.config = &cfg[j], .usable = !st.disabled && !st.conflicting};
            for (const LbIpamBlock& b : cfg[j].blocks) {
                p.ranges.push_back(usable_range(b, cfg[j].allow_first_last_ips));
                st.total += lb_ipam_block_size(b, cfg[j].allow_first_last_ips);
            }
            pools_.push_back(std::move(p));
            result_.pools.push_back(std::move(st));
        }
        for (const ServiceConfig& s : services) {
            for (Ipv4Addr ip : s.load_balancer_ips)
                holders_[ip.host()].push_back(Holder{nullptr, s.name + "'s load_balancer_ips"});
            for (Ipv4Addr ip : s.external_ips)
                holders_[ip.host()].push_back(Holder{nullptr, s.name + "'s external_ips"});
            if (s.type == ServiceType::LoadBalancer && s.load_balancer_ips.empty())
                managed_.push_back(&s);
        }
        // Requests first, then recorded assignments, then the rest; each by
        // name (steps 3, 4 and 5 of the rule).
        std::sort(managed_.begin(), managed_.end(), [](const ServiceConfig* a, const ServiceConfig* b) {
            return std::tuple(step(*a), a->name) < std::tuple(step(*b), b->name);
        });
    }

    LbIpamResult run() && {
        for (const ServiceConfig* s : managed_) {
            LbIpamStatus st = !s->lbipam_ips.empty() ? request(*s) : keep(*s);
            st.managed = true;
            for (Ipv4Addr ip : st.ips)
                holders_[ip.host()].push_back(Holder{s, s->name});
            result_.assignments.push_back(LbIpamAssignment{s->name, std::move(st)});
        }
        std::sort(result_.assignments.begin(), result_.assignments.end(),
                  [](const LbIpamAssignment& a, const LbIpamAssignment& b) { return a.service < b.service; });
        for (size_t j = 0; j < pools_.size(); ++j)
            for (const auto& [ip, holders] : holders_)
                if (!holders.empty() && pools_[j].contains(ip))
                    ++result_.pools[j].used;
        return std::move(result_);
    }

private:
    static int step(const ServiceConfig& s) {
        return !s.lbipam_ips.empty() ? 0 : !s.lbipam_recorded.empty() ? 1 : 2;
    }

    /// The first usable pool selecting `s` that contains `ip`.
    const Pool* pool_for(const ServiceConfig& s, uint32_t ip) const {
        for (const Pool& p : pools_)
            if (p.usable && lb_ipam_selects(p.config->service_selector, s) && p.contains(ip))
                return &p;
        return nullptr;
    }

    LbIpamStatus request(const ServiceConfig& s) const {
        LbIpamStatus st;
        for (Ipv4Addr ip : s.lbipam_ips) {
            const Pool* p = pool_for(s, ip.host());
            if (p == nullptr)
                return LbIpamStatus{.pending = "requested " + ip.str() + " is in no enabled, non-conflicting pool that selects it"};
            if (auto h = holders_.find(ip.host()); h != holders_.end())
                if (auto why = share_problem(s, ip, h->second); !why.empty())
                    return LbIpamStatus{.pending = "requested " + why};
            if (st.pool.empty())
                st.pool = p->config->name;
            st.ips.push_back(ip);
        }
        return st;
    }

    /// The recorded addresses while every one still lies in a usable pool
    /// selecting `s` and is free or shareable; else a new assignment.
    LbIpamStatus keep(const ServiceConfig& s) const {
        LbIpamStatus st;
        for (Ipv4Addr ip : s.lbipam_recorded) {
            const Pool* p = pool_for(s, ip.host());
            auto h = holders_.find(ip.host());
            if (p == nullptr || (h != holders_.end() && !share_problem(s, ip, h->second).empty()))
                return assign(s);
            if (st.pool.empty())
                st.pool = p->config->name;
            st.ips.push_back(ip);
        }
        return st.ips.empty() ? assign(s) : st;
    }

    LbIpamStatus assign(const ServiceConfig& s) const {
        std::vector<const Pool*> selecting;
        std::vector<std::string> unusable;
        for (const Pool& p : pools_) {
            if (!lb_ipam_selects(p.config->service_selector, s))
                continue;
            if (p.usable)
                selecting.push_back(&p);
            else
                unusable.push_back("pool " + p.config->name + " is " + (p.config->disabled ? "disabled" : "conflicting"));
        }
        if (selecting.empty())
            return LbIpamStatus{.pending = unusable.empty() ? "no pool selects this service" : joined(unusable)};
        // An address of a service with the same sharing key, ports apart.
        if (!s.lbipam_sharing_key.empty())
            for (const Pool* p : selecting)
                for (const auto& [ip, holders] : holders_)
                    if (!holders.empty() && p->contains(ip) && share_problem(s, Ipv4Addr::from_host(ip), holders).empty())
                        return LbIpamStatus{.ips = {Ipv4Addr::from_host(ip)}, .pool = p->config->name};
        // The first free address.
        for (const Pool* p : selecting)
            for (const Range& r : p->ranges) {
                uint64_t ip = r.lo;
                for (auto it = holders_.lower_bound(r.lo); it != holders_.end() && it->first == ip && ip <= r.hi; ++it)
                    ++ip;
                if (ip <= r.hi)
                    return LbIpamStatus{.ips = {Ipv4Addr::from_host(static_cast<uint32_t>(ip))}, .pool = p->config->name};
            }
        std::vector<std::string> names;
        for (const Pool* p : selecting)
            names.push_back(p->config->name);
        return LbIpamStatus{.pending = std::string(names.size() == 1 ? "pool " : "pools ") + joined(names) +
                                       (names.size() == 1 ? " has" : " have") + " no free address"};
    }

    std::vector<Pool> pools_;
    Holders holders_;
    std::vector<const ServiceConfig*> managed_;
    LbIpamResult result_;
};

} // namespace

uint64_t lb_ipam_block_size(const LbIpamBlock& b, bool allow_first_last) {
    const Range r = usable_range(b, allow_first_last);
    return uint64_t{r.hi} - r.lo + 1;
}

bool lb_ipam_selects(const LbIpamSelector& sel, const ServiceConfig& s) {
    const std::string ns = s.name.substr(0, s.name.find('/'));
    const auto in = [](const std::vector<std::string>& list, const std::string& v) {
        return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
    };
    return in(sel.names, s.name) && in(sel.namespaces, ns) &&
           (sel.labels.empty() || sel.labels.matches(service_selector_labels(s.name, s.labels)));
}

LbIpamResult assign_lb_ips(const LbIpamConfig& config, std::span<const ServiceConfig> services) {
    return Assigner(config, services).run();
}

std::vector<std::string> apply_lb_ipam(const LbIpamResult& result, std::vector<ServiceConfig>& services) {
    std::vector<std::string> changed;
    auto a = result.assignments.begin();
    for (ServiceConfig& s : services) {
        while (a != result.assignments.end() && a->service < s.name)
            ++a;
        const LbIpamStatus next = a != result.assignments.end() && a->service == s.name ? a->status : LbIpamStatus{};
        if (!s.lb_ipam.same_as(next)) {
            changed.push_back(s.name);
            s.lb_ipam = next;
        }
    }
    return changed;
}

} // namespace podlane
