#include "smtpd/smtpd_session.hpp"

#include <array>
#include <cctype>

#include "mail/address.hpp"
#include "mail/host_syntax.hpp"
#include "mail/quote_address.hpp"
#include "smtpd/smtp_command.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern::smtpd {

// Per-command counts for the "disconnect from" line, in Postfix's order.
struct SmtpSession::CommandCounts {
    static constexpr std::array<std::string_view, 14> names = {
        "helo", "ehlo", "starttls", "auth", "mail", "rcpt", "data",
        "bdat", "rset", "noop",     "vrfy", "etrn", "quit", "unknown"};
    std::array<int, names.size()> ok{};
    std::array<int, names.size()> total{};
    size_t current = names.size();  // the command being handled

    void begin(std::string_view verb) {
        std::string name = lowercase(verb);
        current = names.size() - 1;
        for (size_t i = 0; i < names.size() - 1; ++i)
            if (names[i] == name)
                current = i;
        ++total[current];
        ++ok[current];  // taken back by the first error reply
    }
    void failed() {
        if (current < names.size() && ok[current] > 0) {
            --ok[current];
            current = names.size();
        }
    }
    std::string summary() const {
        std::string out;
        int all_ok = 0;
        int all = 0;
        for (size_t i = 0; i < names.size(); ++i) {
            if (total[i] == 0)
                continue;
            out += " " + std::string(names[i]) + "=" + fraction(ok[i], total[i]);
            all_ok += ok[i];
            all += total[i];
        }
        return out + " commands=" + fraction(all_ok, all);
    }
    static std::string fraction(int good, int all) {
        return good == all ? std::to_string(all) : std::to_string(good) + "/" + std::to_string(all);
    }
};

struct SmtpSession::Transaction {
    std::string sender;  // external form, as sent
    int64_t declared_size = 0;
    bool smtputf8 = false;
    std::string body_type;  // "", "7BIT", "8BITMIME"
    int dsn_ret = 0;
    std::string envid;
    std::vector<QueueRecipient> recipients;
    std::string last_recipient;  // external form, for Received: "for <...>"
    int64_t recipient_attempts = 0;
    std::unique_ptr<MessageSink> sink;
    std::string queue_id;
    bool sink_failed = false;
    bool hold = false;
    bool discard = false;
    std::optional<RestrictionVerdict> sender_verdict;
    // Content.
    int64_t content_bytes = 0;
    bool too_big = false;
    bool line_continues = false;  // the last data piece did not end its line
    bool chunked = false;         // BDAT was used
    bool chunk_failed = false;    // a BDAT chunk was refused: later chunks are discarded
    std::string chunk_line;       // BDAT: the start of a line cut by a chunk boundary
};

namespace {

bool has_enhanced_status(std::string_view text) {
    return text.size() >= 5 && (text[0] == '2' || text[0] == '4' || text[0] == '5') &&
           text[1] == '.' && std::isdigit(static_cast<unsigned char>(text[2]));
}

}  // namespace

SmtpSession::SmtpSession(const SmtpdSettings& settings, ClientIdentity client,
                         SessionServices services, SaslServerSession* sasl)
    : settings_(settings),
      client_(std::move(client)),
      services_(std::move(services)),
      sasl_(sasl),
      counts_(std::make_unique<CommandCounts>()) {}

SmtpSession::~SmtpSession() {
    abandon_message();
}

void SmtpSession::start() {
    log_info("connect from %s", client_.name_and_address().c_str());
    reply("220 " + settings_.banner);
}

std::string SmtpSession::take_output() {
    std::string out;
    out.swap(output_);
    return out;
}

// ---- Replies and errors ----

bool SmtpSession::reply_is_error(std::string_view line) const {
    return !line.empty() && (line[0] == '4' || line[0] == '5');
}

void SmtpSession::reply(std::string_view line) {
    if (reply_is_error(line)) {
        ++error_count_;
        counts_->failed();
        if (error_count_ > settings_.soft_error_limit && services_.sleep &&
            settings_.error_sleep_time.count() > 0)
            services_.sleep(settings_.error_sleep_time);
    }
    output_.append(line);
    output_.append("\r\n");
}

void SmtpSession::reply_lines(const std::vector<std::string>& lines) {
    for (size_t i = 0; i < lines.size(); ++i) {
        std::string line = lines[i];
        if (i + 1 < lines.size() && line.size() > 3)
            line[3] = '-';
        reply(line);
    }
}

void SmtpSession::end_session(std::string_view why) {
    if (!why.empty())
        log_info("%.*s after %s from %s", static_cast<int>(why.size()), why.data(),
                 last_command_.c_str(), client_.name_and_address().c_str());
    abandon_message();
    state_ = State::closed;
    finished_ = true;
}

