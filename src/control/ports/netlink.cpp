// rtnetlink over libmnl: one small function per message type, an RAII mnl
// socket, and the thread-based namespace switch used to configure a pod.
#include "control/ports/netlink.h"

#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace podlane {
namespace {

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

Error step_failed(const std::string& step, const Error& cause) {
    return make_error(step + ": " + cause.message);
}

/// An owned file descriptor.
class Fd {
public:
    explicit Fd(int fd = -1) noexcept : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept { std::swap(fd_, o.fd_); return *this; }
    ~Fd() { if (fd_ >= 0) ::close(fd_); }
    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
private:
    int fd_;
};

/// Opens `path` and checks that it is a network namespace.
Result<Fd> open_netns(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return make_error("cannot open network namespace " + path + ": " + std::strerror(errno));
    int type = ::ioctl(fd.get(), NS_GET_NSTYPE);
    if (type != CLONE_NEWNET) return make_error(path + " is not a network namespace");
    return fd;
}

/// Runs `fn` on a new thread that has entered the netns open on `ns_fd`.
Result<void> run_on_netns_thread(int ns_fd, const std::string& path,
                                 const std::function<Result<void>()>& fn) {
    Result<void> result = make_error("network namespace thread did not run");
    try {
        std::thread t([&] {
            if (::setns(ns_fd, CLONE_NEWNET) != 0) {
                result = make_error("entering network namespace " + path + ": " + std::strerror(errno));
                return;
            }
            try {
                result = fn();
            } catch (const std::exception& e) {
                result = make_error("in network namespace " + path + ": " + e.what());
            }
        });
        t.join();
    } catch (const std::exception& e) {
        return make_error("starting a thread for network namespace " + path + ": " + e.what());
    }
    return result;
}

/// A NETLINK_ROUTE socket. Every request asks for an ack and waits for it.
class NlSocket {
public:
    static Result<NlSocket> open() {
        mnl_socket* nl = mnl_socket_open(NETLINK_ROUTE);
        if (nl == nullptr || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
            int err = errno;
            if (nl != nullptr) mnl_socket_close(nl);
            return make_error(std::string("opening a netlink socket: ") + std::strerror(err));
        }
        int on = 1; // best effort: short acks, and the kernel's error text
        mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &on, sizeof on);
        mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &on, sizeof on);
        return NlSocket(nl);
    }
    NlSocket(NlSocket&& o) noexcept
        : nl_(std::exchange(o.nl_, nullptr)), seq_(o.seq_), buf_(std::move(o.buf_)) {}
    NlSocket& operator=(NlSocket&&) = delete;
    ~NlSocket() { if (nl_ != nullptr) mnl_socket_close(nl_); }

    /// Sends `nlh` with NLM_F_ACK and reads until the ack; reply messages
    /// before it go to `on_reply`. Fails with "<strerror>[ (<kernel text>)]".
    Result<void> request(nlmsghdr* nlh, mnl_cb_t on_reply = nullptr, void* data = nullptr) {
        nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = ++seq_;
        Ctx ctx{on_reply, data, 0, {}};
        last_errno_ = 0;
        int ret = -1;
        if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) {
            ctx.err = errno;
        } else {
            mnl_cb_t ctl[NLMSG_ERROR + 1] = {nullptr, nullptr, on_error};
            do {
                ssize_t n = mnl_socket_recvfrom(nl_, buf_.data(), buf_.size());
                if (n < 0) break;
                ret = mnl_cb_run2(buf_.data(), static_cast<size_t>(n), seq_, mnl_socket_get_portid(nl_),
                                  on_data, &ctx, ctl, NLMSG_ERROR + 1);
            } while (ret > MNL_CB_STOP);
            if (ret < 0 && ctx.err == 0) ctx.err = errno != 0 ? errno : EPROTO;
        }
        if (ctx.err == 0) return {};
        last_errno_ = ctx.err;
        std::string msg = std::strerror(ctx.err);
        if (!ctx.ext.empty()) msg += " (" + ctx.ext + ")";
        return make_error(msg);
    }
    int last_errno() const noexcept { return last_errno_; }

