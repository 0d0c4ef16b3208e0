// SmtpStream: buffered SMTP line I/O, plain or TLS, with deadlines (see smtp_stream.hpp).
#include "net/smtp_stream.hpp"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "util/log.hpp"

namespace postern {

namespace {

using std::chrono::milliseconds;

constexpr size_t kReadChunk = 16 * 1024;
// Consumed input is dropped from the front of the buffer once this much has piled up.
constexpr size_t kCompactThreshold = 64 * 1024;

SmtpStream::Clock::time_point deadline_after(milliseconds timeout) {
    return SmtpStream::Clock::now() + timeout;
}

int remaining_ms(SmtpStream::Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - SmtpStream::Clock::now());
    if (left.count() <= 0)
        return 0;
    return left.count() > 0x7fffffff ? 0x7fffffff : static_cast<int>(left.count());
}

}  // namespace

SmtpStream::SmtpStream(Fd socket, size_t line_length_limit)
    : socket_(std::move(socket)), line_length_limit_(line_length_limit ? line_length_limit : 1) {
    int flags = fcntl(socket_.get(), F_GETFL);
    if (flags >= 0)
        fcntl(socket_.get(), F_SETFL, flags | O_NONBLOCK);
}

SmtpStream::SmtpStream(SmtpStream&&) noexcept = default;
SmtpStream& SmtpStream::operator=(SmtpStream&&) noexcept = default;
SmtpStream::~SmtpStream() = default;

Error SmtpStream::fail(Error error) {
    failed_ = true;
    if (error.kind() == ErrorKind::timeout)
        timed_out_ = true;
    return error;
}

// Waits until the socket is ready for `events` (POLLIN/POLLOUT) or the deadline passes.
Status SmtpStream::wait_for(int events, Clock::time_point deadline, const char* what) {
    for (;;) {
        int left = remaining_ms(deadline);
        if (left == 0)
            return fail(Error(ErrorKind::timeout, std::string(what) + " timed out"));
        pollfd entry{socket_.get(), static_cast<short>(events), 0};
        int ready = ::poll(&entry, 1, left);
        if (ready > 0)
            return Status::success();
        if (ready < 0 && errno != EINTR)
            return fail(system_error(what, errno));
    }
}

// Reads whatever arrives next (at least one byte, or end of file) into input_.
Status SmtpStream::fill(Clock::time_point deadline) {
    compact_input();
    char chunk[kReadChunk];
    for (;;) {
        if (tls_) {
            size_t got = 0;
            ERR_clear_error();
            errno = 0;
            if (SSL_read_ex(tls_->native(), chunk, sizeof chunk, &got) == 1) {
                input_.append(chunk, got);
                return Status::success();
            }
            int error = SSL_get_error(tls_->native(), 0);
            if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
                auto ready =
                    wait_for(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, "read");
                if (!ready)
                    return ready;
                continue;
            }
            if (error == SSL_ERROR_ZERO_RETURN ||
                (error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0)) {
                eof_ = true;
                return Status::success();
            }
            if (error == SSL_ERROR_SYSCALL && errno == ECONNRESET) {
                peer_closed_ = true;
                return fail(Error(ErrorKind::io, "connection reset by peer"));
            }
            if (error == SSL_ERROR_SYSCALL && errno != 0)
                return fail(system_error("read", errno));
            std::string reasons = tls_take_errors();
            return fail(Error(ErrorKind::protocol,
                              "TLS read failed" + (reasons.empty() ? "" : ": " + reasons)));
        }
        ssize_t got = ::recv(socket_.get(), chunk, sizeof chunk, 0);
        if (got > 0) {
            input_.append(chunk, static_cast<size_t>(got));
            return Status::success();
        }
        if (got == 0) {
            eof_ = true;
            return Status::success();
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (auto ready = wait_for(POLLIN, deadline, "read"); !ready)
                return ready;
            continue;
        }
        if (errno == ECONNRESET) {
            peer_closed_ = true;
            return fail(Error(ErrorKind::io, "connection reset by peer"));
        }
        return fail(system_error("read", errno));
    }
}

void SmtpStream::compact_input() {
    if (input_start_ == input_.size()) {
        input_.clear();
        input_start_ = 0;
    } else if (input_start_ >= kCompactThreshold) {
        input_.erase(0, input_start_);
        input_start_ = 0;
    }
}