void SmtpSession::timed_out() {
    if (finished_)
        return;
    reply("421 4.4.2 " + settings_.myhostname + " Error: timeout exceeded");
    end_session("timeout");
}

void SmtpSession::connection_lost() {
    if (!finished_)
        end_session("lost connection");
}

void SmtpSession::log_disconnect() const {
    log_info("disconnect from %s%s", client_.name_and_address().c_str(),
             counts_->summary().c_str());
}

std::string SmtpSession::protocol_name() const {
    std::string name = esmtp_ ? "ESMTP" : "SMTP";
    if (tls_)
        name += "S";
    if (!sasl_username_.empty())
        name += "A";
    return name;
}

// ---- Input ----

void SmtpSession::receive_line(std::string_view line, bool complete) {
    if (finished_)
        return;
    if (state_ == State::data) {
        data_line(line, complete);
        return;
    }
    if (!complete || discarding_command_) {
        // An over-long command: Postfix handles the first line_length_limit bytes and
        // skips the rest of the line.
        if (!discarding_command_) {
            partial_command_.assign(line.substr(0, settings_.line_length_limit));
            log_warning("%s: request longer than %zu: %.30s...", client_.name_and_address().c_str(),
                        settings_.line_length_limit, partial_command_.c_str());
        }
        discarding_command_ = !complete;
        if (complete) {
            std::string command = std::move(partial_command_);
            partial_command_.clear();
            dispatch(command);
        }
        return;
    }
    if (auth_in_progress_)
        auth_response(line);
    else
        dispatch(line);
}

void SmtpSession::dispatch(std::string_view line) {
    static const std::vector<std::pair<std::string_view, Handler>> commands = {
        {"HELO", &SmtpSession::command_helo},         {"EHLO", &SmtpSession::command_ehlo},
        {"MAIL", &SmtpSession::command_mail},         {"RCPT", &SmtpSession::command_rcpt},
        {"DATA", &SmtpSession::command_data},         {"BDAT", &SmtpSession::command_bdat},
        {"RSET", &SmtpSession::command_rset},         {"NOOP", &SmtpSession::command_noop},
        {"VRFY", &SmtpSession::command_vrfy},         {"ETRN", &SmtpSession::command_etrn},
        {"QUIT", &SmtpSession::command_quit},         {"AUTH", &SmtpSession::command_auth},
        {"STARTTLS", &SmtpSession::command_starttls},
    };
    CommandLine command = split_command(line);
    if (command.verb.empty()) {
        reply("500 5.5.2 Error: bad syntax");
    } else {
        Handler handler = nullptr;
        for (const auto& [verb, candidate] : commands)
            if (verb == command.verb)
                handler = candidate;
        counts_->begin(handler ? command.verb : "unknown");
        if (handler) {
            last_command_ = command.verb;
            static const std::vector<std::string_view> junk = {"HELO", "EHLO", "RSET",
                                                               "NOOP", "VRFY", "ETRN"};
            for (std::string_view verb : junk)
                if (verb == command.verb && junk_commands_++ > settings_.junk_command_limit)
                    ++error_count_;
            (this->*handler)(command.rest);
        } else {
            last_command_ = "UNKNOWN";
            reply("500 5.5.2 Error: command not recognized");
        }
    }
    if (!finished_ && error_count_ >= settings_.hard_error_limit) {
        reply("421 4.7.0 " + settings_.myhostname + " Error: too many errors");
        end_session("too many errors");
    }
}

// ---- HELO, EHLO ----

void SmtpSession::command_helo(std::string_view argument) {
    if (trim(argument).empty() || argument.find('\0') != std::string_view::npos) {
        reply("501 Syntax: HELO hostname");
        return;
    }
    reset_transaction();
    helo_name_ = std::string(trim(argument));
    esmtp_ = false;
    helo_verdict_.reset();
    reply("250 " + settings_.myhostname);
}

