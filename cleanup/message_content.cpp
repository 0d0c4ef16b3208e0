// One message through cleanup: headers and body (see message_cleanup.hpp): content
// checks and their actions, header address rewriting, the headers cleanup removes and
// the ones it adds.
#include <algorithm>
#include <ctime>

#include "cleanup/check_action.hpp"
#include "cleanup/message_cleanup.hpp"
#include "mail/address.hpp"
#include "mail/dsn.hpp"
#include "mail/mail_date.hpp"
#include "queue/cleanup_protocol.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern::cleanup {
namespace {

// Errors that stop the output: the file will not be kept in any form. Refusals that can
// still bounce (content, hops, recipients) let the message be written to the end.
constexpr int64_t kFatalErrors = cleanup_status::bad | cleanup_status::write |
                                 cleanup_status::size | cleanup_status::proxy |
                                 cleanup_status::defer;

// RFC 5322 specials and the "!%" operators: a full name with one of these is quoted in
// the From: header cleanup adds.
constexpr std::string_view kNameSpecials = "()<>[]:;@\\,.\"!%";

uint64_t header_bit(HeaderType type) {
    return uint64_t{1} << static_cast<unsigned>(type);
}

// `text` with a default enhanced status code in front when it has none (dsn_prepend).
std::string with_status_code(std::string_view code, std::string_view text) {
    if (!leading_enhanced_status_code(text).empty())
        return std::string(text);
    return std::string(code) + " " + std::string(text);
}

}  // namespace

std::string cleanup_status_reason(int64_t status) {
    struct Detail {
        int64_t bit;
        const char* code;
    };
    static constexpr Detail kDetails[] = {
        {cleanup_status::defer, "4.7.1"},  {cleanup_status::proxy, "4.3.0"},
        {cleanup_status::bad, "4.3.0"},    {cleanup_status::rcpt, "5.1.0"},
        {cleanup_status::hops, "5.4.0"},   {cleanup_status::size, "5.3.4"},
        {cleanup_status::cont, "5.7.1"},   {cleanup_status::write, "4.3.0"},
        {cleanup_status::noperm, "5.7.1"},
    };
    for (const Detail& detail : kDetails) {
        if (status & detail.bit)
            return std::string(detail.code) + " " + std::string(cleanup_status_text(detail.bit));
    }
    return "4.3.0 " + std::string(cleanup_status_text(status));
}

bool MessageCleanup::out_ok() const {
    return (errors_ & kFatalErrors) == 0 && (flags_ & cleanup_flag::discard) == 0;
}

// ---- Content records ----

void MessageCleanup::content_record(char type, std::string_view data) {
    if (type == rec_type::extracted) {
        end_content();
        return;
    }
    content_bytes_ += static_cast<int64_t>(data.size()) + (type == rec_type::normal ? 1 : 0);
    if (settings_.message_size_limit > 0 && content_bytes_ > settings_.message_size_limit) {
        errors_ |= cleanup_status::size;  // the rest is read and dropped
        return;
    }
    if (!out_ok())
        return;
    std::string stripped;
    if (flags_ & cleanup_flag::filter) {
        const std::string& reject = settings_.message_reject_characters;
        if (!reject.empty() && data.find_first_of(reject) != std::string_view::npos) {
            std::string text(data);
            act("content", text, "REJECT disallowed character", "character reject", false);
            return;
        }
        if (!settings_.message_strip_characters.empty()) {
            for (char c : data)
                if (settings_.message_strip_characters.find(c) == std::string::npos)
                    stripped.push_back(c);
            data = stripped;
        }
    }
    splitter_.add(data, type == rec_type::normal);
}

void MessageCleanup::end_content() {
    splitter_.finish();
    unsigned mime = splitter_.errors() & ~mime_error::truncated_header;
    if (mime != 0 && (errors_ & cleanup_status::cont) == 0) {
        errors_ |= cleanup_status::cont;
        if (reason_.empty())
            reason_ =
                std::string(mime_error_status(mime)) + " " + std::string(mime_error_text(mime));
    }
    writer_.begin_extracted();
    if (!encoding_.empty())
        writer_.attribute(queue_attr::encoding, encoding_);
    segment_ = Segment::extracted;
}