// The next line from what is buffered, or nullopt when more input is needed.
std::optional<SmtpLine> SmtpStream::take_line(LongLines long_lines) {
    for (;;) {
        std::string_view available(input_.data() + input_start_, input_.size() - input_start_);
        size_t newline = available.find('\n');
        if (skipping_) {  // the rest of an over-long line nobody wants
            if (newline == std::string_view::npos) {
                input_start_ = input_.size();
                return std::nullopt;
            }
            input_start_ += newline + 1;
            skipping_ = false;
            continue;
        }
        const size_t limit = line_length_limit_;
        if (newline != std::string_view::npos) {
            size_t length = newline;
            if (length > 0 && available[length - 1] == '\r')
                --length;
            if (length <= limit) {
                SmtpLine line{std::string(available.substr(0, length)), true, false, false};
                input_start_ += newline + 1;
                return line;
            }
        } else {
            // Without a newline: too long only once a CRLF could no longer end it in time.
            bool too_long = available.size() > limit &&
                            (eof_ || !(available.size() == limit + 1 && available.back() == '\r'));
            if (!too_long) {
                if (!eof_ || available.empty())
                    return std::nullopt;
                SmtpLine line{std::string(available), false, false, true};
                input_start_ = input_.size();
                return line;
            }
        }
        SmtpLine piece{std::string(available.substr(0, limit)), false, false, false};
        if (long_lines == LongLines::split) {
            input_start_ += limit;
            return piece;
        }
        piece.complete = true;
        piece.truncated = true;
        if (newline != std::string_view::npos) {
            input_start_ += newline + 1;
        } else {
            input_start_ = input_.size();
            skipping_ = true;
        }
        return piece;
    }
}

Result<SmtpLine> SmtpStream::read_line(milliseconds timeout, LongLines long_lines) {
    if (failed_)
        return Error(ErrorKind::io, "stream already failed");
    const auto deadline = deadline_after(timeout);
    for (;;) {
        if (auto line = take_line(long_lines))
            return std::move(*line);
        if (eof_ && buffered_input() == 0) {
            peer_closed_ = true;
            return fail(Error(ErrorKind::io, "lost connection"));
        }
        if (auto filled = fill(deadline); !filled)
            return filled.error();
    }
}

Result<std::string> SmtpStream::read_bytes(size_t limit, milliseconds timeout) {
    if (failed_)
        return Error(ErrorKind::io, "stream already failed");
    const auto deadline = deadline_after(timeout);
    while (buffered_input() == 0) {
        if (eof_) {
            peer_closed_ = true;
            return fail(Error(ErrorKind::io, "lost connection"));
        }
        if (auto filled = fill(deadline); !filled)
            return filled.error();
    }
    size_t take = std::min(limit ? limit : 1, buffered_input());
    std::string bytes = input_.substr(input_start_, take);
    input_start_ += take;
    return bytes;
}

size_t SmtpStream::discard_input() {
    size_t dropped = buffered_input();
    input_.clear();
    input_start_ = 0;
    skipping_ = false;
    return dropped;
}

Status SmtpStream::write(std::string_view data, milliseconds timeout) {
    if (failed_)
        return Error(ErrorKind::io, "stream already failed");
    if (buffered_output() >= kFlushThreshold)
        if (auto flushed = flush(timeout); !flushed)
            return flushed;
    output_.append(data);
    return Status::success();
}

Status SmtpStream::write_line(std::string_view line, milliseconds timeout) {
    if (auto written = write(line, timeout); !written)
        return written;
    output_.append("\r\n");
    return Status::success();
}

