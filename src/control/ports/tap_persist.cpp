#include "control/ports/tap_persist.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace podlane {

Result<void> set_tap_persistent(const std::string& ifname, bool persistent) {
    if (ifname.empty() || ifname.size() >= IFNAMSIZ)
        return make_error("invalid TAP name \"" + ifname + "\"");
    // TUNSETIFF on a name that does not exist would create a TAP: look first.
    if (if_nametoindex(ifname.c_str()) == 0)
        return make_error("no interface \"" + ifname + "\" to make " + (persistent ? "persistent" : "transient"));
    const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return make_error(std::string("cannot open /dev/net/tun: ") + std::strerror(errno));
    ifreq ifr{};
    // net_tap's flags (IFF_TAP | IFF_MULTI_QUEUE): attaching needs the same
    // type and queue mode; an interface of another kind answers EINVAL.
    ifr.ifr_flags = IFF_TAP | IFF_MULTI_QUEUE | IFF_NO_PI;
    std::memcpy(ifr.ifr_name, ifname.c_str(), ifname.size());
    std::string err;
    if (::ioctl(fd, TUNSETIFF, &ifr) != 0)
        err = "\"" + ifname + "\" is not a TAP podlane made (TUNSETIFF: " + std::strerror(errno) + ")";
    else if (::ioctl(fd, TUNSETPERSIST, persistent ? 1 : 0) != 0)
        err = "TUNSETPERSIST on \"" + ifname + "\": " + std::strerror(errno);
    ::close(fd);
    if (!err.empty())
        return make_error(err);
    return {};
}

} // namespace podlane