void MessageCleanup::on_mime_error(unsigned error, std::string_view context) {
    if (error == mime_error::truncated_header)
        return;  // not an error in Postfix: the header is cut, the mail goes on
    log_info("%s: reject: mime-error %s: %.100s from %s; from=<%s> to=<%s>", queue_id_.c_str(),
             std::string(mime_error_text(error)).c_str(), std::string(context).c_str(),
             origin_.c_str(), externalize_address(sender_).c_str(),
             last_recipient_.empty() ? "unknown" : externalize_address(last_recipient_).c_str());
}

// ---- Checks and their actions ----

void MessageCleanup::log_action(const char* action, const char* context_word, std::string_view text,
                                std::string_view detail) const {
    std::string line = std::string(action) + ": " + context_word + " " +
                       std::string(text.substr(0, 200)) + " from " + origin_ + ";";
    if (sender_seen_)
        line += " from=<" + (sender_.empty() ? std::string() : externalize_address(sender_)) + ">";
    if (!last_recipient_.empty())
        line += " to=<" + externalize_address(last_recipient_) + ">";
    if (!protocol_name_.empty())
        line += " proto=" + protocol_name_;
    if (!helo_name_.empty())
        line += " helo=<" + helo_name_ + ">";
    if (!detail.empty())
        line += ": " + std::string(detail);
    log_text(Severity::info, queue_id_, line);
}

MessageCleanup::CheckResult MessageCleanup::apply_checks(MapList* table, const char* context_word,
                                                         std::string& text, bool header) {
    if (table == nullptr || (flags_ & cleanup_flag::filter) == 0)
        return CheckResult::keep;
    auto value = table->find(text);
    if (!value) {
        log_warning("%s: %s map lookup problem -- message not accepted, try again later",
                    queue_id_.c_str(), table->title().c_str());
        errors_ |= cleanup_status::write;
        return CheckResult::keep;
    }
    if (!*value)
        return CheckResult::keep;
    return act(context_word, text, **value, table->title(), header);
}

