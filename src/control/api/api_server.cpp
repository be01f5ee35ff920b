#include "control/api/api_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <span>
#include <system_error>

#include "control/api/api_args.h"
#include "control/api/api_cni.h"

namespace podlane {

namespace asio = boost::asio;
using boost::system::error_code;
using stream = asio::local::stream_protocol;

namespace {

constexpr const char* kRefused = "permission denied: the podlane API serves root only";

std::string errno_text(int e) { return std::generic_category().message(e); }

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string reply_ok(Json data) { return dump(Json{{"ok", true}, {"data", std::move(data)}}); }
std::string reply_error(const std::string& message) { return dump(Json{{"ok", false}, {"error", message}}); }

// endpoint.add's args → EndpointConfig, with mac and ifname defaults filled in.
EndpointConfig parse_endpoint(const std::string& cmd, const Json& args) {
    check_known(cmd, args, {"id", "ip", "mac", "netns", "ifname", "labels", "host_ports", "vhost_socket",
                            "memif_socket", "memif_role", "memif_zero_copy"});
    EndpointConfig ep;
    ep.id = required_string(cmd, args, "id");
    ep.ip = *ipv4_arg(cmd, args, "ip", true);
    ep.mac = mac_arg(cmd, args, "mac").value_or(MacAddr::from_ipv4(ep.ip));
    ep.vhost_socket = optional_string(cmd, args, "vhost_socket").value_or("");
    ep.memif_socket = optional_string(cmd, args, "memif_socket").value_or("");
    if (auto role = optional_string(cmd, args, "memif_role")) {
        if (*role != "server" && *role != "client")
            throw RequestError{cmd + ": memif_role: " + show(*role) + " is not server or client"};
        ep.memif_role = *role == "server" ? MemifRole::Server : MemifRole::Client;
    }
    if (auto it = args.find("memif_zero_copy"); it != args.end() && !it->is_null()) {
        if (!it->is_boolean())
            throw RequestError{cmd + ": memif_zero_copy: " + show(*it) + " is not true or false"};
        ep.memif_zero_copy = it->get<bool>();
    }
    ep.netns = ep.over_socket() ? optional_string(cmd, args, "netns").value_or("")
                                : required_string(cmd, args, "netns");
    if (auto ifname = optional_string(cmd, args, "ifname"))
        ep.ifname = *ifname;
    ep.labels = labels_arg(cmd, args);
    ep.host_ports = host_ports_arg(cmd, args, false);
    return ep;
}

Json endpoint_add(ControlApi& api, const std::string& cmd, const Json& args) {
    return data_of(api.endpoint_add(parse_endpoint(cmd, args)));
}

Json endpoint_delete(ControlApi& api, const std::string& cmd, const Json& args) {
    check_known(cmd, args, {"id"});
    auto deleted = api.endpoint_delete(required_string(cmd, args, "id"));
    if (!deleted)
        throw RequestError{deleted.error().message};
    return nullptr;
}

Json service_maglev(ControlApi& api, const std::string& cmd, const Json& args) {
    check_known(cmd, args, {"service"});
    return data_of(api.service_maglev(required_string(cmd, args, "service")));
}

Json service_update(ControlApi& api, const std::string& cmd, const Json& args) {
    check_known(cmd, args, {"yaml"});
    return data_of(api.service_update(required_string(cmd, args, "yaml")));
}

Json service_delete(ControlApi& api, const std::string& cmd, const Json& args) {
    check_known(cmd, args, {"name"});
    return data_of(api.service_delete(required_string(cmd, args, "name")));
}

// A non-negative integer argument; `dflt` when absent or null.
uint64_t number_arg(const std::string& cmd, const Json& args, const char* key, uint64_t dflt) {
    auto it = args.find(key);
    if (it == args.end() || it->is_null())
        return dflt;
    if (!it->is_number_unsigned())
        throw RequestError{cmd + ": " + key + " must be a non-negative integer"};
    return it->get<uint64_t>();
}

Json flow_list(ControlApi& api, const std::string& cmd, const Json& args) {
    check_known(cmd, args, {"since", "last"});
    return api.flow_list(number_arg(cmd, args, "since", 0),
                         static_cast<uint32_t>(std::min<uint64_t>(number_arg(cmd, args, "last", 1000), 100000)));
}

Json capture_start(ControlApi& api, const std::string& cmd, const Json& args) {
    check_known(cmd, args, {"filter", "path", "count", "snaplen"});
    const uint64_t snaplen = number_arg(cmd, args, "snaplen", 0);
    if (snaplen > 65535)
        throw RequestError{cmd + ": snaplen must be at most 65535"};
    return data_of(api.capture_start(optional_string(cmd, args, "filter").value_or(""), required_string(cmd, args, "path"),
                                     number_arg(cmd, args, "count", 0), static_cast<uint32_t>(snaplen)));
}

/// The server's own commands, in the order the unknown-command error lists
/// them; the cni.* commands (cni_commands()) follow.
constexpr ApiCommand kCommands[] = {
    {"status", serve_no_args<&ControlApi::status>},
    {"endpoint.list", serve_no_args<&ControlApi::endpoint_list>},
    {"endpoint.add", endpoint_add},
    {"endpoint.delete", endpoint_delete},
    {"stats", serve_no_args<&ControlApi::stats>},
    {"ipcache.list", serve_no_args<&ControlApi::ipcache_list>},
    {"identity.list", serve_no_args<&ControlApi::identity_list>},
    {"policy.get", serve_no_args<&ControlApi::policy_get>},
    {"neighbor.list", serve_no_args<&ControlApi::neighbor_list>},
    {"service.list", serve_no_args<&ControlApi::service_list>},
    {"service.maglev", service_maglev},
    {"service.update", service_update},
    {"service.delete", service_delete},
    {"ct.list", serve_no_args<&ControlApi::ct_list>},
    {"nat.list", serve_no_args<&ControlApi::nat_list>},
    {"flow.list", flow_list},
    {"capture.start", capture_start},
    {"capture.status", serve_no_args<&ControlApi::capture_status>},
    {"capture.stop", serve_no_args<&ControlApi::capture_stop>},
    {"bgp.peers", serve_no_args<&ControlApi::bgp_peers>},
    {"bgp.routes", serve_no_args<&ControlApi::bgp_routes_list>},
    {"lbipam.pools", serve_no_args<&ControlApi::lb_ipam_pools>},
    {"clustermesh.status", serve_no_args<&ControlApi::clustermesh_status>},
    {"health.status", serve_no_args<&ControlApi::health_status>},
};

Json dispatch(ControlApi& api, const std::string& cmd, const Json& args) {
    const std::span<const ApiCommand> tables[] = {kCommands, cni_commands()};
    for (std::span<const ApiCommand> table : tables)
        for (const ApiCommand& c : table)
            if (c.name == cmd)
                return c.serve(api, cmd, args);
    std::string known;
    for (std::span<const ApiCommand> table : tables)
        for (const ApiCommand& c : table)
            known += (known.empty() ? "" : ", ") + std::string(c.name);
    throw RequestError{"unknown command " + show(cmd) + " (commands: " + known + ")"};
}

bool peer_is_root(stream::socket& socket) {
    ucred cred{};
    socklen_t len = sizeof cred;
    return ::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == 0;
}

// Creates `dir` with mode 0700 if it does not exist; an existing directory is left as it is.
Result<void> ensure_directory(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0700) == 0)
        return ::chmod(dir.c_str(), 0700) == 0 ? Result<void>{}
                                                : make_error("cannot chmod 0700 " + dir + ": " + errno_text(errno));
    int e = errno;
    struct stat st {};
    if (e == EEXIST && ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        return {};
    if (e == EEXIST)
        return make_error("cannot create API socket directory " + dir + ": it exists and is not a directory");
    return make_error("cannot create API socket directory " + dir + ": " + errno_text(e));
}

// Removes a socket file nobody listens on; refuses to touch a live socket or a non-socket.
Result<void> remove_stale_socket(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0)
        return errno == ENOENT ? Result<void>{} : make_error("cannot stat " + path + ": " + errno_text(errno));
    if (!S_ISSOCK(st.st_mode))
        return make_error(path + " exists and is not a socket; refusing to replace it");
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return make_error("cannot create a socket: " + errno_text(errno));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    int e = errno;
    ::close(fd);
    if (rc == 0 || e == EAGAIN)
        return make_error(path + " is already being served (is another podlaned running?)");
    if (e != ECONNREFUSED && e != ENOENT)
        return make_error("cannot check whether " + path + " is in use: " + errno_text(e));
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return make_error("cannot remove stale socket " + path + ": " + errno_text(errno));
    return {};
}

} // namespace