Status SmtpStream::flush(milliseconds timeout) {
    if (failed_)
        return Error(ErrorKind::io, "stream already failed");
    const auto deadline = deadline_after(timeout);
    while (output_sent_ < output_.size()) {
        const char* data = output_.data() + output_sent_;
        const size_t length = output_.size() - output_sent_;
        if (tls_) {
            size_t sent = 0;
            ERR_clear_error();
            errno = 0;
            if (SSL_write_ex(tls_->native(), data, length, &sent) == 1) {
                output_sent_ += sent;
                continue;
            }
            int error = SSL_get_error(tls_->native(), 0);
            if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
                if (auto ready = wait_for(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline,
                                          "write");
                    !ready)
                    return ready;
                continue;
            }
            if (error == SSL_ERROR_SYSCALL && (errno == EPIPE || errno == ECONNRESET)) {
                peer_closed_ = true;
                return fail(Error(ErrorKind::io, "lost connection"));
            }
            std::string reasons = tls_take_errors();
            return fail(Error(ErrorKind::protocol,
                              "TLS write failed" + (reasons.empty() ? "" : ": " + reasons)));
        }
        ssize_t sent = ::send(socket_.get(), data, length, MSG_NOSIGNAL);
        if (sent >= 0) {
            output_sent_ += static_cast<size_t>(sent);
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (auto ready = wait_for(POLLOUT, deadline, "write"); !ready)
                return ready;
            continue;
        }
        if (errno == EPIPE || errno == ECONNRESET) {
            peer_closed_ = true;
            return fail(Error(ErrorKind::io, "lost connection"));
        }
        return fail(system_error("write", errno));
    }
    output_.clear();
    output_sent_ = 0;
    return Status::success();
}

Status SmtpStream::handshake(Clock::time_point deadline) {
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int result = SSL_do_handshake(tls_->native());
        if (result == 1)
            return Status::success();
        int error = SSL_get_error(tls_->native(), result);
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
            if (auto ready = wait_for(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline,
                                      "TLS handshake");
                !ready)
                return ready;
            continue;
        }
        std::string reasons = tls_take_errors();
        if (reasons.empty() && error == SSL_ERROR_SYSCALL) {
            peer_closed_ = true;
            return fail(Error(ErrorKind::io,
                              errno != 0 ? std::string("TLS handshake: ") + std::strerror(errno)
                                         : "lost connection during TLS handshake"));
        }
        return fail(Error(ErrorKind::protocol,
                          "TLS handshake failed" + (reasons.empty() ? "" : ": " + reasons)));
    }
}

Status SmtpStream::start_tls_client(const TlsContext& context, const TlsClientPolicy& policy,
                                    milliseconds timeout, std::string_view peer) {
    if (failed_)
        return Error(ErrorKind::io, "stream already failed");
    const auto deadline = deadline_after(timeout);
    if (auto flushed = flush(timeout); !flushed)
        return flushed;
    discarded_plaintext_ += discard_input();
    auto session = TlsSession::client(context, socket_.get(), policy);
    if (!session)
        return fail(session.error());
    tls_.emplace(std::move(*session));
    if (auto done = handshake(deadline); !done)
        return done;
    tls_->collect_info();
    if (policy.settings.log_level >= 1)
        log_info("%s", tls_established_line(tls_->info(), TlsRole::client, peer).c_str());
    std::string refused = tls_client_policy_failure(policy.level, tls_->info());
    if (!refused.empty())
        return Error(ErrorKind::temporary, refused, "4.7.5");
    return Status::success();
}

Status SmtpStream::start_tls_server(const TlsContext& context, const TlsSessionSettings& settings,
                                    milliseconds timeout, std::string_view peer) {
    if (failed_)
        return Error(ErrorKind::io, "stream already failed");
    const auto deadline = deadline_after(timeout);
    if (auto flushed = flush(timeout); !flushed)
        return flushed;
    discarded_plaintext_ += discard_input();
    auto session = TlsSession::server(context, socket_.get(), settings);
    if (!session)
        return fail(session.error());
    tls_.emplace(std::move(*session));
    if (auto done = handshake(deadline); !done)
        return done;
    tls_->collect_info();
    if (settings.log_level >= 1)
        log_info("%s", tls_established_line(tls_->info(), TlsRole::server, peer).c_str());
    return Status::success();
}

void SmtpStream::shutdown_tls(milliseconds timeout) {
    if (!tls_)
        return;
    if (!failed_) {
        (void)flush(timeout);
        ERR_clear_error();
        // One call sends close_notify; not waiting for the peer's (tls_fast_shutdown_enable).
        if (SSL_shutdown(tls_->native()) < 0)
            tls_take_errors();
    }
    failed_ = true;  // plaintext must not follow on this connection
}

}  // namespace postern
