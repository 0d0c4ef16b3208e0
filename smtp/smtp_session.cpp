#include "smtp/smtp_session.hpp"

#include <memory>

#include "net/smtp_stream.hpp"
#include "sasl/sasl_client.hpp"
#include "smtp/smtp_envelope.hpp"
#include "smtp/smtp_reply.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern::smtp {

std::string SmtpPeer::peer() const {
    return hostname + "[" + address + "]";
}
std::string SmtpPeer::relay() const {
    return peer() + ":" + std::to_string(port);
}

namespace {

using std::chrono::milliseconds;

// Where in the session a failure happened, in the words of Postfix's "lost connection
// with X while ..." and "(in reply to ... command)".
struct Stage {
    const char* doing;    // "receiving the initial server greeting"
    const char* command;  // "MAIL FROM"; null for the greeting
};

constexpr Stage kGreeting{"receiving the initial server greeting", nullptr};
constexpr Stage kEhlo{"performing the EHLO handshake", "EHLO"};
constexpr Stage kHelo{"performing the HELO handshake", "HELO"};
constexpr Stage kStarttls{"sending STARTTLS", "STARTTLS"};
constexpr Stage kAuth{"authenticating", "AUTH"};
constexpr Stage kMail{"sending MAIL FROM", "MAIL FROM"};
constexpr Stage kRcpt{"sending RCPT TO", "RCPT TO"};
constexpr Stage kData{"sending DATA command", "DATA"};
constexpr Stage kBody{"sending message body", nullptr};
constexpr Stage kDataDone{"sending end of data -- message may be sent more than once",
                          "end of DATA"};

class SessionRun {
  public:
    SessionRun(DeliverySession& session, const SessionResources& resources, const SmtpPeer& server,
               const TlsClientPolicy& tls, const std::vector<size_t>& pending)
        : session_(session),
          settings_(*resources.settings),
          resources_(resources),
          server_(server),
          tls_(tls),
          pending_(pending) {}

    SessionResult run();

  private:
    bool connect();
    bool greeting();
    bool hello();
    bool start_tls();
    bool authenticate();
    bool check_requirements();
    void transaction();
    bool send_content();
    void quit();

    // Reads one whole reply within `timeout`; on failure records it for `stage`.
    std::optional<SmtpReply> read_reply(std::chrono::seconds timeout, const Stage& stage);
    bool write_and_flush(std::string_view data, std::chrono::seconds timeout, const Stage& stage);
    void stream_failure(const Error& error, const Stage& stage);

    DeliveryStatus server_status(const SmtpReply& reply, std::string reason) const;
    // "host X[addr] said: 550 5.1.1 ... (in reply to RCPT TO command)".
    DeliveryStatus reply_status(const SmtpReply& reply, const Stage& stage) const;
    void fail_session(DeliveryStatus status, bool try_next);
    void settle(size_t index, const DeliveryStatus& status);

