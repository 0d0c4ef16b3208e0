// The server side of SASL for smtpd: a client of Dovecot's auth service, speaking the
// Dovecot authentication client protocol (version 1.x) over smtpd_sasl_path, as Postfix's
// xsasl_dovecot does. Dovecot checks the credentials; smtpd only relays the client's
// base64 responses and Dovecot's base64 challenges.
//
// Where it sits: lib/sasl, below smtpd (smtpd_sasl_type = dovecot). The socket is
// smtpd_sasl_path: a UNIX socket path relative to queue_directory ("private/auth") or
// "inet:host:port" (numeric host). The handshake:
//
//   server: VERSION 1 2 / MECH name flags... (one per mechanism) / SPID / CUID / COOKIE / DONE
//   client: VERSION 1 2 / CPID pid
//   client: AUTH id mech service=smtp nologin lip=.. rip=.. [secured] [resp=base64]
//   server: CONT id base64 | OK id user=name ... | FAIL id [reason=text] ...
//   client: CONT id base64
//
// Fields are tab-separated, lines end with LF. Everything the client sends comes from the
// network (it is checked for tabs and line ends before it goes into a request); what
// Dovecot sends is trusted as much as a local service is, but still bounded (line length).
// Nothing here logs a response: it may hold a password.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/file.hpp"
#include "util/result.hpp"

namespace postern {

struct DovecotMechanism {
    std::string name;                // "PLAIN"
    std::vector<std::string> flags;  // "plaintext", "anonymous", "dictionary", "active"...
    bool has_flag(std::string_view flag) const;
};

// smtpd_sasl_security_options (noanonymous, noplaintext, noactive, nodictionary,
// mutual_auth, forward_secrecy) applied to Dovecot's list; private mechanisms are never
// offered. The names, space-separated, in Dovecot's order ("PLAIN LOGIN").
std::string filter_sasl_mechanisms(const std::vector<DovecotMechanism>& mechanisms,
                                   std::string_view security_options);

struct DovecotAuthRequest {
    std::string service = "smtp";  // smtpd_sasl_service
    std::string local_address;
    std::string remote_address;
    bool secured = false;  // TLS is active
};

struct DovecotAuthReply {
    enum class Kind { ok, cont, fail } kind = Kind::fail;
    std::string challenge;   // cont: base64, as Dovecot sent it
    std::string user;        // ok (and sometimes fail)
    std::string reason;      // fail: reason=..., may be empty
    bool temporary = false;  // fail with "temp": Dovecot could not decide
};

class DovecotAuthClient {
  public:
    // Connects and reads the handshake up to DONE; Error when the server cannot be
    // reached or does not speak version 1.
    static Result<DovecotAuthClient> connect(std::string_view path,
                                             std::chrono::milliseconds timeout);

    DovecotAuthClient(DovecotAuthClient&&) noexcept = default;
    DovecotAuthClient& operator=(DovecotAuthClient&&) noexcept = default;

    const std::vector<DovecotMechanism>& mechanisms() const { return mechanisms_; }

    // Starts an authentication. `initial`: the client's initial response (base64; "=" is
    // an empty one), nullopt when none was given.
    Result<DovecotAuthReply> start(std::string_view mechanism,
                                   std::optional<std::string_view> initial,
                                   const DovecotAuthRequest& request);
    // The client's answer to a challenge (base64).
    Result<DovecotAuthReply> respond(std::string_view response);

  private:
    DovecotAuthClient(Fd socket, std::chrono::milliseconds timeout)
        : socket_(std::move(socket)), timeout_(timeout) {}
    Status handshake();
    Status send(const std::string& line);
    Result<std::string> read_line();
    Result<DovecotAuthReply> read_reply();

    Fd socket_;
    std::chrono::milliseconds timeout_;
    std::string input_;
    std::vector<DovecotMechanism> mechanisms_;
    unsigned request_id_ = 0;
};

}  // namespace postern
