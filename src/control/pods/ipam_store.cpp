#include "control/pods/ipam_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/file.h"
#include "control/pods/cni_json.h"

namespace podlane {

using Json = nlohmann::json;

namespace {

std::string errno_text(int e) { return std::strerror(e); }

/// mkdir -p with mode 0700 for what it creates.
Result<void> make_dirs(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
        return make_error("cannot create IPAM state directory " + dir + ": " + ec.message());
    if (!std::filesystem::is_directory(dir, ec))
        return make_error("IPAM state directory " + dir + " is not a directory");
    ::chmod(dir.c_str(), 0700);
    return {};
}

/// Writes `text` to `path` atomically: a temporary file next to it, fsync,
/// rename over `path`, fsync of the directory. A crash leaves either the old
/// or the new file, never a torn one.
Result<void> write_atomically(const std::string& dir, const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return make_error("cannot write " + tmp + ": " + errno_text(errno));
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return make_error("cannot write " + tmp + ": " + errno_text(e));
        }
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return make_error("cannot write " + tmp + ": " + errno_text(e));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return make_error("cannot replace " + path + ": " + errno_text(e));
    }
    if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return {};
}

uint32_t first_host(const Ipv4Prefix& c) { return c.addr.host() + (c.len >= 31 ? 0 : 1); }
uint32_t last_host(const Ipv4Prefix& c) { return (c.addr.host() | ~c.mask_host()) - (c.len >= 31 ? 0 : 1); }

} // namespace

bool IpamStore::has_state(const std::string& dir) {
    std::error_code ec;
    return std::filesystem::exists(std::filesystem::path(dir) / kStateFile, ec);
}

Result<std::unique_ptr<IpamStore>> IpamStore::open(const std::string& dir, const Ipv4Prefix& pod_cidr,
                                                   Ipv4Addr gateway) {
    if (dir.empty() || dir[0] != '/')
        return make_error("IPAM state directory \"" + dir + "\" is not an absolute path");
    if (auto r = make_dirs(dir); !r)
        return r.error();
    const std::string lock_path = dir + "/lock";
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return make_error("cannot open " + lock_path + ": " + errno_text(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[32] = {};
        ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
        ::close(fd);
        if (e == EWOULDBLOCK)
            return make_error("IPAM state directory " + dir + " is in use by another podlaned" +
                              (n > 0 ? " (pid " + std::string(pid, strcspn(pid, "\n")) + ")" : std::string()) +
                              ": give each agent its own ipam.state_dir");
        return make_error("cannot lock " + lock_path + ": " + errno_text(e));
    }
    const std::string me = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0 && ::pwrite(fd, me.data(), me.size(), 0) < 0) {
        // the pid is only for the message above; a failure here changes nothing
    }
    std::unique_ptr<IpamStore> store(new IpamStore(dir, fd, pod_cidr, gateway));
    store->last_ = Ipv4Addr::from_host(first_host(pod_cidr) - 1);
    if (auto r = store->load(); !r)
        return r.error();
    return store;
}

IpamStore::~IpamStore() {
    if (lock_fd_ >= 0)
        ::close(lock_fd_); // releases the flock
}

Result<void> IpamStore::load() {
    const std::string path = dir_ + "/" + kStateFile;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) && !ec)
        return {}; // a new directory: nothing allocated yet
    auto text = read_file(path);
    if (!text)
        return make_error(text.error().message + "; move it away to start with no allocations");
    Json j;
    try {
        j = Json::parse(*text);
    } catch (const Json::exception& e) {
        return make_error(path + ": not valid JSON (" + e.what() + "); move it away to start with no allocations");
    }
    if (!j.is_object() || !j.contains("attachments") || !j["attachments"].is_array())
        return make_error(path + ": expected {\"attachments\": [...]}; move it away to start with no allocations");
    if (auto last = Ipv4Addr::parse(j.value("last_allocated", std::string())); last && cidr_.contains(*last))
        last_ = *last;
    bool changed = false;
    for (size_t i = 0; i < j["attachments"].size(); ++i) {
        auto a = attachment_from_json(j["attachments"][i]);
        if (!a)
            return make_error(path + ": attachments[" + std::to_string(i) + "]: " + a.error().message);
        std::optional<std::string> why;
        if (auto bad = unusable(a->ip, [](Ipv4Addr) { return false; }))
            why = *bad;
        else if (attachments_.count(a->key))
            why = "recorded twice";
        if (why) {
            dropped_.push_back(a->key.str() + ": " + a->ip.str() + " " + *why);
            changed = true;
            continue;
        }
        used_.insert(a->ip);
        attachments_.emplace(a->key, std::move(*a));
    }
    return changed ? save() : Result<void>{};
}