void SmtpSession::command_ehlo(std::string_view argument) {
    if (trim(argument).empty() || argument.find('\0') != std::string_view::npos) {
        reply("501 Syntax: EHLO hostname");
        return;
    }
    reset_transaction();
    helo_name_ = std::string(trim(argument));
    esmtp_ = true;
    helo_verdict_.reset();
    std::vector<std::pair<std::string, std::string>> keywords;  // keyword, line
    keywords.emplace_back("pipelining", "PIPELINING");
    keywords.emplace_back("size", settings_.message_size_limit > 0
                                      ? "SIZE " + std::to_string(settings_.message_size_limit)
                                      : "SIZE");
    if (!settings_.disable_vrfy_command)
        keywords.emplace_back("vrfy", "VRFY");
    keywords.emplace_back("etrn", "ETRN");
    if (starttls_offered_ && !tls_)
        keywords.emplace_back("starttls", "STARTTLS");
    // Still offered after a successful AUTH, as Postfix does (a second AUTH gets 503).
    if (sasl_ && settings_.sasl_auth_enable && (tls_ || !settings_.tls_auth_only))
        keywords.emplace_back("auth", "AUTH " + sasl_->mechanisms());
    keywords.emplace_back("enhancedstatuscodes", "ENHANCEDSTATUSCODES");
    keywords.emplace_back("8bitmime", "8BITMIME");
    keywords.emplace_back("dsn", "DSN");
    if (settings_.smtputf8_enable)
        keywords.emplace_back("smtputf8", "SMTPUTF8");
    keywords.emplace_back("chunking", "CHUNKING");
    std::vector<std::string> lines = {"250 " + settings_.myhostname};
    std::string discarded;
    for (const auto& [keyword, line] : keywords) {
        bool discard = false;
        for (const std::string& unwanted : settings_.discard_ehlo_keywords)
            discard = discard || unwanted == keyword;
        if (discard)
            discarded += (discarded.empty() ? "" : " ") + keyword;
        else
            lines.push_back("250 " + line);
    }
    bool silent = false;
    for (const std::string& unwanted : settings_.discard_ehlo_keywords)
        silent = silent || unwanted == "silent-discard";
    if (!discarded.empty() && !silent)
        log_info("discarding EHLO keywords: %s", discarded.c_str());
    reply_lines(lines);
}

// ---- MAIL ----

bool SmtpSession::check_mail_parameters(const std::vector<EsmtpParameter>& parameters) {
    Transaction& mail = *transaction_;
    for (const EsmtpParameter& parameter : parameters) {
        const std::string& keyword = parameter.keyword;
        if (keyword == "SIZE" && parameter.has_value) {
            auto size = parse_integer(parameter.value);
            if (!size || *size < 0 ||
                parameter.value.find_first_not_of("0123456789") != std::string::npos) {
                reply("501 5.5.4 Bad message size syntax");
                return false;
            }
            mail.declared_size = *size;
        } else if (keyword == "BODY" && parameter.has_value &&
                   (equals_ignore_case(parameter.value, "8BITMIME") ||
                    equals_ignore_case(parameter.value, "7BIT"))) {
            mail.body_type = lowercase(parameter.value) == "7bit" ? "7BIT" : "8BITMIME";
        } else if (keyword == "SMTPUTF8" && !parameter.has_value && settings_.smtputf8_enable) {
            mail.smtputf8 = true;
        } else if (keyword == "RET" && parameter.has_value) {
            int ret = equals_ignore_case(parameter.value, "FULL")   ? dsn::ret_full
                      : equals_ignore_case(parameter.value, "HDRS") ? dsn::ret_hdrs
                                                                    : 0;
            if (ret == 0 || mail.dsn_ret != 0) {
                reply("501 5.5.4 Bad RET parameter syntax");
                return false;
            }
            mail.dsn_ret = ret;
        } else if (keyword == "ENVID" && parameter.has_value) {
            if (!mail.envid.empty() || !valid_xtext(parameter.value) ||
                parameter.value.size() > 100) {
                reply("501 5.5.4 Bad ENVID parameter syntax");
                return false;
            }
            mail.envid = decode_xtext(parameter.value);
        } else if (keyword == "AUTH" && parameter.has_value) {
            // RFC 4954 section 5: accepted and ignored (Postfix keeps it for nothing else).
        } else {
            reply("555 5.5.4 Unsupported option: " + parameter.text);
            return false;
        }
    }
    return true;
}

void SmtpSession::command_mail(std::string_view argument) {
    if (settings_.helo_required && helo_name_.empty()) {
        reply("503 5.5.1 Error: send HELO/EHLO first");
        return;
    }
    if (transaction_) {
        reply("503 5.5.1 Error: nested MAIL command");
        return;
    }
    if (tls_required_ && !tls_) {
        reply("530 5.7.0 Must issue a STARTTLS command first");
        return;
    }
    PathArgument path = parse_path_argument(argument, "FROM:");
    if (!path.syntax_ok) {
        reply("501 5.5.4 Syntax: MAIL FROM:<address>");
        return;
    }
    if (!path.address_ok) {
        reply("501 5.1.7 Bad sender address syntax");
        return;
    }
    transaction_ = std::make_unique<Transaction>();
    transaction_->sender = path.address;
    if (!check_mail_parameters(path.parameters)) {
        transaction_.reset();
        return;
    }
    if (settings_.message_size_limit > 0 &&
        transaction_->declared_size > settings_.message_size_limit) {
        transaction_.reset();
        reply("552 5.3.4 Message size exceeds fixed limit");
        return;
    }
    if (!settings_.delay_reject) {
        for (RestrictionStage stage :
             {RestrictionStage::client, RestrictionStage::helo, RestrictionStage::sender}) {
            if (reject_by_restrictions(stage, "MAIL", {})) {
                transaction_.reset();
                return;
            }
        }
    }
    reply("250 2.1.0 Ok");
}

