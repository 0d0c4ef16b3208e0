// Composing a delivery status notification; see notice.hpp.
#include "bounce/notice.hpp"

#include <time.h>

#include "bounce/notice_text.hpp"
#include "mail/header.hpp"
#include "mail/mail_date.hpp"
#include "mail/quote_address.hpp"
#include "queue/queue_file.hpp"
#include "util/strings.hpp"

namespace postern {

namespace {

void put(NoticeSink& sink, std::string_view line) {
    for (const std::string& bounded : bounded_lines(line))
        sink.line(bounded);
}

void put_wrapped(NoticeSink& sink, std::string_view text) {
    for (const std::string& line : wrap_text(text))
        sink.line(line);
}

bool is_undelivered(NoticeKind kind) {
    return kind == NoticeKind::failure || kind == NoticeKind::delay;
}

// Cleanup's Message-Id form, "<YYYYMMDDHHMMSS.QUEUEID@myhostname>", local time.
std::string message_id(int64_t now, std::string_view notice_id, std::string_view hostname) {
    time_t seconds = static_cast<time_t>(now);
    struct tm local {};
    localtime_r(&seconds, &local);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &local);
    return "<" + std::string(stamp) + "." + std::string(notice_id) + "@" + std::string(hostname) +
           ">";
}

bool is_header_line(std::string_view line) {
    return (!line.empty() && (line.front() == ' ' || line.front() == '\t')) ||
           header_name_length(line) > 0;
}

// The Action of a record that has none: derived from its status class.
std::string_view default_action(const DeliveryStatus& status) {
    if (status.success())
        return dsn_action::delivered;
    return status.temporary() ? dsn_action::delayed : dsn_action::failed;
}

// A status that is not RFC 3463's syntax (a damaged log) is reported as the kind's
// generic code, so that the report stays parseable.
std::string_view reported_status(NoticeKind kind, const DeliveryStatus& status) {
    if (is_enhanced_status_code(status.status))
        return status.status;
    switch (kind) {
        case NoticeKind::failure:
            return "5.0.0";
        case NoticeKind::delay:
            return "4.0.0";
        default:
            return "2.0.0";
    }
}

}  // namespace

std::string notice_mime_encoding(const BounceSettings& settings, std::string_view encoding) {
    if (settings.smtputf8_enable || encoding == "8bit")
        return "8bit";
    if (encoding == "7bit")
        return "7bit";
    return {};
}

NoticeComposer::NoticeComposer(const BounceSettings& settings,
                               const BounceTemplate& notice_template,
                               const std::vector<std::string>& text, NoticeOrigin origin,
                               const OriginalMessage& original, int64_t event_time)
    : settings_(settings),
      template_(notice_template),
      text_(text),
      origin_(std::move(origin)),
      original_(original),
      mime_encoding_(notice_mime_encoding(settings, origin_.encoding)),
      boundary_(origin_.queue_id + "." + std::to_string(event_time) + "/" + settings.myhostname),
      mail_name_(mail_name_atom(settings.mail_name)) {
    if (const auto& sender = original.envelope().sender) {
        std::string shown =
            sender->empty() ? settings.mailer_daemon_address() : quote_address_local_part(*sender);
        original_sender_ = sanitized(shown, settings.smtputf8_enable);
    }
}

bool NoticeComposer::eight_bit_mime() const {
    return !mime_encoding_.empty() && mime_encoding_ != "7bit";
}

std::string NoticeComposer::typed_address(std::string_view address) const {
    bool utf8 = origin_.smtputf8 != 0 && is_utf8_not_ascii(address);
    return std::string(utf8 ? "utf-8; " : "rfc822; ") + std::string(address);
}

void NoticeComposer::compose(const NoticeSpec& spec, std::string_view notice_id, int64_t now,
                             NoticeSink& sink) const {
    headers(spec, notice_id, now, sink);
    text_part(spec, sink);
    status_part(spec, sink);
    original_part(spec, sink);
}