std::string handle_request_line(ControlApi& api, std::string_view line) {
    try {
        Json request;
        try {
            request = Json::parse(line);
        } catch (const Json::parse_error& e) {
            std::string what = e.what(); // "[json.exception.parse_error.101] parse error at ..."
            auto pos = what.find("] ");
            return reply_error("invalid JSON: " + (pos == std::string::npos ? what : what.substr(pos + 2)));
        }
        if (!request.is_object())
            return reply_error(R"(bad request: expected a JSON object like {"cmd": "status", "args": {}})");
        auto cmd = request.find("cmd");
        if (cmd == request.end() || !cmd->is_string())
            return reply_error(R"(bad request: missing "cmd" (a string such as "status"))");
        Json args = Json::object();
        if (auto it = request.find("args"); it != request.end() && !it->is_null()) {
            if (!it->is_object())
                return reply_error(R"(bad request: "args" must be a JSON object)");
            args = *it;
        }
        return reply_ok(dispatch(api, cmd->get<std::string>(), args));
    } catch (const RequestError& e) {
        return reply_error(e.message);
    } catch (const std::exception& e) {
        return reply_error(std::string("internal error: ") + e.what());
    } catch (...) {
        return reply_error("internal error");
    }
}

/// One accepted connection: reads request lines and writes one response line each, in order.
class ApiServer::Session : public std::enable_shared_from_this<Session> {
public:
    Session(stream::socket socket, ControlApi& api) : socket_(std::move(socket)), api_(api) {}

