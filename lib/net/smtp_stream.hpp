// SmtpStream: a buffered line stream over one connected socket, plain or TLS, as the SMTP
// client (smtp/) and server (smtpd/) speak it: read a line within a deadline, write with
// buffering, flush, and switch to TLS in the middle (STARTTLS) or from the start
// (wrapper mode, port 465).
//
// Where it sits: lib/net, over lib/tls (the handshake and record I/O) and lib/util (Fd).
// Why not lib/util: it knows SMTP's line rules and TLS, which util must not (util knows
// nothing about mail or OpenSSL). Everything read is untrusted peer input.
//
// Lines: a line ends at LF; a CR right before the LF is stripped too (CRLF and bare LF are
// both accepted, as Postfix's smtp_get does). A line longer than line_length_limit comes
// back in pieces of at most that many bytes with `complete = false` on every piece but the
// last (LongLines::split: DATA content, where Postfix writes REC_TYPE_CONT records), or as
// its first piece with the rest discarded up to and including the LF and
// `truncated = true` (LongLines::skip: commands and replies). End of file in the middle of
// a line returns what arrived with `complete = false` and `at_eof = true`; the next read
// fails with peer_closed().
//
// Deadlines: each call's timeout bounds the whole operation, however the peer dribbles.
// Failures, by kind, distinct so callers log "timeout after X" vs "lost connection after X":
//   ErrorKind::timeout   the deadline passed (timed_out() is then true)
//   ErrorKind::io        the peer closed the connection (peer_closed() is then true), or a
//                        system call failed (errno text in the message)
//   ErrorKind::protocol  a TLS failure (OpenSSL's reason in the message)
// After a failure the stream refuses further I/O (failed() is true): close it.
//
// STARTTLS and command injection (CVE-2011-0411 class): bytes the peer sent after the
// STARTTLS line (or, on the client, after the 220 reply) are plaintext that an attacker
// could have injected. buffered_input() says how many are waiting; start_tls_*() discard
// them (returned in discarded_plaintext_bytes()) so they never reach the TLS session.
// smtpd should check buffered_input() right after reading STARTTLS and reject or log.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "tls/tls_context.hpp"
#include "util/file.hpp"
#include "util/result.hpp"

namespace postern {

struct SmtpLine {
    std::string text;        // without the line end
    bool complete = true;    // ended with LF (false: a piece of a longer line, or EOF)
    bool truncated = false;  // LongLines::skip dropped the rest of an over-long line
    bool at_eof = false;     // the connection ended right after this text
};

enum class LongLines { split, skip };

class SmtpStream {
  public:
    using Clock = std::chrono::steady_clock;

    // Takes the socket and makes it non-blocking (I/O waits in poll()). line_length_limit
    // is Postfix's line_length_limit (2048 by default); at least 1.
    explicit SmtpStream(Fd socket, size_t line_length_limit = 2048);
    SmtpStream(SmtpStream&&) noexcept;
    SmtpStream& operator=(SmtpStream&&) noexcept;
    ~SmtpStream();

    // One line within `timeout`.
    Result<SmtpLine> read_line(std::chrono::milliseconds timeout,
                               LongLines long_lines = LongLines::skip);
    // Up to `limit` raw bytes (at least one), for BDAT chunks; what is buffered first.
    Result<std::string> read_bytes(size_t limit, std::chrono::milliseconds timeout);

    // Appends to the output buffer; flushes first (within `timeout`) when the buffer
    // already holds kFlushThreshold bytes or more, so a large DATA body streams.
    Status write(std::string_view data, std::chrono::milliseconds timeout);
    // write() of `line` and CRLF.
    Status write_line(std::string_view line, std::chrono::milliseconds timeout);
    // Sends everything buffered within `timeout`.
    Status flush(std::chrono::milliseconds timeout);
    size_t buffered_output() const { return output_.size() - output_sent_; }

    // Bytes received and not yet returned by read_line()/read_bytes() (plaintext input
    // pipelined after STARTTLS, when called right after reading that command).
    size_t buffered_input() const { return input_.size() - input_start_; }
    // Drops buffered input; returns how many bytes were dropped.
    size_t discard_input();

    // STARTTLS. Flushes pending output, discards buffered plaintext input, and runs the
    // handshake within `timeout`. The client checks the certificate as `policy` says:
    // a failed check at verify/secure is an ErrorKind::temporary error with
    // tls_client_policy_failure()'s text after a complete handshake (tls() then still
    // describes the session, for logging). When log_level >= 1, logs
    // tls_established_line() for `peer` ("host[addr]:port" or "host[addr]").
    Status start_tls_client(const TlsContext& context, const TlsClientPolicy& policy,
                            std::chrono::milliseconds timeout, std::string_view peer);
    Status start_tls_server(const TlsContext& context, const TlsSessionSettings& settings,
                            std::chrono::milliseconds timeout, std::string_view peer);
    // Sends close_notify (without waiting for the peer's: tls_fast_shutdown_enable); the
    // caller closes the stream next. Call it after QUIT: a client session that ends
    // without close_notify is not resumed later (OpenSSL forgets it, as after an error).
    void shutdown_tls(std::chrono::milliseconds timeout);

    bool tls_active() const { return tls_.has_value(); }
    // The TLS session after start_tls_*(); nullptr in plaintext.
    const TlsSession* tls() const { return tls_ ? &*tls_ : nullptr; }
    size_t discarded_plaintext_bytes() const { return discarded_plaintext_; }

    bool peer_closed() const { return peer_closed_; }
    bool timed_out() const { return timed_out_; }
    bool failed() const { return failed_; }
    int fd() const { return socket_.get(); }
    size_t line_length_limit() const { return line_length_limit_; }
    void set_line_length_limit(size_t limit) { line_length_limit_ = limit ? limit : 1; }

    static constexpr size_t kFlushThreshold = 64 * 1024;

  private:
    Status fill(Clock::time_point deadline);
    Status handshake(Clock::time_point deadline);
    Status wait_for(int ssl_result_or_events, Clock::time_point deadline, const char* what);
    Error fail(Error error);
    std::optional<SmtpLine> take_line(LongLines long_lines);
    void compact_input();

    Fd socket_;
    size_t line_length_limit_;
    std::string input_;
    size_t input_start_ = 0;
    bool skipping_ = false;  // inside the discarded tail of an over-long line
    std::string output_;
    size_t output_sent_ = 0;
    std::optional<TlsSession> tls_;
    size_t discarded_plaintext_ = 0;
    bool eof_ = false;
    bool peer_closed_ = false;
    bool timed_out_ = false;
    bool failed_ = false;
};

}  // namespace postern