void NoticeComposer::headers(const NoticeSpec& spec, std::string_view notice_id, int64_t now,
                             NoticeSink& sink) const {
    std::string date = mail_date(now);
    put(sink, "Received: by " + settings_.myhostname + " (" + settings_.mail_name + ")");
    put(sink, "\tid " + std::string(notice_id) + "; " + date);
    put(sink, "Date: " + date);
    put(sink, "From: " + template_.from);
    bool pm_subject = spec.postmaster_copy && !template_.postmaster_subject.empty();
    put(sink, "Subject: " + (pm_subject ? template_.postmaster_subject : template_.subject));
    put(sink,
        "To: " + sanitized(quote_address_local_part(spec.recipient), settings_.smtputf8_enable));
    if (const std::string& id = original_.envelope().message_id;
        settings_.threaded_bounces && !id.empty()) {
        std::string shown = sanitized(id, settings_.smtputf8_enable);
        put(sink, "References: " + shown);
        put(sink, "In-Reply-To: " + shown);
    }
    put(sink, std::string("Auto-Submitted: ") +
                  (spec.postmaster_copy ? "auto-generated" : "auto-replied"));
    put(sink, "MIME-Version: 1.0");
    put(sink, "Content-Type: multipart/report; report-type=delivery-status;");
    put(sink, "\tboundary=\"" + boundary_ + "\"");
    if (!mime_encoding_.empty())
        put(sink, "Content-Transfer-Encoding: " +
                      std::string(mime_encoding_ == "7bit" ? template_.encoding()
                                                           : std::string_view(mime_encoding_)));
    put(sink, "Message-Id: " + message_id(now, notice_id, settings_.myhostname));
    sink.line("");
    sink.line("This is a MIME-encapsulated message.");
}

void NoticeComposer::text_part(const NoticeSpec& spec, NoticeSink& sink) const {
    sink.line("");
    put(sink, "--" + boundary_);
    sink.line("Content-Description: Notification");
    std::string charset = !equals_ignore_case(template_.charset, "us-ascii") ? template_.charset
                          : eight_bit_mime()                                 ? "utf-8"
                                                                             : "us-ascii";
    put(sink, "Content-Type: text/plain; charset=" + charset);
    if (eight_bit_mime())
        put(sink, "Content-Transfer-Encoding: " + mime_encoding_);
    sink.line("");
    if (!spec.postmaster_copy)
        for (const std::string& line : text_)
            put(sink, line);
    if (!spec.recipients) {
        sink.line("");
        sink.line("\t--- Delivery report unavailable ---");
        return;
    }
    for (const NoticeRecipient& recipient : *spec.recipients) {
        sink.line("");
        std::string expanded =
            recipient.original.empty() ? "" : " (expanded from <" + recipient.original + ">)";
        put_wrapped(sink,
                    "<" + recipient.address + ">" + expanded + ": " + recipient.status.reason);
    }
}

void NoticeComposer::status_part(const NoticeSpec& spec, NoticeSink& sink) const {
    sink.line("");
    put(sink, "--" + boundary_);
    sink.line("Content-Description: Delivery report");
    put(sink, std::string("Content-Type: message/") + (smtputf8_requested() ? "global-" : "") +
                  "delivery-status");
    if (eight_bit_mime() && smtputf8_requested())
        put(sink, "Content-Transfer-Encoding: " + mime_encoding_);
    sink.line("");
    put(sink, "Reporting-MTA: dns; " + settings_.myhostname);
    if (!origin_.dsn_envid.empty())
        put(sink, "Original-Envelope-Id: " + origin_.dsn_envid);
    put(sink, "X-" + mail_name_ + "-Queue-ID: " + origin_.queue_id);
    if (!original_sender_.empty())
        put(sink, "X-" + mail_name_ + "-Sender: " + typed_address(original_sender_));
    if (int64_t arrival = original_.envelope().arrival_time; arrival > 0)
        put(sink, "Arrival-Date: " + mail_date(arrival));
    if (spec.recipients)
        for (const NoticeRecipient& recipient : *spec.recipients)
            recipient_fields(spec, recipient, sink);
}

