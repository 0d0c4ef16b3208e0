// Result and Status: how Postern reports failure on every path that may not throw.
//
// Where it sits: below everything. Daemons return these through the event loop (no
// exceptions through C frames); the command-line tools turn them into `fatal:` lines.
// The error kinds are the small vocabulary STYLE.md asks for; SMTP replies and DSN text
// are derived from the kind and the enhanced status code in one place (lib/mail, later).
#pragma once

#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace postern {

enum class ErrorKind {
    temporary,  // try again later (4xx)
    permanent,  // will never work (5xx)
    not_found,  // a lookup found nothing; often not an error at all
    corrupt,    // stored data is damaged
    io,         // the operating system said no
    config,     // the administrator's configuration is wrong
    protocol,   // the peer broke the protocol
    timeout,    // the peer or a resource did not answer in time
};

const char* error_kind_name(ErrorKind kind);

class Error {
  public:
    Error(ErrorKind kind, std::string message, std::string enhanced_status = {})
        : kind_(kind), message_(std::move(message)), enhanced_status_(std::move(enhanced_status)) {}

    ErrorKind kind() const { return kind_; }
    const std::string& message() const { return message_; }
    // RFC 3463 code such as "5.1.1", or empty when no mail status applies.
    const std::string& enhanced_status() const { return enhanced_status_; }

  private:
    ErrorKind kind_;
    std::string message_;
    std::string enhanced_status_;
};

// Result<T>: a value or an Error. Accessing the wrong side is a broken invariant.
template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : state_(std::move(value)) {}
    Result(Error error) : state_(std::move(error)) {}

    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & {
        check(true);
        return std::get<0>(state_);
    }
    const T& value() const& {
        check(true);
        return std::get<0>(state_);
    }
    T&& value() && {
        check(true);
        return std::get<0>(std::move(state_));
    }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const {
        check(false);
        return std::get<1>(state_);
    }

  private:
    void check(bool want_value) const {
        if (ok() != want_value)
            std::abort();
    }
    std::variant<T, Error> state_;
};

// Status: success, or an Error.
class [[nodiscard]] Status {
  public:
    Status() = default;
    Status(Error error) : error_(std::move(error)), failed_(true) {}

    static Status success() { return {}; }
    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const Error& error() const {
        if (!failed_)
            std::abort();
        return error_;
    }

  private:
    Error error_{ErrorKind::io, {}};
    bool failed_ = false;
};

}  // namespace postern