private:
    struct Ctx {
        mnl_cb_t on_reply;
        void* data;
        int err;
        std::string ext;
    };
    explicit NlSocket(mnl_socket* nl) : nl_(nl), buf_(32768) {}

    static int on_data(const nlmsghdr* nlh, void* p) {
        auto* ctx = static_cast<Ctx*>(p);
        return ctx->on_reply != nullptr ? ctx->on_reply(nlh, ctx->data) : MNL_CB_OK;
    }
    static int on_error(const nlmsghdr* nlh, void* p) {
        auto* ctx = static_cast<Ctx*>(p);
        if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) {
            ctx->err = EBADMSG;
            return MNL_CB_ERROR;
        }
        const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        ctx->err = e->error < 0 ? -e->error : e->error;
        if (ctx->err == 0) return MNL_CB_STOP; // the ack
        if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) != 0) {
            size_t offset = sizeof(nlmsgerr);
            if ((nlh->nlmsg_flags & NLM_F_CAPPED) == 0) offset += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
            mnl_attr_parse(nlh, static_cast<unsigned>(offset), [](const nlattr* a, void* d) {
                if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
                    static_cast<Ctx*>(d)->ext = mnl_attr_get_str(a);
                return MNL_CB_OK;
            }, ctx);
        }
        return MNL_CB_ERROR;
    }

    mnl_socket* nl_;
    uint32_t seq_ = 0;
    std::vector<char> buf_;
    int last_errno_ = 0;
};

/// A message under construction in a stack buffer.
struct Msg {
    alignas(nlmsghdr) char buf[1024];
    nlmsghdr* nlh;
    Msg(uint16_t type, uint16_t flags) : buf{}, nlh(mnl_nlmsg_put_header(buf)) {
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = flags;
    }
    template <typename T> T* header() { return static_cast<T*>(mnl_nlmsg_put_extra_header(nlh, sizeof(T))); }
};

/// RTM_GETLINK by name: the interface's index. A missing interface leaves
/// ENODEV in nl.last_errno().
Result<int> link_index(NlSocket& nl, const std::string& name) {
    Msg m(RTM_GETLINK, 0);
    m.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(m.nlh, IFLA_IFNAME, name.c_str());
    int index = 0;
    auto r = nl.request(m.nlh, [](const nlmsghdr* nlh, void* d) {
        if (nlh->nlmsg_type == RTM_NEWLINK)
            *static_cast<int*>(d) = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh))->ifi_index;
        return MNL_CB_OK;
    }, &index);
    if (!r) return r.error();
    if (index <= 0) return make_error("no link in the kernel's reply");
    return index;
}

/// What an RTM_NEWLINK changes; unset fields are left alone.
struct LinkChange {
    std::optional<std::string> name{};
    std::optional<MacAddr> mac{};
    std::optional<uint32_t> mtu{};
    std::optional<bool> up{};
    std::optional<bool> promisc{};
    int netns_fd = -1;
};

Result<void> link_set(NlSocket& nl, int ifindex, const LinkChange& c) {
    Msg m(RTM_NEWLINK, 0);
    auto* ifi = m.header<ifinfomsg>();
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    if (c.up) {
        ifi->ifi_change |= IFF_UP;
        ifi->ifi_flags |= *c.up ? IFF_UP : 0;
    }
    if (c.promisc) {
        ifi->ifi_change |= IFF_PROMISC;
        ifi->ifi_flags |= *c.promisc ? IFF_PROMISC : 0;
    }
    if (c.name) mnl_attr_put_strz(m.nlh, IFLA_IFNAME, c.name->c_str());
    if (c.mac) mnl_attr_put(m.nlh, IFLA_ADDRESS, c.mac->bytes.size(), c.mac->bytes.data());
    if (c.mtu) mnl_attr_put_u32(m.nlh, IFLA_MTU, *c.mtu);
    if (c.netns_fd >= 0) mnl_attr_put_u32(m.nlh, IFLA_NET_NS_FD, static_cast<uint32_t>(c.netns_fd));
    return nl.request(m.nlh);
}

/// RTM_NEWADDR: ip/prefix_len on the interface.
Result<void> addr_add(NlSocket& nl, int ifindex, Ipv4Addr ip, uint8_t prefix_len) {
    Msg m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    auto* ifa = m.header<ifaddrmsg>();
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = prefix_len;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = static_cast<uint32_t>(ifindex);
    mnl_attr_put_u32(m.nlh, IFA_LOCAL, ip.be);
    mnl_attr_put_u32(m.nlh, IFA_ADDRESS, ip.be);
    return nl.request(m.nlh);
}

