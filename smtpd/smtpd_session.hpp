// One SMTP conversation, as a state machine fed with what the client sends and producing
// the replies, with no I/O of its own: smtpd's main loop (main.cpp) reads the socket and
// writes the replies, the unit tests and the fuzz target feed it directly.
//
// Where it sits: smtpd/, the heart of the daemon. Everything it is given is untrusted
// network input: any bytes, any order, any length (the caller cuts lines at
// line_length_limit and passes the pieces). Nothing here may crash, assert, or grow
// without bound: content goes straight to the sink, recipient counts are capped, errors
// are counted and end the session at smtpd_hard_error_limit.
// Commands: HELO, EHLO, MAIL, RCPT, DATA, BDAT, RSET, NOOP, VRFY, ETRN, QUIT, AUTH,
// STARTTLS, with Postfix 3.7's replies and enhanced status codes (docs/smtpd.md).
// RFCs: 5321 (SMTP), 1869/1870 (ESMTP, SIZE), 2920 (PIPELINING), 3030 (CHUNKING),
// 3461 (DSN), 6152 (8BITMIME), 6531 (SMTPUTF8), 2034/3463 (enhanced status codes).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "queue/queue_file.hpp"
#include "queue/queue_id.hpp"
#include "smtpd/message_sink.hpp"
#include "smtpd/restrictions.hpp"
#include "smtpd/smtpd_settings.hpp"

namespace postern::smtpd {

struct ClientIdentity {
    std::string name = "unknown";  // verified host name, or "unknown"
    std::string reverse_name = "unknown";
    // As lib/dns/client_name.hpp: 2 found, 4 temporary failure, 5 permanent (also what
    // smtpd_peername_lookup = no gives, as in Postfix).
    int name_status = 5;
    int reverse_name_status = 5;
    std::string address;  // numeric
    std::string port;
    std::string address_type = "ipv4";  // "ipv4", "ipv6"
    // "name[address]", as Postfix logs the client.
    std::string name_and_address() const { return name + "[" + address + "]"; }
};

// What the session asks of the world, injectable for tests.
struct SessionServices {
    MessageSinkFactory* sinks = nullptr;
    Restrictions* restrictions = nullptr;             // null: no restrictions at all
    std::function<void(std::chrono::seconds)> sleep;  // smtpd_error_sleep_time
    std::function<QueueTime()> now;
    std::function<std::string(std::time_t)> date;  // Received: date (mail_date)
    // ETRN: asks the flush service to deliver a site's mail; the flush_status
    // (lib/queue/flush_client.hpp) or an Error when the service cannot be reached. Unset:
    // every site is "service unavailable".
    std::function<Result<int64_t>(std::string_view site)> flush_site;
};

// The SASL side of AUTH, implemented over Dovecot (lib/sasl/dovecot_auth.hpp) in main.
class SaslServerSession {
  public:
    virtual ~SaslServerSession() = default;
    // Mechanisms to advertise ("PLAIN LOGIN"), already filtered.
    virtual std::string mechanisms() const = 0;
    struct Step {
        enum class Kind { challenge, success, failure } kind = Kind::failure;
        std::string data;      // challenge: base64 text for "334 "
        std::string username;  // success
        std::string reason;    // failure: text after "535 5.7.8 Error: authentication failed: "
    };
    // Starts a mechanism; `initial` is the initial response (nullopt: none given; "=":
    // an empty one).
    virtual Step start(std::string_view mechanism, std::optional<std::string_view> initial) = 0;
    virtual Step next(std::string_view response) = 0;
};

class SmtpSession {
  public:
    SmtpSession(const SmtpdSettings& settings, ClientIdentity client, SessionServices services,
                SaslServerSession* sasl = nullptr);
    ~SmtpSession();

    // The greeting (or a rejection from smtpd_client_restrictions without delay_reject).
    void start();
    // One line, without its CRLF (or LF). `complete` is false for a piece of a line longer
    // than line_length_limit, whose remainder follows in later calls.
    void receive_line(std::string_view line, bool complete = true);
    // While bdat_remaining() > 0 the caller passes raw bytes here instead of lines.
    size_t bdat_remaining() const { return bdat_remaining_; }
    void receive_bdat(std::string_view bytes);
    // smtpd_timeout expired / the client closed the connection.
    void timed_out();
    void connection_lost();

