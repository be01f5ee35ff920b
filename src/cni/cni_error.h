// podlane-cni's error model: a CNI error code (CNI spec, "Error") with a
// message and details, which the plugin prints as the runtime's error JSON
// {"cniVersion", "code", "msg", "details"} and exits non-zero.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace podlane::cni {

/// The spec's well-known codes, and podlane-cni's own (100 and up).
enum class Code : uint32_t {
    IncompatibleVersion = 1, ///< the config's cniVersion is not supported
    UnsupportedField = 2,    ///< a config field podlane-cni does not support (e.g. "ipam")
    UnknownContainer = 3,    ///< the container is not known (CHECK)
    InvalidEnv = 4,          ///< a CNI_* variable is missing or invalid
    IoFailure = 5,           ///< reading stdin failed
    DecodingFailure = 6,     ///< stdin is not JSON
    InvalidConfig = 7,       ///< a config field has a wrong type or value
    TryAgainLater = 11,      ///< podlaned is not reachable (down or restarting)
    NotAvailable = 50,       ///< STATUS: ADD cannot be served now
    AgentRefused = 100,      ///< podlaned refused the request; msg says why
    CheckFailed = 101,       ///< CHECK: the pod does not look as podlane attached it
};

/// A failure as the runtime sees it.
struct CniError {
    Code code;
    std::string msg;
    std::string details;
};

inline CniError cni_error(Code code, std::string msg, std::string details = {}) {
    return CniError{code, std::move(msg), std::move(details)};
}

/// Either a T or a CniError (the plugin's counterpart of Result<T>).
template <typename T>
class [[nodiscard]] CniResult {
public:
    CniResult(T value) : v_(std::move(value)) {}
    CniResult(CniError e) : v_(std::move(e)) {}

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    const CniError& error() const { return std::get<1>(v_); }

private:
    std::variant<T, CniError> v_;
};

} // namespace podlane::cni