/// RTM_NEWROUTE in the main table: dst/dst_len out of the interface,
/// via `gateway` (on-link) unless it is zero, in which case the scope is link.
Result<void> route_add(NlSocket& nl, int ifindex, Ipv4Addr dst, uint8_t dst_len, Ipv4Addr gateway) {
    Msg m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    auto* rtm = m.header<rtmsg>();
    rtm->rtm_family = AF_INET;
    rtm->rtm_dst_len = dst_len;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_BOOT;
    rtm->rtm_type = RTN_UNICAST;
    rtm->rtm_scope = gateway.is_zero() ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    if (!gateway.is_zero()) {
        rtm->rtm_flags = RTNH_F_ONLINK;
        mnl_attr_put_u32(m.nlh, RTA_GATEWAY, gateway.be);
    }
    if (dst_len > 0) mnl_attr_put_u32(m.nlh, RTA_DST, dst.be);
    mnl_attr_put_u32(m.nlh, RTA_OIF, static_cast<uint32_t>(ifindex));
    return nl.request(m.nlh);
}

/// Sets net.ipv6.conf.<ifname>.disable_ipv6=1 in the calling thread's netns;
/// nothing to do on a kernel without IPv6.
Result<void> disable_ipv6(const std::string& ifname) {
    const std::string path = "/proc/sys/net/ipv6/conf/" + ifname + "/disable_ipv6";
    Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd && errno == ENOENT && ::access("/proc/sys/net/ipv6", F_OK) != 0) return {};
    if (!fd || ::write(fd.get(), "1", 1) != 1) return make_error("writing " + path + ": " + std::strerror(errno));
    return {};
}

/// Fails if `ifname` already names a link in the calling thread's netns.
Result<void> check_name_free(NlSocket& nl, const std::string& ifname, const std::string& netns_path) {
    auto existing = link_index(nl, ifname);
    if (existing) return make_error("network namespace " + netns_path + " already has an interface named " + quoted(ifname));
    if (nl.last_errno() != ENODEV) return step_failed("looking up " + quoted(ifname) + " in " + netns_path, existing.error());
    return {};
}

/// The part of attach_pod_interface that runs inside the pod's netns.
Result<void> configure_in_pod(const PodInterfaceSpec& s) {
    auto nl = NlSocket::open();
    if (!nl) return nl.error();
    const std::string in = " in " + s.netns_path;
    auto lo = link_index(*nl, "lo");
    if (!lo) return step_failed("looking up \"lo\"" + in, lo.error());
    if (auto r = link_set(*nl, *lo, {.up = true}); !r) return step_failed("bringing \"lo\" up" + in, r.error());

    auto idx = link_index(*nl, s.host_ifname);
    if (!idx) return step_failed("finding " + quoted(s.host_ifname) + " after moving it into " + s.netns_path, idx.error());
    auto configure = [&]() -> Result<void> {
        if (s.pod_ifname != s.host_ifname) {
            if (auto r = check_name_free(*nl, s.pod_ifname, s.netns_path); !r) return r;
            if (auto r = link_set(*nl, *idx, {.name = s.pod_ifname}); !r)
                return step_failed("renaming " + quoted(s.host_ifname) + " to " + quoted(s.pod_ifname) + in, r.error());
        }
        const std::string dev = quoted(s.pod_ifname) + in;
        if (auto r = link_set(*nl, *idx, {.mac = s.mac}); !r) return step_failed("setting MAC " + s.mac.str() + " on " + dev, r.error());
        if (auto r = link_set(*nl, *idx, {.mtu = s.mtu}); !r) return step_failed("setting MTU " + std::to_string(s.mtu) + " on " + dev, r.error());
        // Before the link goes up, so the kernel never starts IPv6 (DAD, RS) on it.
        if (s.disable_ipv6) {
            if (auto r = disable_ipv6(s.pod_ifname); !r) return step_failed("disabling IPv6 on " + dev, r.error());
        }
        // DPDK's TAP PMD leaves its interface promiscuous; a pod's is not
        // (CNI's tuning plugin CHECKs it).
        if (auto r = link_set(*nl, *idx, {.up = true, .promisc = false}); !r) return step_failed("bringing " + dev + " up", r.error());
        if (auto r = addr_add(*nl, *idx, s.ip, 32); !r) return step_failed("adding address " + s.ip.str() + "/32 to " + dev, r.error());
        if (auto r = route_add(*nl, *idx, s.gateway, 32, Ipv4Addr{}); !r)
            return step_failed("adding route " + s.gateway.str() + "/32 scope link dev " + dev, r.error());
        if (auto r = route_add(*nl, *idx, Ipv4Addr{}, 0, s.gateway); !r)
            return step_failed("adding default route via " + s.gateway.str() + " dev " + dev, r.error());
        return {};
    };
    auto result = configure();
    if (!result) (void)link_set(*nl, *idx, {.up = false}); // leave it down, as documented
    return result;
}