void NoticeComposer::recipient_fields(const NoticeSpec& spec, const NoticeRecipient& recipient,
                                      NoticeSink& sink) const {
    const DeliveryStatus& status = recipient.status;
    sink.line("");
    put(sink, "Final-Recipient: " + typed_address(recipient.address));
    if (!recipient.dsn_orcpt.empty())
        put(sink, "Original-Recipient: " + recipient.dsn_orcpt);
    else if (!recipient.original.empty())
        put(sink, "Original-Recipient: " + typed_address(recipient.original));
    std::string_view action = spec.kind == NoticeKind::failure ? dsn_action::failed
                              : status.action.empty()          ? default_action(status)
                                                               : std::string_view(status.action);
    put(sink, "Action: " + std::string(action));
    put(sink, "Status: " + std::string(reported_status(spec.kind, status)));
    if (!status.mta_type.empty() && !status.mta_name.empty())
        put_wrapped(sink, "Remote-MTA: " + status.mta_type + "; " + status.mta_name);
    if (!status.diagnostic_type.empty() && !status.diagnostic_text.empty())
        put_wrapped(sink,
                    "Diagnostic-Code: " + status.diagnostic_type + "; " + status.diagnostic_text);
    else
        put_wrapped(sink, "Diagnostic-Code: X-" + mail_name_ + "; " + status.reason);
    int64_t arrival = original_.envelope().arrival_time;
    if (spec.kind == NoticeKind::delay && arrival > 0)
        put(sink, "Will-Retry-Until: " + mail_date(arrival + settings_.maximal_queue_lifetime));
}

void NoticeComposer::original_part(const NoticeSpec& spec, NoticeSink& sink) const {
    const OriginalEnvelope& envelope = original_.envelope();
    bool headers_only = spec.ret == dsn::ret_hdrs;
    // A message too large to return whole goes back as its headers, which keeps the MIME
    // structure intact (a cut message would not be).
    if (settings_.bounce_size_limit > 0 && envelope.found &&
        (envelope.content_size <= 0 || envelope.content_size > settings_.bounce_size_limit))
        headers_only = true;
    sink.line("");
    put(sink, "--" + boundary_);
    put(sink, std::string("Content-Description: ") +
                  (is_undelivered(spec.kind) ? "Undelivered " : "") +
                  (headers_only ? "Message Headers" : "Message"));
    if (smtputf8_requested())
        put(sink,
            std::string("Content-Type: message/") + (headers_only ? "global-headers" : "global"));
    else
        put(sink, std::string("Content-Type: ") +
                      (headers_only ? "text/rfc822-headers" : "message/rfc822"));
    if (eight_bit_mime())
        put(sink, "Content-Transfer-Encoding: " + mime_encoding_);
    sink.line("");
    if (envelope.content_offset == 0)
        sink.line("\t--- Undelivered message unavailable ---");
    else
        copy_original(headers_only, sink);
    sink.line("");
    put(sink, "--" + boundary_ + "--");
}

void NoticeComposer::copy_original(bool headers_only, NoticeSink& sink) const {
    // cleanup removes Return-Path: from the message it received; the notice puts it back
    // for the reader (and header_checks), as Postfix does.
    put(sink, "Return-Path: <" + original_sender_ + ">");
    bool line_start = true;
    bool partial = false;
    Status copied = original_.read_content([&](const ContentPiece& piece) {
        if (line_start && headers_only && !is_header_line(piece.data))
            return false;
        line_start = piece.end_of_line;
        partial = !piece.end_of_line;
        if (piece.end_of_line)
            sink.line(piece.data);
        else
            sink.piece(piece.data);
        return true;
    });
    // A damaged file may stop inside a long line: end it, so the boundary gets its own.
    if (partial)
        sink.line("");
    (void)copied;
}

}  // namespace postern