    DeliverySession& session_;
    const SmtpSettings& settings_;
    const SessionResources& resources_;
    const SmtpPeer& server_;
    const TlsClientPolicy& tls_;
    const std::vector<size_t>& pending_;
    std::optional<SmtpStream> stream_;
    EhloFeatures features_;
    bool esmtp_ = false;
    std::vector<size_t> accepted_;
    SessionResult result_;
};

SessionResult SessionRun::run() {
    if (connect() && greeting() && hello() && start_tls() && authenticate()) {
        session_.connection_ready();
        if (check_requirements())
            transaction();
    }
    if (stream_ && !stream_->failed())
        quit();
    return std::move(result_);
}

bool SessionRun::connect() {
    TcpConnectOptions options;
    options.timeout = settings_.timeouts.connect;
    options.bind_address = settings_.bind_address;
    options.bind_address6 = settings_.bind_address6;
    auto socket = tcp_connect(TcpEndpoint{server_.address, server_.port}, options);
    if (!socket) {
        // tcp_connect names the endpoint by its address; the reason names the host.
        std::string_view message = socket.error().message();
        auto colon = message.find(": ");
        std::string why(colon == std::string_view::npos ? message : message.substr(colon + 2));
        fail_session(make_delivery_status("4.4.1", "connect to " + server_.relay() + ": " + why),
                     true);
        return false;
    }
    stream_.emplace(std::move(*socket), settings_.line_length_limit);
    return true;
}

bool SessionRun::greeting() {
    auto reply = read_reply(settings_.timeouts.helo, kGreeting);
    if (!reply)
        return false;
    result_.connected = true;
    if (reply->code == 220)
        return true;
    // A 5xx greeting is final for this server; smtp_skip_5xx_greeting lets the next one try.
    fail_session(server_status(
                     *reply, "host " + server_.peer() + " refused to talk to me: " + reply->text()),
                 reply->temporary() || settings_.skip_5xx_greeting);
    return false;
}

bool SessionRun::hello() {
    bool use_ehlo = !settings_.never_send_ehlo;
    if (use_ehlo) {
        if (!write_and_flush("EHLO " + settings_.helo_name + "\r\n", settings_.timeouts.helo,
                             kEhlo))
            return false;
        auto reply = read_reply(settings_.timeouts.helo, kEhlo);
        if (!reply)
            return false;
        if (reply->code / 100 == 2) {
            esmtp_ = true;
            features_ = parse_ehlo_features(*reply, settings_.discard_ehlo_keywords);
            return true;
        }
    }
    // No EHLO, or a server that does not know it: plain SMTP.
    if (!write_and_flush("HELO " + settings_.helo_name + "\r\n", settings_.timeouts.helo, kHelo))
        return false;
    auto reply = read_reply(settings_.timeouts.helo, kHelo);
    if (!reply)
        return false;
    if (reply->code / 100 == 2) {
        features_ = EhloFeatures{};
        return true;
    }
    fail_session(reply_status(*reply, kHelo), true);
    return false;
}

bool SessionRun::start_tls() {
    if (tls_.level == TlsLevel::none || stream_->tls_active())
        return true;
    bool mandatory = tls_level_is_mandatory(tls_.level);
    if (!features_.starttls || resources_.tls_context == nullptr) {
        if (!mandatory)
            return true;
        fail_session(make_delivery_status(
                         "4.7.4", "TLS is required, but was not offered by host " + server_.peer()),
                     true);
        return false;
    }
    if (!write_and_flush("STARTTLS\r\n", settings_.timeouts.helo, kStarttls))
        return false;
    auto reply = read_reply(settings_.timeouts.helo, kStarttls);
    if (!reply)
        return false;
    if (reply->code != 220) {
        if (!mandatory)
            return true;
        fail_session(reply_status(*reply, kStarttls), true);
        return false;
    }
    auto started = stream_->start_tls_client(*resources_.tls_context, tls_,
                                             settings_.timeouts.starttls, server_.relay());
    if (!started) {
        std::string reason = started.error().kind() == ErrorKind::temporary
                                 ? started.error().message() + " for host " + server_.relay()
                                 : "Cannot start TLS: handshake failure";
        log_message_info(session_.request().queue_id, "%s", reason.c_str());
        fail_session(make_delivery_status("4.7.5", reason), true);
        // The stream is unusable after a failed handshake.
        stream_.reset();
        return false;
    }
    // RFC 3207 section 4.2: forget what the server said before TLS and ask again.
    features_ = EhloFeatures{};
    return hello();
}

bool SessionRun::authenticate() {
    if (!settings_.sasl_enable || features_.auth_mechanisms.empty() ||
        resources_.sasl_passwords == nullptr)
        return true;
    const auto& request = session_.request();
    SaslLookupTarget target{request.sender, settings_.sender_dependent_authentication,
                            server_.hostname, std::to_string(server_.port), request.nexthop};
    auto found = find_sasl_credentials(*resources_.sasl_passwords, target);
    if (!found) {
        fail_session(
            make_delivery_status("4.3.0", "SASL authentication failed; server " + server_.peer() +
                                              ": password table lookup error"),
            false);
        return false;
    }
    if (!*found)
        return true;  // no credentials for this server: go on without AUTH, as Postfix
    const SaslCredentials& credentials = **found;
    const auto& security =
        stream_->tls_active() ? settings_.sasl_tls_security : settings_.sasl_security;
    auto mechanism =
        choose_sasl_mechanism(features_.auth_mechanisms, settings_.sasl_mechanism_filter, security);
    if (!mechanism) {
        std::string reason = "SASL authentication failed; cannot authenticate to server " +
                             server_.peer() + ": no mechanism available";
        fail_session(make_delivery_status("4.7.0", reason), true);
        return false;
    }
    auto exchange = make_sasl_client_exchange(*mechanism, credentials);
    std::string command = "AUTH " + *mechanism;
    if (auto initial = exchange->initial_response())
        command += " " + (initial->empty() ? std::string("=") : sasl_base64_encode(*initial));
    if (!write_and_flush(command + "\r\n", settings_.timeouts.helo, kAuth))
        return false;
    for (int round = 0; round < 10; ++round) {
        auto reply = read_reply(settings_.timeouts.helo, kAuth);
        if (!reply)
            return false;
        if (reply->code == 235)
            return true;
        if (reply->code != 334) {
            auto status = server_status(*reply, "SASL authentication failed; server " +
                                                    server_.peer() + " said: " + reply->text());
            if (settings_.sasl_soft_bounce && status.status.front() == '5')
                status.status.front() = '4';
            fail_session(std::move(status), true);
            return false;
        }
        auto challenge = sasl_base64_decode(trim(reply->messages().front()));
        auto response =
            challenge ? exchange->respond(*challenge) : Result<std::string>(challenge.error());
        std::string line = response ? sasl_base64_encode(*response) : std::string("*");
        if (!write_and_flush(line + "\r\n", settings_.timeouts.helo, kAuth))
            return false;
    }
    fail_session(make_delivery_status("4.7.0", "SASL authentication failed; server " +
                                                   server_.peer() + ": too many challenges"),
                 true);
    return false;
}

bool SessionRun::check_requirements() {
    const auto& request = session_.request();
    if ((request.flags & delivery_flag::smtputf8) && !features_.smtputf8) {
        auto status = make_delivery_status(
            "5.6.7", "SMTPUTF8 is required, but was not offered by host " + server_.peer());
        fail_session(status, false);
        return false;
    }
    if (features_.size && features_.size_limit > 0 && request.data_size > features_.size_limit) {
        auto status = make_delivery_status(
            "5.3.4", "message size " + std::to_string(request.data_size) + " exceeds size limit " +
                         std::to_string(features_.size_limit) + " of server " + server_.peer());
        fail_session(status, false);
        return false;
    }
    return true;
}

void SessionRun::transaction() {
    const auto& request = session_.request();
    auto commands = envelope_commands(request, pending_, features_);
    bool pipelining = features_.pipelining;
    auto writes = batch_writes(commands, pipelining);
    // With PIPELINING everything was sent at once: every reply must be read. Without it,
    // each command waits for its reply and the transaction stops where it failed.
    for (size_t i = 0; i < commands.size(); ++i) {
        const auto& command = commands[i];
        const Stage& stage = command.kind == CommandKind::mail   ? kMail
                             : command.kind == CommandKind::rcpt ? kRcpt
                                                                 : kData;
        auto timeout = command.kind == CommandKind::mail   ? settings_.timeouts.mail
                       : command.kind == CommandKind::rcpt ? settings_.timeouts.rcpt
                                                           : settings_.timeouts.data_init;
        if (!pipelining || i == 0) {
            if (!pipelining && command.kind == CommandKind::data && accepted_.empty())
                break;
            if (!write_and_flush(writes[pipelining ? 0 : i], timeout, stage))
                return;
        }
        auto reply = read_reply(timeout, stage);
        if (!reply)
            return;
        if (command.kind == CommandKind::mail && !reply->positive()) {
            fail_session(reply_status(*reply, stage), reply->temporary());
            if (pipelining)
                result_.try_next_server = false;  // the rest was sent: do not guess
            return;
        }
        if (command.kind == CommandKind::rcpt) {
            if (reply->positive())
                accepted_.push_back(command.recipient);
            else
                settle(command.recipient, reply_status(*reply, stage));
        }
        if (command.kind == CommandKind::data) {
            if (accepted_.empty())
                return;  // the server's answer to a DATA without recipients does not matter
            if (reply->code != 354) {
                auto status = reply_status(*reply, stage);
                for (size_t index : accepted_)
                    settle(index, status);
                return;
            }
        }
    }
    if (accepted_.empty())
        return;
    if (!send_content())
        return;
    auto reply = read_reply(settings_.timeouts.data_done, kDataDone);
    if (!reply)
        return;
    DeliveryStatus status =
        reply->positive() ? server_status(*reply, reply->text()) : reply_status(*reply, kDataDone);
    if (reply->positive() && !features_.dsn)
        status.action = std::string(dsn_action::relayed);
    for (size_t index : accepted_)
        settle(index, status);
}

bool SessionRun::send_content() {
    auto& queue_file = session_.queue_file();
    auto timeout = settings_.timeouts.data_xfer;
    auto write = [&](std::string_view data) {
        auto status = stream_->write(data, timeout);
        if (!status)
            stream_failure(status.error(), kBody);
        return status.ok();
    };
    bool line_start = true;
    while (true) {
        auto piece = queue_file.next_content();
        if (!piece) {
            // A damaged queue file: nothing more can be sent; the server must not take a
            // truncated message, so the connection is dropped without the final dot.
            log_message_warning(session_.request().queue_id, "%s", piece.error().message().c_str());
            fail_session(make_delivery_status("4.3.0", "error reading the queued message"), false);
            stream_.reset();
            return false;
        }
        if (!*piece)
            break;
        std::string_view data = (*piece)->data;
        // RFC 5321 section 4.5.2: a line that starts with a dot gets another one.
        if (line_start && !data.empty() && data.front() == '.' && !write("."))
            return false;
        if (!write(data))
            return false;
        line_start = (*piece)->end_of_line;
        if (line_start && !write("\r\n"))
            return false;
    }
    if (!line_start && !write("\r\n"))
        return false;
    return write_and_flush(".\r\n", timeout, kDataDone);
}

void SessionRun::quit() {
    auto status = stream_->write_line("QUIT", settings_.timeouts.quit);
    if (status)
        status = stream_->flush(settings_.timeouts.quit);
    if (status && !settings_.skip_quit_response)
        (void)stream_->read_line(settings_.timeouts.quit);
}

std::optional<SmtpReply> SessionRun::read_reply(std::chrono::seconds timeout, const Stage& stage) {
    if (!stream_)
        return std::nullopt;
    SmtpReplyParser parser;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!parser.complete()) {
        auto left =
            std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
        auto line = stream_->read_line(std::max(left, milliseconds(1)));
        if (!line) {
            stream_failure(line.error(), stage);
            return std::nullopt;
        }
        if (line->at_eof && !line->complete) {
            stream_failure(Error(ErrorKind::io, "lost connection"), stage);
            return std::nullopt;
        }
        if (auto status = parser.add_line(line->text); !status) {
            std::string reason = "host " + server_.peer() +
                                 " sent malformed reply: " + std::string(line->text.substr(0, 100));
            fail_session(make_delivery_status("4.4.2", reason), stage.command == nullptr);
            stream_.reset();
            return std::nullopt;
        }
    }
    return parser.take();
}