// What a table's answer does to the line it matched (header_checks(5)).
MessageCleanup::CheckResult MessageCleanup::act(const char* context_word, std::string& text,
                                                std::string_view value, const std::string& title,
                                                bool header) {
    CheckAction action = parse_check_action(value);
    std::string_view detail = action.text;
    switch (action.verb) {
        case CheckVerb::reject: {
            std::string reason = detail.empty() ? cleanup_status_reason(cleanup_status::cont)
                                                : with_status_code("5.7.1", detail);
            if (reason[0] != '4' && reason[0] != '5') {
                log_warning("bad DSN action in %.*s -- need 4.x.x or 5.x.x",
                            static_cast<int>(detail.size()), detail.data());
                reason[0] = '4';
            }
            reason_ = reason;
            errors_ |= reason[0] == '4' ? cleanup_status::defer : cleanup_status::cont;
            flags_ &= ~(cleanup_flag::filter | cleanup_flag::milter);
            log_action("reject", context_word, text, reason_);
            return CheckResult::keep;
        }
        case CheckVerb::warn:
            log_action("warning", context_word, text, detail);
            return CheckResult::keep;
        case CheckVerb::info:
            log_action("info", context_word, text, detail);
            return CheckResult::keep;
        case CheckVerb::filter:
            if (detail.empty())
                log_warning("missing FILTER command argument in %s map", title.c_str());
            else if (detail.find(':') == std::string_view::npos)
                log_warning("bad FILTER command %.*s in %s -- need transport:destination",
                            static_cast<int>(detail.size()), detail.data(), title.c_str());
            else {
                filter_ = std::string(detail);
                log_action("filter", context_word, text, detail);
            }
            return CheckResult::keep;
        case CheckVerb::discard:
            log_action("discard", context_word, text, detail);
            flags_ |= cleanup_flag::discard;
            flags_ &= ~(cleanup_flag::filter | cleanup_flag::milter);
            return CheckResult::keep;
        case CheckVerb::hold:
            if ((flags_ & (cleanup_flag::hold | cleanup_flag::discard)) == 0) {
                log_action("hold", context_word, text, detail);
                flags_ |= cleanup_flag::hold;
            }
            return CheckResult::keep;
        case CheckVerb::prepend:
            if (detail.empty()) {
                log_warning("PREPEND action without text in %s map", title.c_str());
            } else if (header && !is_header(detail)) {
                log_warning(
                    "bad PREPEND header text \"%.*s\" in %s map -- need \"headername: "
                    "headervalue\"",
                    static_cast<int>(detail.size()), detail.data(), title.c_str());
            } else {
                log_action("prepend", context_word, text, detail);
                writer_.content_line(detail);
            }
            return CheckResult::keep;
        case CheckVerb::replace:
            if (detail.empty()) {
                log_warning("REPLACE action without text in %s map", title.c_str());
                return CheckResult::keep;
            }
            if (header && !is_header(detail)) {
                log_warning(
                    "bad REPLACE header text \"%.*s\" in %s map -- need \"headername: "
                    "headervalue\"",
                    static_cast<int>(detail.size()), detail.data(), title.c_str());
                return CheckResult::keep;
            }
            log_action("replace", context_word, text, detail);
            text = std::string(detail);
            return CheckResult::replaced;
        case CheckVerb::redirect:
            if (detail.find('@') == std::string_view::npos) {
                log_warning("bad REDIRECT target \"%.*s\" in %s map -- need user@domain",
                            static_cast<int>(detail.size()), detail.data(), title.c_str());
            } else {
                redirect_ = std::string(detail);
                log_action("redirect", context_word, text, detail);
                flags_ &= ~(cleanup_flag::filter | cleanup_flag::milter);
            }
            return CheckResult::keep;
        case CheckVerb::bcc:
            if (detail.find('@') == std::string_view::npos) {
                log_warning("bad BCC address \"%.*s\" in %s map -- need user@domain",
                            static_cast<int>(detail.size()), detail.data(), title.c_str());
            } else if (header_bcc_.size() < 100) {
                header_bcc_.emplace_back(detail);
                log_action("bcc", context_word, text, detail);
            }
            return CheckResult::keep;
        case CheckVerb::ignore:
            return CheckResult::drop;
        case CheckVerb::dunno:
        case CheckVerb::ok:
            return CheckResult::keep;
        case CheckVerb::unknown:
            break;
    }
    log_warning("unknown command in %s map: %.*s", title.c_str(), static_cast<int>(value.size()),
                value.data());
    return CheckResult::keep;
}

// ---- Headers ----

void MessageCleanup::on_header(HeaderClass header_class, const HeaderInfo* info,
                               std::string& header) {
    if (!out_ok())
        return;
    // MIME headers of the message itself are checked as MIME headers.
    HeaderClass check_class = info != nullptr && (info->flags & header_flag::mime)
                                  ? HeaderClass::multipart
                                  : header_class;
    CleanupTables& tables = context_.tables;
    std::optional<MapList>& table = check_class == HeaderClass::primary ? tables.header_checks
                                    : check_class == HeaderClass::multipart
                                        ? tables.mime_header_checks
                                        : tables.nested_header_checks;
    CheckResult result = apply_checks(table ? &*table : nullptr, "header", header, true);
    if (result == CheckResult::drop)
        return;
    if (result == CheckResult::replaced)
        info = find_header_info(header);
    if (info == nullptr) {
        write_header(header);
        return;
    }
    if (info->type == HeaderType::content_transfer_encoding) {
        std::string_view value = trim(header_value(header));
        if (equals_ignore_case(value, "8bit") || equals_ignore_case(value, "binary"))
            encoding_ = "8bit";
    }
    // MIME headers and the headers of parts and attached messages pass as they are.
    if (header_class != HeaderClass::primary || (info->flags & header_flag::mime)) {
        write_header(header);
        return;
    }
    known_header(*info, header);
}