// ---- Restrictions ----

RestrictionFacts SmtpSession::facts(const std::string& recipient) const {
    RestrictionFacts facts;
    facts.client_name = client_.name;
    facts.client_name_status = client_.name_status;
    facts.reverse_client_name = client_.reverse_name;
    facts.reverse_client_name_status = client_.reverse_name_status;
    facts.client_address = client_.address;
    facts.helo = helo_name_;
    if (transaction_)
        facts.sender = transaction_->sender;
    facts.recipient = recipient;
    facts.sasl_username = sasl_username_;
    return facts;
}

std::optional<RestrictionVerdict> SmtpSession::check_stage(RestrictionStage stage) {
    if (!services_.restrictions)
        return std::nullopt;
    // The client and HELO verdicts hold for the session, the sender's for the
    // transaction; each list is evaluated once.
    std::optional<RestrictionVerdict>* cached = nullptr;
    if (stage == RestrictionStage::client)
        cached = &client_verdict_;
    else if (stage == RestrictionStage::helo)
        cached = &helo_verdict_;
    else if (stage == RestrictionStage::sender && transaction_)
        cached = &transaction_->sender_verdict;
    if (cached && *cached)
        return **cached;
    RestrictionVerdict verdict = services_.restrictions->evaluate(stage, facts());
    if (cached)
        *cached = verdict;
    return verdict;
}

bool SmtpSession::reject_by_restrictions(RestrictionStage stage, std::string_view command,
                                         const std::string& recipient) {
    if (!services_.restrictions)
        return false;
    RestrictionVerdict verdict;
    if (stage == RestrictionStage::relay || stage == RestrictionStage::recipient ||
        stage == RestrictionStage::data)
        verdict = services_.restrictions->evaluate(stage, facts(recipient));
    else
        verdict = *check_stage(stage);
    if (transaction_) {
        transaction_->hold = transaction_->hold || verdict.hold;
        transaction_->discard = transaction_->discard || verdict.discard;
    }
    if (!verdict.rejected)
        return false;
    std::string line = verdict.reply.line();
    log_reject(command, line, recipient);
    reply(line);
    return true;
}

void SmtpSession::log_reject(std::string_view command, const std::string& reply_line,
                             const std::string& recipient) const {
    std::string text = (transaction_ && !transaction_->queue_id.empty()) ? transaction_->queue_id
                                                                         : std::string("NOQUEUE");
    text += ": reject: " + std::string(command) + " from " + client_.name_and_address() + ": " +
            reply_line + ";";
    if (transaction_)
        text += " from=<" + transaction_->sender + ">";
    if (!recipient.empty())
        text += " to=<" + recipient + ">";
    text += " proto=" + protocol_name();
    if (!helo_name_.empty())
        text += " helo=<" + helo_name_ + ">";
    log_text(Severity::info, {}, text);
}

// ---- RCPT ----

namespace {

// NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY (RFC 3461 section 4.1).
int parse_notify(std::string_view value) {
    int flags = 0;
    for (std::string_view word : split_list(value, ",")) {
        if (equals_ignore_case(word, "NEVER"))
            flags |= dsn::notify_never;
        else if (equals_ignore_case(word, "SUCCESS"))
            flags |= dsn::notify_success;
        else if (equals_ignore_case(word, "FAILURE"))
            flags |= dsn::notify_failure;
        else if (equals_ignore_case(word, "DELAY"))
            flags |= dsn::notify_delay;
        else
            return 0;
    }
    if ((flags & dsn::notify_never) && flags != dsn::notify_never)
        return 0;
    return flags;
}

// ORCPT=addr-type;xtext: the type must be an atom.
std::optional<std::string> parse_orcpt(std::string_view value) {
    size_t semicolon = value.find(';');
    if (semicolon == 0 || semicolon == std::string_view::npos)
        return std::nullopt;
    if (!valid_xtext(value.substr(semicolon + 1)))
        return std::nullopt;
    return lowercase(value.substr(0, semicolon)) + ";" + decode_xtext(value.substr(semicolon + 1));
}

}  // namespace