bool SessionRun::write_and_flush(std::string_view data, std::chrono::seconds timeout,
                                 const Stage& stage) {
    auto status = stream_->write(data, timeout);
    if (status)
        status = stream_->flush(timeout);
    if (!status)
        stream_failure(status.error(), stage);
    return status.ok();
}

void SessionRun::stream_failure(const Error& error, const Stage& stage) {
    std::string reason;
    if (error.kind() == ErrorKind::timeout)
        reason = "conversation with " + server_.peer() + " timed out while " + stage.doing;
    else if (error.kind() == ErrorKind::protocol)
        reason =
            "TLS failure with " + server_.peer() + " while " + stage.doing + ": " + error.message();
    else
        reason = "lost connection with " + server_.peer() + " while " + stage.doing;
    // Before the end of data nothing was delivered: another server may take the mail.
    bool before_data_done = &stage != &kDataDone;
    fail_session(make_delivery_status("4.4.2", reason), before_data_done);
    stream_.reset();
}

DeliveryStatus SessionRun::server_status(const SmtpReply& reply, std::string reason) const {
    DeliveryStatus status = make_delivery_status(reply.dsn, reason);
    status.diagnostic_type = "smtp";
    status.diagnostic_text = reply.text();
    status.mta_type = "dns";
    status.mta_name = server_.hostname;
    return status;
}

DeliveryStatus SessionRun::reply_status(const SmtpReply& reply, const Stage& stage) const {
    return server_status(reply, "host " + server_.peer() + " said: " + reply.text() +
                                    " (in reply to " + stage.command + " command)");
}

void SessionRun::fail_session(DeliveryStatus status, bool try_next) {
    if (result_.failure)
        return;  // the first failure is the reason; what follows is its consequence
    result_.failure = std::move(status);
    result_.try_next_server = try_next;
}

void SessionRun::settle(size_t index, const DeliveryStatus& status) {
    ReportKind kind = status.success()     ? ReportKind::sent
                      : status.permanent() ? ReportKind::bounced
                                           : ReportKind::deferred;
    result_.settled[index] = RecipientResult{kind, status};
}

}  // namespace

SessionResult run_smtp_session(DeliverySession& session, const SessionResources& resources,
                               const SmtpPeer& server, const TlsClientPolicy& tls,
                               const std::vector<size_t>& pending) {
    return SessionRun(session, resources, server, tls, pending).run();
}

}  // namespace postern::smtp