void MessageCleanup::known_header(const HeaderInfo& info, std::string& header) {
    headers_seen_ |= header_bit(info.type);
    if (info.type == HeaderType::message_id || info.type == HeaderType::resent_message_id) {
        std::string value(trim_left(header.substr(header.find(':') + 1)));
        log_info("%s: %smessage-id=%s", queue_id_.c_str(),
                 info.type == HeaderType::resent_message_id ? "resent-" : "", value.c_str());
    }
    if (info.type == HeaderType::received && ++hop_count_ >= settings_.hopcount_limit)
        errors_ |= cleanup_status::hops;
    if (!out_ok())
        return;
    if (info.flags & header_flag::resent)
        resent_ = true;
    bool addresses = (info.flags & (header_flag::sender | header_flag::recipient)) != 0;
    if (addresses && header_rewrite_ != HeaderRewrite::none)
        rewrite_address_header(info, header, (info.flags & header_flag::sender) != 0);
    else if ((info.flags & header_flag::drop) == 0)
        write_header(header);
}

// The addresses of a sender or recipient header in canonical form: trivial-rewrite's
// rules in the header context, then the canonical tables for the header classes. The
// header is rebuilt only when an address changed.
void MessageCleanup::rewrite_address_header(const HeaderInfo& info, const std::string& header,
                                            bool sender) {
    // As Postfix: the name is taken as long as the table's spelling (the client's letter
    // case stays), the value starts one byte after it.
    std::string_view name = std::string_view(header).substr(0, info.name.size());
    HeaderAddressList list = HeaderAddressList::parse(
        std::string_view(header).substr(std::min(header.size(), info.name.size() + 1)),
        settings_.token_limit);
    RewriteContext context =
        header_rewrite_ == HeaderRewrite::remote ? RewriteContext::remote : RewriteContext::local;
    CleanupTables& tables = context_.tables;
    unsigned own = sender ? canonical_class::header_sender : canonical_class::header_recipient;
    std::optional<MapList>& specific =
        sender ? tables.sender_canonical_maps : tables.recipient_canonical_maps;
    unsigned specific_classes =
        sender ? settings_.sender_canonical_classes : settings_.recipient_canonical_classes;
    bool changed = false;
    for (size_t i = 0; i < list.size(); ++i) {
        std::string before = list.internal(i);
        std::string address = context_.mapper.rewriter().rewrite(context, before);
        if (flags_ & cleanup_flag::map_ok) {
            if (specific && (specific_classes & own))
                context_.mapper.map_canonical(*specific, address, settings_.propagate_canonical,
                                              queue_id_, trouble_);
            if (tables.canonical_maps && (settings_.canonical_classes & own))
                context_.mapper.map_canonical(*tables.canonical_maps, address,
                                              settings_.propagate_canonical, queue_id_, trouble_);
            note_mapping_trouble();
        }
        if (address != before) {
            list.replace(i, address);
            changed = true;
        }
    }
    if (info.flags & header_flag::drop)
        return;
    if (!changed)
        write_header(header);
    else
        write_header(fold_address_header(std::string(name) + ": " + list.externalize()));
}

void MessageCleanup::write_header(std::string_view header) {
    if (!out_ok())
        return;
    for (const std::string& line : header_output_lines(header, settings_.header_size_limit))
        writer_.content_line(line);
}

// ---- Missing headers ----

void MessageCleanup::on_primary_headers_end() {
    if (!out_ok())
        return;
    if (header_rewrite_ != HeaderRewrite::none || settings_.always_add_missing_headers)
        add_missing_headers();
    if ((headers_seen_ & header_bit(HeaderType::message_id)) == 0)
        log_info("%s: message-id=<>", queue_id_.c_str());
}