void SmtpSession::command_rcpt(std::string_view argument) {
    if (!transaction_) {
        reply("503 5.5.1 Error: need MAIL command");
        return;
    }
    PathArgument path = parse_path_argument(argument, "TO:");
    if (!path.syntax_ok) {
        reply("501 5.5.4 Syntax: RCPT TO:<address>");
        return;
    }
    if (!path.address_ok || path.address.empty()) {
        reply("501 5.1.3 Bad recipient address syntax");
        return;
    }
    QueueRecipient recipient;
    recipient.address = internalize_address(path.address);
    for (const EsmtpParameter& parameter : path.parameters) {
        if (parameter.keyword == "NOTIFY" && parameter.has_value && recipient.dsn_notify == 0) {
            recipient.dsn_notify = parse_notify(parameter.value);
            if (recipient.dsn_notify == 0) {
                reply("501 5.5.4 Error: Bad NOTIFY parameter syntax");
                return;
            }
        } else if (parameter.keyword == "ORCPT" && parameter.has_value &&
                   recipient.dsn_orcpt.empty()) {
            auto orcpt = parse_orcpt(parameter.value);
            if (!orcpt) {
                reply("501 5.5.4 Error: Bad ORCPT parameter syntax");
                return;
            }
            recipient.dsn_orcpt = *orcpt;
        } else {
            reply("555 5.5.4 Unsupported option: " + parameter.text);
            return;
        }
    }
    Transaction& mail = *transaction_;
    if (mail.recipient_attempts >= settings_.recipient_limit) {
        reply("452 4.5.3 Error: too many recipients");
        return;
    }
    ++mail.recipient_attempts;
    if (settings_.delay_reject) {
        for (RestrictionStage stage :
             {RestrictionStage::client, RestrictionStage::helo, RestrictionStage::sender})
            if (reject_by_restrictions(stage, "RCPT", path.address))
                return;
    }
    if (reject_by_restrictions(RestrictionStage::relay, "RCPT", path.address) ||
        reject_by_restrictions(RestrictionStage::recipient, "RCPT", path.address))
        return;
    if (!mail.sink && !open_message())
        return;
    mail.sink->recipient(recipient);
    mail.recipients.push_back(recipient);
    mail.last_recipient = path.address;
    reply("250 2.1.5 Ok");
}

// The queue file is created at the first accepted recipient, as Postfix's
// smtpd_delay_open_until_valid_rcpt does, so that rejected clients cost no disk.
bool SmtpSession::open_message() {
    Transaction& mail = *transaction_;
    if (!services_.sinks) {
        reply("451 4.3.0 Error: queue file write error");
        return false;
    }
    mail.sink = services_.sinks->create();
    int64_t flags = cleanup_flag::mask_external;
    if (mail.smtputf8)
        flags |= cleanup_flag::smtputf8;
    auto queue_id = mail.sink->open(flags);
    if (!queue_id) {
        log_warning("%s", queue_id.error().message().c_str());
        mail.sink.reset();
        reply("451 4.3.0 Error: queue file write error");
        return false;
    }
    mail.queue_id = *queue_id;
    last_queue_id_ = mail.queue_id;
    std::string client_line = mail.queue_id + ": client=" + client_.name_and_address();
    if (!sasl_username_.empty())
        client_line += ", sasl_method=" + sasl_method_ + ", sasl_username=" + sasl_username_;
    log_text(Severity::info, {}, client_line);
    send_envelope();
    return true;
}

void SmtpSession::send_envelope() {
    Transaction& mail = *transaction_;
    MessageSink& sink = *mail.sink;
    QueueTime now = services_.now ? services_.now() : QueueTime{};
    sink.record(rec_type::time,
                std::to_string(now.seconds) + " " + std::to_string(now.microseconds));
    const std::string origin = client_.name_and_address();
    const std::pair<std::string_view, std::string> attributes[] = {
        {"log_client_name", client_.name},
        {"log_client_address", client_.address},
        {"log_client_port", client_.port},
        {"log_message_origin", origin},
        {"log_helo_name", helo_name_},
        {"log_protocol_name", protocol_name()},
        {"client_name", client_.name},
        {"reverse_client_name", client_.reverse_name},
        {"client_address", client_.address},
        {"client_port", client_.port},
        {"client_address_type", client_.address_type},
        {"helo_name", helo_name_},
        {"protocol_name", protocol_name()},
        {"sasl_method", sasl_method_},
        {"sasl_username", sasl_username_},
    };
    for (const auto& [name, value] : attributes)
        if (!value.empty())
            sink.attribute(name, value);
    sink.attribute(queue_attr::rewrite_context, "remote");
    if (!mail.envid.empty())
        sink.attribute(queue_attr::envelope_id, mail.envid);
    if (mail.dsn_ret != 0)
        sink.attribute(queue_attr::ret_flags, std::to_string(mail.dsn_ret));
    sink.record(rec_type::sender, internalize_address(mail.sender));
}

// ---- DATA ----