    /// Starts serving, or answers a refusal and closes when the peer is not allowed.
    void start(bool allowed) {
        if (allowed)
            read_next();
        else
            send(reply_error(kRefused), true);
    }

    /// Closes the connection; pending handlers complete with operation_aborted.
    void close() {
        error_code ec;
        socket_.close(ec);
    }

private:
    void read_next() {
        asio::async_read_until(socket_, asio::dynamic_buffer(in_, kMaxRequestLine), '\n',
                               [self = shared_from_this()](error_code ec, std::size_t n) { self->on_read(ec, n); });
    }

    void on_read(error_code ec, std::size_t n) {
        if (ec == asio::error::not_found) // the buffer filled up without a newline
            return send(reply_error("request line too long (the limit is 64 KiB)"), true);
        bool last = ec == asio::error::eof && !in_.empty(); // a final line without newline
        if (ec && !last)
            return; // peer closed, connection reset, or stop()
        std::string_view line(in_.data(), last ? in_.size() : n - 1);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        std::string reply = line.empty() ? reply_error("empty request line") : handle_request_line(api_, line);
        in_.erase(0, last ? in_.size() : n);
        send(std::move(reply), last);
    }

    void send(std::string reply, bool close_after) {
        out_ = std::move(reply);
        out_ += '\n';
        asio::async_write(socket_, asio::buffer(out_),
                          [self = shared_from_this(), close_after](error_code ec, std::size_t) {
                              if (ec || close_after)
                                  self->close();
                              else
                                  self->read_next();
                          });
    }

    stream::socket socket_;
    ControlApi& api_;
    std::string in_;
    std::string out_;
};

ApiServer::ApiServer(asio::io_context& io, ControlApi& api, std::string socket_path)
    : api_(api), path_(std::move(socket_path)), acceptor_(io), retry_timer_(io) {}

ApiServer::~ApiServer() {
    *alive_ = false;
    stop();
}

Result<void> ApiServer::start() {
    if (acceptor_.is_open())
        return make_error("the API server is already listening on " + path_);
    if (path_.empty())
        return make_error("the API socket path is empty");
    if (path_.size() >= sizeof(sockaddr_un{}.sun_path))
        return make_error("API socket path " + path_ + " is too long (at most 107 bytes)");
    if (auto dir = std::filesystem::path(path_).parent_path(); !dir.empty())
        if (auto made = ensure_directory(dir.string()); !made)
            return made;
    if (auto removed = remove_stale_socket(path_); !removed)
        return removed;

    error_code ec;
    stream::endpoint endpoint(path_);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec)
        acceptor_.bind(endpoint, ec);
    if (ec) {
        acceptor_.close(ec);
        return make_error("cannot bind API socket " + path_ + ": " + ec.message());
    }
    bound_ = true;
    // Before listen(), nobody can connect yet: no window with a wider mode.
    if (::chmod(path_.c_str(), 0600) != 0) {
        int e = errno;
        stop();
        return make_error("cannot chmod 0600 " + path_ + ": " + errno_text(e));
    }
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        stop();
        return make_error("cannot listen on API socket " + path_ + ": " + ec.message());
    }
    accept_next();
    return {};
}

void ApiServer::stop() {
    error_code ec;
    retry_timer_.cancel();
    acceptor_.close(ec);
    for (auto& weak : sessions_)
        if (auto session = weak.lock())
            session->close();
    sessions_.clear();
    if (bound_) {
        ::unlink(path_.c_str());
        bound_ = false;
    }
}

void ApiServer::accept_next() {
    acceptor_.async_accept([this, alive = alive_](error_code ec, stream::socket socket) {
        if (!*alive || !acceptor_.is_open())
            return; // destroyed or stopped
        if (ec) { // e.g. EMFILE: retry shortly rather than spin
            retry_timer_.expires_after(std::chrono::milliseconds(100));
            retry_timer_.async_wait([this, alive](error_code timer_ec) {
                if (*alive && !timer_ec && acceptor_.is_open())
                    accept_next();
            });
            return;
        }
        sessions_.remove_if([](const std::weak_ptr<Session>& w) { return w.expired(); });
        bool allowed = peer_is_root(socket);
        auto session = std::make_shared<Session>(std::move(socket), api_);
        sessions_.push_back(session);
        session->start(allowed);
        accept_next();
    });
}

} // namespace podlane
