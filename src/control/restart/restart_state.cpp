#include "control/restart/restart_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <rte_byteorder.h>

#include "common/file.h"

namespace podlane {

namespace {

using nlohmann::json;

std::string sha256_hex(const std::string& data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out.push_back(hex[md[i] >> 4]);
        out.push_back(hex[md[i] & 15]);
    }
    return out;
}

uint32_t h32(rte_be32_t v) { return rte_be_to_cpu_32(v); }
uint16_t h16(rte_be16_t v) { return rte_be_to_cpu_16(v); }

// A flow is an array, in this order (addresses and ports in host order):
// src dst sport dport proto  to_src to_dst to_sport to_dport
// flags tcp_state remaining_s packets bytes frontend_key backend_key
constexpr size_t kFlowFields = 16;

json flow_json(const SavedFlow& f) {
    return json::array({h32(f.orig.src), h32(f.orig.dst), h16(f.orig.sport), h16(f.orig.dport), f.orig.proto,
                        h32(f.fwd.src), h32(f.fwd.dst), h16(f.fwd.sport), h16(f.fwd.dport), f.flags, f.tcp_state,
                        f.remaining_s, f.packets, f.bytes, f.frontend_key, f.backend_key});
}

template <typename T>
T field(const json& a, size_t i, const char* what) {
    const json& v = a.at(i);
    if (!v.is_number_unsigned())
        throw std::runtime_error(std::string(what) + " is not an unsigned number");
    const uint64_t n = v.get<uint64_t>();
    if (n > std::numeric_limits<T>::max())
        throw std::runtime_error(std::string(what) + " " + std::to_string(n) + " is out of range");
    return static_cast<T>(n);
}

SavedFlow flow_from(const json& a) {
    if (!a.is_array() || a.size() != kFlowFields)
        throw std::runtime_error("a flow is not an array of " + std::to_string(kFlowFields) + " numbers");
    SavedFlow f;
    f.orig = make_ct_tuple(rte_cpu_to_be_32(field<uint32_t>(a, 0, "src")), rte_cpu_to_be_32(field<uint32_t>(a, 1, "dst")),
                           rte_cpu_to_be_16(field<uint16_t>(a, 2, "sport")),
                           rte_cpu_to_be_16(field<uint16_t>(a, 3, "dport")), field<uint8_t>(a, 4, "proto"));
    f.fwd = CtXlate{rte_cpu_to_be_32(field<uint32_t>(a, 5, "to_src")), rte_cpu_to_be_32(field<uint32_t>(a, 6, "to_dst")),
                    rte_cpu_to_be_16(field<uint16_t>(a, 7, "to_sport")),
                    rte_cpu_to_be_16(field<uint16_t>(a, 8, "to_dport"))};
    f.flags = field<uint8_t>(a, 9, "flags");
    f.tcp_state = field<uint8_t>(a, 10, "tcp_state");
    if (f.tcp_state > static_cast<uint8_t>(CtTcpState::Closing))
        throw std::runtime_error("tcp_state " + std::to_string(f.tcp_state) + " is not a state");
    f.remaining_s = field<uint32_t>(a, 11, "remaining_s");
    f.packets = field<uint32_t>(a, 12, "packets");
    f.bytes = field<uint64_t>(a, 13, "bytes");
    f.frontend_key = field<uint64_t>(a, 14, "frontend_key");
    f.backend_key = field<uint64_t>(a, 15, "backend_key");
    return f;
}

Ipv4Addr ip_from(const json& v) {
    auto ip = Ipv4Addr::parse(v.get<std::string>());
    if (!ip)
        throw std::runtime_error("\"" + v.get<std::string>() + "\" is not an IPv4 address");
    return *ip;
}

} // namespace

std::string encode_restart_state(const RestartState& s) {
    json flows = json::array();
    for (const SavedFlow& f : s.flows)
        flows.push_back(flow_json(f));
    json affinity = json::array();
    for (const SavedAffinity& a : s.affinity)
        affinity.push_back(json{{"client", a.client.str()},
                                {"frontend_key", a.frontend_key},
                                {"backend_key", a.backend_key},
                                {"idle_s", a.idle_s}});
    json neighbors = json::array();
    for (const SavedNeighbor& n : s.neighbors)
        neighbors.push_back(json{{"ip", n.ip.str()}, {"mac", n.mac.str()}});
    const std::string payload = json{{"node", s.node},
                                     {"writer_version", s.writer_version},
                                     {"reason", s.reason},
                                     {"written_unix_ms", s.written_unix_ms},
                                     {"flows", flows},
                                     {"affinity", affinity},
                                     {"neighbors", neighbors}}
                                    .dump();
    return frame_restart_payload(payload);
}