void SmtpSession::command_data(std::string_view argument) {
    if (!trim(argument).empty()) {
        reply("501 5.5.4 Syntax: DATA");
        return;
    }
    // Postfix's order: outside a transaction "need RCPT", inside one without an accepted
    // recipient "no valid recipients".
    if (!transaction_) {
        reply("503 5.5.1 Error: need RCPT command");
        return;
    }
    if (transaction_->recipients.empty()) {
        reply("554 5.5.1 Error: no valid recipients");
        return;
    }
    if (reject_by_restrictions(RestrictionStage::data, "DATA", {}))
        return;
    send_received_header();
    state_ = State::data;
    reply("354 End data with <CR><LF>.<CR><LF>");
}

void SmtpSession::send_received_header() {
    Transaction& mail = *transaction_;
    MessageSink& sink = *mail.sink;
    QueueTime now = services_.now ? services_.now() : QueueTime{};
    std::string date = services_.date ? services_.date(static_cast<std::time_t>(now.seconds))
                                      : std::string("Thu,  1 Jan 1970 00:00:00 +0000 (UTC)");
    std::string literal =
        client_.address_type == "ipv6" ? "IPv6:" + client_.address : client_.address;
    sink.content_line("Received: from " + (helo_name_.empty() ? client_.name : helo_name_) + " (" +
                      client_.name + " [" + literal + "])");
    // Postfix puts the TLS comments between the "from" and the "by" parts.
    for (const std::string& line : tls_received_lines_)
        sink.content_line(line);
    std::string by = "\tby " + settings_.myhostname + " (" + settings_.mail_name + ") with " +
                     protocol_name() + " id " + mail.queue_id;
    if (mail.recipients.size() == 1) {
        sink.content_line(by);
        sink.content_line("\tfor <" + quote_address_local_part(mail.recipients.front().address) +
                          ">; " + date);
    } else {
        sink.content_line(by + ";");
        sink.content_line("\t" + date);
    }
}

void SmtpSession::data_line(std::string_view line, bool complete) {
    Transaction& mail = *transaction_;
    if (!mail.line_continues) {
        if (complete && line == ".") {
            state_ = State::command;
            end_of_message();
            return;
        }
        if (!line.empty() && line[0] == '.')
            line.remove_prefix(1);
    }
    mail.content_bytes += static_cast<int64_t>(line.size()) + (complete ? 2 : 0);
    if (settings_.message_size_limit > 0 && mail.content_bytes > settings_.message_size_limit)
        mail.too_big = true;
    if (!mail.too_big) {
        if (complete)
            mail.sink->content_line(line);
        else
            mail.sink->content_continued(line);
    }
    mail.line_continues = !complete;
}

void SmtpSession::end_of_message() {
    Transaction& mail = *transaction_;
    if (mail.too_big) {
        log_warning("%s: message size %lld exceeds limit %lld from %s", mail.queue_id.c_str(),
                    static_cast<long long>(mail.content_bytes),
                    static_cast<long long>(settings_.message_size_limit),
                    client_.name_and_address().c_str());
        reset_transaction();
        reply("552 5.3.4 Message size exceeds fixed limit");
        return;
    }
    if (mail.hold)
        log_warning("%s: HOLD action: not supported by cleanup yet; message queued normally",
                    mail.queue_id.c_str());
    mail.sink->end_content();
    auto result = mail.sink->finish();
    mail.sink.reset();
    std::string queue_id = mail.queue_id;
    // BDAT's last reply also counts the bytes (Postfix: "Ok: 18 bytes queued as ID").
    std::string chunk_bytes =
        mail.chunked ? std::to_string(mail.content_bytes) + " bytes " : std::string();
    reset_transaction();
    if (!result) {
        log_warning("%s: %s", queue_id.c_str(), result.error().message().c_str());
        reply("451 4.3.0 Error: queue file write error");
        return;
    }
    if (result->ok()) {
        reply("250 2.0.0 Ok: " + chunk_bytes + "queued as " + queue_id);
        return;
    }
    const int64_t status = result->status;
    const std::string& reason = result->reason;
    if (status & cleanup_status::size)
        reply("552 5.3.4 Message size exceeds fixed limit");
    else if (status & cleanup_status::hops)
        reply("554 5.4.0 Error: too many hops");
    else if ((status & (cleanup_status::cont | cleanup_status::noperm)) && !reason.empty())
        reply((reason[0] == '4' ? "451 " : "550 ") +
              (has_enhanced_status(reason) ? reason : "5.7.1 " + reason));
    else if (status & cleanup_status::rcpt)
        reply("554 5.5.1 Error: no valid recipients");
    else
        reply("451 4.3.0 Error: queue file write error");
}

// ---- BDAT (RFC 3030) ----