    // Replies produced so far (CRLF-terminated), emptied by the call.
    std::string take_output();
    // The session is over: write the output and close.
    bool finished() const { return finished_; }
    // Between DATA's 354 and the final dot (the caller keeps reading lines).
    bool in_data() const { return state_ == State::data; }
    // The client must not have pipelined anything after STARTTLS (set when the reply to
    // STARTTLS was "220"); the caller checks its buffer, then calls tls_started().
    bool starttls_pending() const { return starttls_pending_; }
    // `received_lines`: the TLS comment lines for Received: (smtpd_tls_received_header),
    // tab-first, empty when the header is not wanted.
    void tls_started(std::vector<std::string> received_lines = {});
    // STARTTLS is offered (a TLS context exists); `required`: smtpd_tls_security_level =
    // encrypt, MAIL before STARTTLS is refused.
    void offer_starttls(bool required) {
        starttls_offered_ = true;
        tls_required_ = required;
    }
    // Logs "disconnect from ..." with the command counts.
    void log_disconnect() const;
    const std::string& last_queue_id() const { return last_queue_id_; }
    int error_count() const { return error_count_; }

  private:
    enum class State { command, data, bdat_discard, closed };
    struct Transaction;
    struct CommandCounts;
    using Handler = void (SmtpSession::*)(std::string_view argument);

    void dispatch(std::string_view line);
    void command_helo(std::string_view argument);
    void command_ehlo(std::string_view argument);
    void command_mail(std::string_view argument);
    void command_rcpt(std::string_view argument);
    void command_data(std::string_view argument);
    void command_bdat(std::string_view argument);
    void command_rset(std::string_view argument);
    void command_noop(std::string_view argument);
    void command_vrfy(std::string_view argument);
    void command_etrn(std::string_view argument);
    void command_quit(std::string_view argument);
    void command_auth(std::string_view argument);
    void command_starttls(std::string_view argument);

    void auth_response(std::string_view line);
    void auth_step(const SaslServerSession::Step& step);
    void data_line(std::string_view line, bool complete);
    void bdat_content(std::string_view bytes);
    void end_of_message();
    bool open_message();
    void send_envelope();
    void send_received_header();
    void abandon_message();
    void reset_transaction();

    bool check_mail_parameters(const std::vector<struct EsmtpParameter>& parameters);
    std::optional<RestrictionVerdict> check_stage(RestrictionStage stage);
    bool reject_by_restrictions(RestrictionStage stage, std::string_view command,
                                const std::string& recipient);
    RestrictionFacts facts(const std::string& recipient = {}) const;
    void log_reject(std::string_view command, const std::string& reply_line,
                    const std::string& recipient) const;

    void reply(std::string_view line);
    void reply_lines(const std::vector<std::string>& lines);
    bool reply_is_error(std::string_view line) const;
    void end_session(std::string_view why);
    std::string protocol_name() const;

    const SmtpdSettings& settings_;
    ClientIdentity client_;
    SessionServices services_;
    SaslServerSession* sasl_;
    State state_ = State::command;
    std::string output_;
    std::string helo_name_;
    bool esmtp_ = false;
    bool tls_ = false;
    std::vector<std::string> tls_received_lines_;
    bool starttls_pending_ = false;
    bool starttls_offered_ = false;
    bool tls_required_ = false;
    bool finished_ = false;
    bool auth_in_progress_ = false;
    std::string sasl_username_;
    std::string sasl_method_;
    int error_count_ = 0;
    int junk_commands_ = 0;
    std::string last_command_ = "CONNECT";
    std::string partial_command_;  // a command line longer than line_length_limit
    bool discarding_command_ = false;
    std::unique_ptr<Transaction> transaction_;
    std::unique_ptr<CommandCounts> counts_;
    size_t bdat_remaining_ = 0;
    bool bdat_last_ = false;
    std::string last_queue_id_;
    std::optional<RestrictionVerdict> client_verdict_;
    std::optional<RestrictionVerdict> helo_verdict_;
};

}  // namespace postern::smtpd