std::string frame_restart_payload(const std::string& payload) {
    return std::string(kRestartStateMagic) + " " + std::to_string(kRestartStateVersion) +
           " bytes=" + std::to_string(payload.size()) + " sha256=" + sha256_hex(payload) + "\n" + payload;
}

Result<RestartState> decode_restart_state(const std::string& bytes) {
    const size_t eol = bytes.find('\n');
    const std::string magic = std::string(kRestartStateMagic) + " ";
    if (bytes.compare(0, magic.size(), magic) != 0 || eol == std::string::npos)
        return make_error("not a podlane restart state file (no \"" + std::string(kRestartStateMagic) + "\" header)");
    const std::string header = bytes.substr(0, eol);
    unsigned long version = 0;
    unsigned long long length = 0;
    char sum[65] = {};
    if (std::sscanf(header.c_str() + magic.size(), "%lu", &version) != 1)
        return make_error("its header has no format version: \"" + header + "\"");
    if (version != kRestartStateVersion)
        return make_error("format version " + std::to_string(version) + "; this podlaned reads version " +
                          std::to_string(kRestartStateVersion) + " only");
    if (std::sscanf(header.c_str() + magic.size(), "%lu bytes=%llu sha256=%64[0-9a-f]", &version, &length, sum) != 3 ||
        std::strlen(sum) != 64)
        return make_error("its header is malformed: \"" + header + "\" (expected bytes=N sha256=HEX)");
    const std::string payload = bytes.substr(eol + 1);
    if (payload.size() != length)
        return make_error("truncated or padded: the header says " + std::to_string(length) + " bytes, the file has " +
                          std::to_string(payload.size()));
    if (sha256_hex(payload) != sum)
        return make_error("corrupted: the payload's SHA-256 does not match its header");
    try {
        const json j = json::parse(payload);
        RestartState s;
        s.node = j.at("node").get<std::string>();
        s.writer_version = j.at("writer_version").get<std::string>();
        s.reason = j.at("reason").get<std::string>();
        s.written_unix_ms = j.at("written_unix_ms").get<int64_t>();
        for (const json& f : j.at("flows"))
            s.flows.push_back(flow_from(f));
        for (const json& a : j.at("affinity"))
            s.affinity.push_back(SavedAffinity{ip_from(a.at("client")), a.at("frontend_key").get<uint64_t>(),
                                               a.at("backend_key").get<uint64_t>(), a.at("idle_s").get<uint32_t>()});
        for (const json& n : j.at("neighbors")) {
            auto mac = MacAddr::parse(n.at("mac").get<std::string>());
            if (!mac)
                throw std::runtime_error("neighbour MAC \"" + n.at("mac").get<std::string>() + "\" is not a MAC");
            s.neighbors.push_back(SavedNeighbor{ip_from(n.at("ip")), *mac});
        }
        return s;
    } catch (const std::exception& e) {
        return make_error(std::string("its payload is not a restart state: ") + e.what());
    }
}

Result<void> write_restart_state(const std::string& path, const RestartState& s) {
    const std::string bytes = encode_restart_state(s);
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return make_error("cannot write " + tmp + ": " + std::strerror(errno));
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            const std::string err = std::strerror(errno);
            ::close(fd);
            ::unlink(tmp.c_str());
            return make_error("cannot write " + tmp + ": " + err);
        }
        done += static_cast<size_t>(n);
    }
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string err = std::strerror(errno);
        ::unlink(tmp.c_str());
        return make_error("cannot put " + path + " in place: " + err);
    }
    return {};
}

Result<RestartState> read_restart_state(const std::string& path) {
    auto bytes = read_file(path);
    if (!bytes)
        return bytes.error();
    auto s = decode_restart_state(*bytes);
    if (!s)
        return make_error("restart state " + path + " refused: " + s.error().message);
    return s;
}

} // namespace podlane