void SmtpSession::command_bdat(std::string_view argument) {
    auto words = split_list(argument, " \t");
    bool last = words.size() == 2 && equals_ignore_case(words[1], "LAST");
    auto size = words.empty() ? std::optional<int64_t>{} : std::optional<int64_t>{};
    if (!words.empty() && words[0].find_first_not_of("0123456789") == std::string_view::npos &&
        words[0].size() <= 18) {
        if (auto parsed = parse_integer(words[0]))
            size = *parsed;
    }
    if (!size || words.size() > 2 || (words.size() == 2 && !last)) {
        reply("521 5.5.4 Syntax: BDAT count [LAST]");
        end_session("");
        return;
    }
    bdat_remaining_ = static_cast<size_t>(*size);
    bdat_last_ = last;
    if (!transaction_ || transaction_->recipients.empty() || transaction_->chunk_failed) {
        // The chunk is read and dropped, then the error is given (RFC 3030 section 3).
        state_ = State::bdat_discard;
        if (bdat_remaining_ == 0)
            receive_bdat({});
        return;
    }
    Transaction& mail = *transaction_;
    if (!mail.chunked) {
        mail.chunked = true;
        send_received_header();
    }
    if (bdat_remaining_ == 0)
        receive_bdat({});
}

void SmtpSession::receive_bdat(std::string_view bytes) {
    size_t take = std::min(bytes.size(), bdat_remaining_);
    bytes = bytes.substr(0, take);
    bdat_remaining_ -= take;
    if (state_ != State::bdat_discard && transaction_)
        bdat_content(bytes);
    if (bdat_remaining_ > 0)
        return;
    if (state_ == State::bdat_discard) {
        state_ = State::command;
        if (!transaction_)
            reply("503 5.5.1 Error: need RCPT command");
        else if (transaction_->recipients.empty())
            reply("554 5.5.1 Error: no valid recipients");
        else
            reply("554 5.5.1 Error: previous BDAT chunk was rejected");
        return;
    }
    Transaction& mail = *transaction_;
    if (!bdat_last_) {
        reply("250 2.0.0 Ok: " + std::to_string(mail.content_bytes) + " bytes");
        return;
    }
    if (!mail.chunk_line.empty()) {
        data_line(mail.chunk_line, true);
        mail.chunk_line.clear();
    }
    end_of_message();
}

// Chunk bytes are content as is (no dot stuffing); lines are cut at LF, a CR before it
// dropped, and long lines go in pieces.
void SmtpSession::bdat_content(std::string_view bytes) {
    Transaction& mail = *transaction_;
    while (!bytes.empty()) {
        size_t newline = bytes.find('\n');
        if (newline == std::string_view::npos) {
            mail.chunk_line.append(bytes);
            bytes = {};
        } else {
            mail.chunk_line.append(bytes.substr(0, newline));
            bytes.remove_prefix(newline + 1);
            if (!mail.chunk_line.empty() && mail.chunk_line.back() == '\r')
                mail.chunk_line.pop_back();
            mail.line_continues = mail.line_continues && false;
            std::string line = std::move(mail.chunk_line);
            mail.chunk_line.clear();
            // data_line undoes dot stuffing; BDAT content has none, so bypass it.
            mail.content_bytes += static_cast<int64_t>(line.size()) + 2;
            if (settings_.message_size_limit > 0 &&
                mail.content_bytes > settings_.message_size_limit)
                mail.too_big = true;
            if (!mail.too_big)
                mail.sink->content_line(line);
            continue;
        }
        if (mail.chunk_line.size() >= settings_.line_length_limit) {
            mail.content_bytes += static_cast<int64_t>(mail.chunk_line.size());
            if (!mail.too_big)
                mail.sink->content_continued(mail.chunk_line);
            mail.chunk_line.clear();
        }
    }
}

// ---- The rest ----

void SmtpSession::command_rset(std::string_view argument) {
    if (!trim(argument).empty()) {
        reply("501 5.5.4 Syntax: RSET");
        return;
    }
    reset_transaction();
    reply("250 2.0.0 Ok");
}

void SmtpSession::command_noop(std::string_view) {
    reply("250 2.0.0 Ok");
}

void SmtpSession::command_vrfy(std::string_view argument) {
    if (settings_.disable_vrfy_command) {
        reply("502 5.5.1 VRFY command is disabled");
        return;
    }
    std::string address(trim(argument));
    if (address.empty()) {
        reply("501 5.5.4 Syntax: VRFY address [SMTPUTF8]");
        return;
    }
    std::string bare = address;
    if (bare.size() >= 2 && bare.front() == '<' && bare.back() == '>')
        bare = bare.substr(1, bare.size() - 2);
    if (reject_by_restrictions(RestrictionStage::relay, "VRFY", bare) ||
        reject_by_restrictions(RestrictionStage::recipient, "VRFY", bare))
        return;
    reply("252 2.0.0 " + address);
}