Result<void> IpamStore::save() const {
    Json list = Json::array();
    for (const auto& [key, a] : attachments_)
        list.push_back(attachment_json(a));
    Json j{{"version", 1},
           {"pod_cidr", cidr_.str()},
           {"last_allocated", last_.str()},
           {"attachments", std::move(list)}};
    return write_atomically(dir_, dir_ + "/" + kStateFile, j.dump(1) + "\n");
}

const CniAttachment* IpamStore::find(const CniKey& key) const {
    auto it = attachments_.find(key);
    return it == attachments_.end() ? nullptr : &it->second;
}

size_t IpamStore::capacity() const {
    const uint32_t lo = first_host(cidr_), hi = last_host(cidr_);
    const size_t hosts = size_t{hi} - lo + 1;
    return hosts - (gateway_.host() >= lo && gateway_.host() <= hi ? 1 : 0);
}

std::optional<std::string> IpamStore::unusable(Ipv4Addr ip, const std::function<bool(Ipv4Addr)>& taken) const {
    if (!cidr_.contains(ip))
        return "is outside the PodCIDR " + cidr_.str();
    if (ip.host() < first_host(cidr_) || ip.host() > last_host(cidr_))
        return "is the network or broadcast address of " + cidr_.str();
    if (ip == gateway_)
        return "is the gateway";
    if (used_.count(ip))
        return "is already allocated";
    if (taken(ip))
        return "is used by another endpoint";
    return std::nullopt;
}

Result<CniAttachment> IpamStore::allocate(CniAttachment a, std::optional<Ipv4Addr> requested,
                                          const std::function<bool(Ipv4Addr)>& taken) {
    if (attachments_.count(a.key))
        return make_error("attachment " + a.key.str() + " already has address " + find(a.key)->ip.str());
    if (requested) {
        if (auto why = unusable(*requested, taken))
            return make_error("requested address " + requested->str() + " " + *why);
        a.ip = *requested;
    } else {
        const uint32_t lo = first_host(cidr_), hi = last_host(cidr_);
        const uint32_t n = hi - lo + 1;
        const uint32_t start = last_.host() >= lo && last_.host() <= hi ? last_.host() - lo + 1 : 0;
        bool found = false;
        for (uint32_t i = 0; i < n && !found; ++i) {
            const Ipv4Addr ip = Ipv4Addr::from_host(lo + (start + i) % n);
            if (!unusable(ip, taken)) {
                a.ip = ip;
                found = true;
            }
        }
        if (!found)
            return make_error("no free address left in " + cidr_.str() + " (" + std::to_string(used_.size()) +
                              " allocated to pods, the rest is the gateway or used by other endpoints)");
    }
    if (a.mac.is_zero())
        a.mac = MacAddr::from_ipv4(a.ip);
    const Ipv4Addr previous_last = last_;
    if (!requested)
        last_ = a.ip;
    used_.insert(a.ip);
    auto [it, inserted] = attachments_.emplace(a.key, a);
    if (auto r = save(); !r) {
        attachments_.erase(it);
        used_.erase(a.ip);
        last_ = previous_last;
        return r.error();
    }
    return a;
}

Result<bool> IpamStore::release(const CniKey& key) {
    auto it = attachments_.find(key);
    if (it == attachments_.end())
        return false;
    const CniAttachment gone = it->second;
    used_.erase(gone.ip);
    attachments_.erase(it);
    if (auto r = save(); !r) {
        used_.insert(gone.ip);
        attachments_.emplace(key, gone);
        return r.error();
    }
    return true;
}

Result<std::vector<CniAttachment>> IpamStore::retain(const std::set<CniKey>& keep) {
    std::vector<CniAttachment> gone;
    for (auto it = attachments_.begin(); it != attachments_.end();) {
        if (keep.count(it->first)) {
            ++it;
            continue;
        }
        gone.push_back(it->second);
        used_.erase(it->second.ip);
        it = attachments_.erase(it);
    }
    if (gone.empty())
        return gone;
    if (auto r = save(); !r) {
        for (CniAttachment& a : gone) {
            used_.insert(a.ip);
            attachments_.emplace(a.key, a);
        }
        return r.error();
    }
    return gone;
}

} // namespace podlane