bool valid_ifname(const std::string& name) {
    return !name.empty() && name.size() < IFNAMSIZ && name.find_first_of("/: \t\n") == std::string::npos &&
           name != "." && name != "..";
}

} // namespace

Result<std::string> resolve_netns_path(const std::string& name_or_path) {
    const bool bare = name_or_path.find('/') == std::string::npos;
    if (name_or_path.empty() || (!bare && name_or_path[0] != '/') || name_or_path == "." || name_or_path == "..")
        return make_error("invalid network namespace " + quoted(name_or_path) + ": give a name under /run/netns or an absolute path");
    const std::string path = bare ? "/run/netns/" + name_or_path : name_or_path;
    if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) {
        std::string msg = "network namespace " + quoted(name_or_path) + " not found (" + path + " does not exist";
        if (bare) msg += "; create it with: ip netns add " + name_or_path;
        return make_error(msg + ")");
    }
    auto fd = open_netns(path);
    if (!fd) return fd.error();
    return path;
}

Result<void> run_in_netns(const std::string& netns_path, const std::function<Result<void>()>& fn) {
    auto ns = open_netns(netns_path);
    if (!ns) return ns.error();
    return run_on_netns_thread(ns->get(), netns_path, fn);
}

Result<void> configure_local_interface(const PodInterfaceSpec& spec) {
    if (!valid_ifname(spec.host_ifname))
        return make_error("invalid interface name " + quoted(spec.host_ifname));
    PodInterfaceSpec here = spec;
    here.pod_ifname = spec.host_ifname;
    here.netns_path = "podlaned's network namespace";
    return configure_in_pod(here);
}

Result<void> attach_pod_interface(const PodInterfaceSpec& spec) {
    for (const auto* name : {&spec.host_ifname, &spec.pod_ifname})
        if (!valid_ifname(*name)) return make_error("invalid interface name " + quoted(*name));
    auto ns = open_netns(spec.netns_path);
    if (!ns) return ns.error();
    auto nl = NlSocket::open();
    if (!nl) return nl.error();

    auto idx = link_index(*nl, spec.host_ifname);
    if (!idx && nl->last_errno() == ENODEV)
        return make_error("host interface " + quoted(spec.host_ifname) + " not found in podlaned's network namespace");
    if (!idx) return step_failed("looking up host interface " + quoted(spec.host_ifname), idx.error());

    // Refuse a name clash before moving, so the interface stays where it was.
    if (spec.pod_ifname != spec.host_ifname) {
        auto clash = run_on_netns_thread(ns->get(), spec.netns_path, [&]() -> Result<void> {
            auto pod_nl = NlSocket::open();
            if (!pod_nl) return pod_nl.error();
            return check_name_free(*pod_nl, spec.pod_ifname, spec.netns_path);
        });
        if (!clash) return clash;
    }
    if (auto r = link_set(*nl, *idx, {.netns_fd = ns->get()}); !r)
        return step_failed("moving " + quoted(spec.host_ifname) + " into " + spec.netns_path, r.error());
    return run_on_netns_thread(ns->get(), spec.netns_path, [&] { return configure_in_pod(spec); });
}

// ---- reading a pod interface back (CNI CHECK) ----

