// The API client library (podlane_client) the CLI, the CNI plugin and the
// tests share. A tiny synchronous client for podlaned's local API (docs/api.md): one JSON
// request line out, one JSON response line back.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"

namespace podlane {

using Json = nlohmann::json;

/// The socket podlaned listens on unless configured otherwise.
inline constexpr const char* kDefaultApiSocket = "/run/podlane/podlane.sock";

/// One connection to the API socket; several requests may be sent in turn.
class ApiClient {
public:
    /// Connects to `socket_path`; the error says whether podlaned is down or root is needed.
    static Result<ApiClient> connect(const std::string& socket_path);

    ApiClient(ApiClient&& other) noexcept;
    ApiClient& operator=(ApiClient&& other) noexcept;
    ~ApiClient();

    /// Sends `line` (a newline is appended) and returns the response line parsed as JSON.
    Result<Json> exchange(const std::string& line);
    /// Sends {"cmd", "args"} and returns the whole response object ({"ok", "data"|"error"}).
    Result<Json> request(const std::string& cmd, const Json& args = Json::object());

private:
    ApiClient(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

    int fd_ = -1;
    std::string path_;
    std::string in_; ///< bytes received after the last response line
};

/// Connects, sends one command and returns its `data`, or the server's error as an Error.
Result<Json> call_api(const std::string& socket_path, const std::string& cmd, const Json& args = Json::object());

} // namespace podlane
