// Result<T>: the control side's single error model (C++20 has no std::expected).
// A control function returns either a value or an Error with a message that is
// fit to show an operator as it is.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace podlane {

/// A failure with an operator-facing message.
struct Error {
    std::string message;
};

/// Either a T or an Error.
template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error e) : v_(std::move(e)) {}

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

/// Result of an operation that yields nothing but may fail.
template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error e) : err_(std::move(e)), failed_(true) {}

    bool ok() const noexcept { return !failed_; }
    explicit operator bool() const noexcept { return ok(); }
    const Error& error() const { return err_; }

private:
    Error err_;
    bool failed_ = false;
};

inline Error make_error(std::string message) { return Error{std::move(message)}; }

} // namespace podlane