void SmtpSession::command_etrn(std::string_view argument) {
    if (settings_.helo_required && helo_name_.empty()) {
        reply("503 Error: send HELO/EHLO first");
        return;
    }
    if (transaction_) {
        reply("503 Error: MAIL transaction in progress");
        return;
    }
    if (trim(argument).empty()) {
        reply("500 Syntax: ETRN domain");
        return;
    }
    // Postfix skips one leading "#" or "@" (RFC 1985's "#site" and "@site" forms); an
    // address literal keeps its bracket.
    std::string site(trim(argument));
    if (!std::isalnum(static_cast<unsigned char>(site[0])) && site[0] != '[')
        site.erase(0, 1);
    if (site.empty() || !(valid_hostname(site) || valid_mailhost_literal(site))) {
        reply("501 Error: invalid parameter syntax");
        return;
    }
    if (!services_.flush_site) {
        reply("459 <" + site + ">: service unavailable");
        return;
    }
    Result<int64_t> status = services_.flush_site(site);
    if (status && *status == 0) {
        reply("250 Queuing started");
    } else if (status && *status == 4) {
        log_warning("reject: ETRN %.100s... from %s", site.c_str(),
                    client_.name_and_address().c_str());
        reply("459 <" + site + ">: service unavailable");
    } else if (status && *status == 3) {
        log_warning("bad ETRN %.100s... from %s", site.c_str(), client_.name_and_address().c_str());
        reply("458 Unable to queue messages");
    } else {
        log_warning("unable to talk to fast flush service");
        reply("458 Unable to queue messages");
    }
}

void SmtpSession::command_quit(std::string_view) {
    reply("221 2.0.0 Bye");
    end_session("");
}

void SmtpSession::command_starttls(std::string_view argument) {
    if (!starttls_offered_ || tls_) {
        reply("502 5.5.1 Error: command not implemented");
        return;
    }
    if (!trim(argument).empty()) {
        reply("501 5.5.4 Syntax: STARTTLS");
        return;
    }
    reply("220 2.0.0 Ready to start TLS");
    starttls_pending_ = true;
}

// ---- AUTH (RFC 4954) ----

void SmtpSession::command_auth(std::string_view argument) {
    // With smtpd_tls_auth_only, AUTH does not exist before TLS (Postfix's words too).
    if (!sasl_ || !settings_.sasl_auth_enable || (settings_.tls_auth_only && !tls_)) {
        reply("503 5.5.1 Error: authentication not enabled");
        return;
    }
    if (!sasl_username_.empty()) {
        reply("503 5.5.1 Error: already authenticated");
        return;
    }
    if (transaction_) {
        reply("503 5.5.1 Error: MAIL transaction in progress");
        return;
    }
    auto words = split_list(argument, " \t");
    if (words.empty() || words.size() > 2) {
        reply("501 5.5.4 Syntax: AUTH mechanism");
        return;
    }
    sasl_method_ = std::string(words[0]);
    for (char& c : sasl_method_)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::optional<std::string_view> initial;
    if (words.size() == 2)
        initial = words[1];
    auth_step(sasl_->start(sasl_method_, initial));
}

void SmtpSession::auth_response(std::string_view line) {
    if (line == "*") {
        auth_in_progress_ = false;
        log_warning("%s: SASL %s authentication aborted", client_.name_and_address().c_str(),
                    sasl_method_.c_str());
        reply("501 5.7.0 Authentication aborted");
        return;
    }
    auth_step(sasl_->next(line));
}

void SmtpSession::auth_step(const SaslServerSession::Step& step) {
    using Kind = SaslServerSession::Step::Kind;
    auth_in_progress_ = step.kind == Kind::challenge;
    if (step.kind == Kind::challenge) {
        output_.append("334 " + step.data + "\r\n");
    } else if (step.kind == Kind::success) {
        sasl_username_ = step.username;
        reply("235 2.7.0 Authentication successful");
    } else {
        log_warning("%s: SASL %s authentication failed: %s, sasl_username=%s",
                    client_.name_and_address().c_str(), sasl_method_.c_str(), step.reason.c_str(),
                    step.username.empty() ? "(unavailable)" : step.username.c_str());
        reply("535 5.7.8 Error: authentication failed: " + step.reason);
    }
}

void SmtpSession::tls_started(std::vector<std::string> received_lines) {
    // RFC 3207 section 4.2: everything learned before TLS is forgotten.
    starttls_pending_ = false;
    tls_ = true;
    tls_received_lines_ = std::move(received_lines);
    reset_transaction();
    helo_name_.clear();
    esmtp_ = false;
    helo_verdict_.reset();
}

void SmtpSession::reset_transaction() {
    abandon_message();
    transaction_.reset();
}

void SmtpSession::abandon_message() {
    if (transaction_ && transaction_->sink) {
        transaction_->sink->abandon();
        transaction_->sink.reset();
    }
}

}  // namespace postern::smtpd