void MessageCleanup::add_missing_headers() {
    const std::string resent = resent_ ? "Resent-" : "";
    HeaderType id_type = resent_ ? HeaderType::resent_message_id : HeaderType::message_id;
    if ((headers_seen_ & header_bit(id_type)) == 0) {
        // The queue file's creation time and ID make the ID unique, as in Postfix.
        std::string id;
        if (settings_.id_form == QueueIdForm::long_form) {
            id = queue_id_ + "@" + settings_.myhostname;
        } else {
            std::time_t created = static_cast<std::time_t>(writer_.id_time().seconds);
            std::tm utc{};
            gmtime_r(&created, &utc);
            char stamp[32];
            std::strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &utc);
            id = std::string(stamp) + "." + queue_id_ + "@" + settings_.myhostname;
        }
        writer_.content_line(resent + "Message-Id: <" + id + ">");
        log_info("%s: %smessage-id=<%s>", queue_id_.c_str(), resent_ ? "resent-" : "", id.c_str());
        headers_seen_ |= header_bit(id_type);
    }
    HeaderType date_type = resent_ ? HeaderType::resent_date : HeaderType::date;
    if ((headers_seen_ & header_bit(date_type)) == 0)
        writer_.content_line(resent + "Date: " + mail_date(arrival_.seconds));
    HeaderType from_type = resent_ ? HeaderType::resent_from : HeaderType::from;
    if ((headers_seen_ & header_bit(from_type)) == 0)
        writer_.content_line(resent + "From: " + generated_from());
    uint64_t visible = header_bit(HeaderType::to) | header_bit(HeaderType::resent_to) |
                       header_bit(HeaderType::cc) | header_bit(HeaderType::resent_cc);
    const std::string& undisclosed = settings_.undisclosed_recipients_header;
    if ((headers_seen_ & visible) == 0 && !undisclosed.empty()) {
        if (!is_header(undisclosed))
            log_warning(
                "bad undisclosed_recipients_header header text \"%s\" -- need "
                "\"headername: headervalue\"",
                undisclosed.c_str());
        else
            writer_.content_line(undisclosed);
    }
}

// "name <address>" (header_from_format = standard, the name quoted when it holds
// specials), "address (name)" (obsolete), or the bare address; MAILER-DAEMON for <>.
std::string MessageCleanup::generated_from() const {
    if (sender_.empty())
        return externalize_address("MAILER-DAEMON");
    std::string address = externalize_address(sender_);
    if (full_name_.empty())
        return address;
    if (settings_.from_format == FromFormat::obsolete) {
        HeaderAddressList comment = HeaderAddressList::parse("(" + full_name_ + ")");
        return address + " " + comment.externalize();
    }
    if (full_name_.find_first_of(kNameSpecials) == std::string::npos)
        return full_name_ + " <" + address + ">";
    std::string quoted = "\"";
    for (char c : full_name_) {
        if (c == '"' || c == '\\')
            quoted.push_back('\\');
        quoted.push_back(c);
    }
    return quoted + "\" <" + address + ">";
}

// ---- Body ----

void MessageCleanup::on_body(std::string_view text, bool end_of_line, int64_t offset) {
    if (!out_ok())
        return;
    if (context_.tables.body_checks && (flags_ & cleanup_flag::filter) &&
        (settings_.body_checks_size_limit == 0 || offset < settings_.body_checks_size_limit)) {
        body_line_.assign(text);  // reused: no allocation per line once warm
        CheckResult result = apply_checks(&*context_.tables.body_checks, "body", body_line_, false);
        if (result == CheckResult::drop)
            return;
        if (result == CheckResult::replaced)
            text = body_line_;
        if (!out_ok())
            return;
    }
    if (end_of_line)
        writer_.content_line(text);
    else
        writer_.content_continued(text);
}

}  // namespace postern::cleanup