namespace {

/// The attributes of one netlink message, indexed by type (up to `max`).
std::vector<const nlattr*> attributes(const nlmsghdr* nlh, size_t header_len, uint16_t max) {
    struct Table {
        std::vector<const nlattr*> a;
    } table{std::vector<const nlattr*>(max + 1u, nullptr)};
    mnl_attr_parse(nlh, static_cast<unsigned>(header_len), [](const nlattr* a, void* d) {
        auto* t = static_cast<Table*>(d);
        const uint16_t type = mnl_attr_get_type(a);
        if (type < t->a.size()) t->a[type] = a;
        return MNL_CB_OK;
    }, &table);
    return table.a;
}

Ipv4Addr attr_ip(const nlattr* a) {
    return a != nullptr && mnl_attr_get_payload_len(a) == 4 ? Ipv4Addr{mnl_attr_get_u32(a)} : Ipv4Addr{};
}

struct Inspect {
    int index = 0;
    PodInterfaceState state;
};

Result<void> read_link(NlSocket& nl, const std::string& ifname, Inspect& in) {
    Msg m(RTM_GETLINK, 0);
    m.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(m.nlh, IFLA_IFNAME, ifname.c_str());
    return nl.request(m.nlh, [](const nlmsghdr* nlh, void* d) {
        if (nlh->nlmsg_type != RTM_NEWLINK) return MNL_CB_OK;
        auto* in = static_cast<Inspect*>(d);
        const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
        in->index = ifi->ifi_index;
        in->state.up = (ifi->ifi_flags & IFF_UP) != 0;
        auto attrs = attributes(nlh, sizeof(ifinfomsg), IFLA_MAX);
        if (const nlattr* a = attrs[IFLA_ADDRESS]; a != nullptr && mnl_attr_get_payload_len(a) == 6)
            std::memcpy(in->state.mac.bytes.data(), mnl_attr_get_payload(a), 6);
        if (const nlattr* a = attrs[IFLA_MTU]; a != nullptr) in->state.mtu = mnl_attr_get_u32(a);
        return MNL_CB_OK;
    }, &in);
}

Result<void> read_addresses(NlSocket& nl, Inspect& in) {
    Msg m(RTM_GETADDR, NLM_F_DUMP);
    m.header<ifaddrmsg>()->ifa_family = AF_INET;
    return nl.request(m.nlh, [](const nlmsghdr* nlh, void* d) {
        auto* in = static_cast<Inspect*>(d);
        const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
        if (nlh->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET || static_cast<int>(ifa->ifa_index) != in->index)
            return MNL_CB_OK;
        auto attrs = attributes(nlh, sizeof(ifaddrmsg), IFA_MAX);
        const nlattr* local = attrs[IFA_LOCAL] != nullptr ? attrs[IFA_LOCAL] : attrs[IFA_ADDRESS];
        if (local != nullptr) in->state.addresses.push_back(InterfaceAddress{attr_ip(local), ifa->ifa_prefixlen});
        return MNL_CB_OK;
    }, &in);
}

Result<void> read_routes(NlSocket& nl, Inspect& in) {
    Msg m(RTM_GETROUTE, NLM_F_DUMP);
    m.header<rtmsg>()->rtm_family = AF_INET;
    return nl.request(m.nlh, [](const nlmsghdr* nlh, void* d) {
        auto* in = static_cast<Inspect*>(d);
        const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
        if (nlh->nlmsg_type != RTM_NEWROUTE || rtm->rtm_family != AF_INET) return MNL_CB_OK;
        auto attrs = attributes(nlh, sizeof(rtmsg), RTA_MAX);
        const uint32_t table = attrs[RTA_TABLE] != nullptr ? mnl_attr_get_u32(attrs[RTA_TABLE]) : rtm->rtm_table;
        if (table != RT_TABLE_MAIN || attrs[RTA_OIF] == nullptr ||
            static_cast<int>(mnl_attr_get_u32(attrs[RTA_OIF])) != in->index)
            return MNL_CB_OK;
        const Ipv4Addr dst = attr_ip(attrs[RTA_DST]);
        const uint8_t len = rtm->rtm_dst_len;
        const uint32_t mask = len == 0 ? 0u : ~uint32_t{0} << (32 - len);
        in->state.routes.push_back(InterfaceRoute{Ipv4Prefix{Ipv4Addr::from_host(dst.host() & mask), len},
                                                  attr_ip(attrs[RTA_GATEWAY])});
        return MNL_CB_OK;
    }, &in);
}

} // namespace

Result<PodInterfaceState> inspect_pod_interface(const std::string& netns_path, const std::string& ifname) {
    if (!valid_ifname(ifname)) return make_error("invalid interface name " + quoted(ifname));
    Inspect in;
    auto r = run_in_netns(netns_path, [&]() -> Result<void> {
        auto nl = NlSocket::open();
        if (!nl) return nl.error();
        if (auto link = read_link(*nl, ifname, in); !link)
            return nl->last_errno() == ENODEV ? make_error("no interface " + quoted(ifname) + " in " + netns_path)
                                               : step_failed("looking up " + quoted(ifname) + " in " + netns_path, link.error());
        if (auto a = read_addresses(*nl, in); !a) return step_failed("listing addresses in " + netns_path, a.error());
        if (auto rt = read_routes(*nl, in); !rt) return step_failed("listing routes in " + netns_path, rt.error());
        return {};
    });
    if (!r) return r.error();
    return in.state;
}

} // namespace podlane
