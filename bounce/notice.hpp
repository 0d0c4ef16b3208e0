// Composing a delivery status notification: an RFC 3464 multipart/report message, line by
// line, in the structure and with the machine-readable fields Postfix's bounce daemon
// writes, so that what parses Postfix's notices parses Postern's.
//
// Where it sits: bounce/, between the bounce service (which decides who gets which notice,
// bounce_service.hpp) and the sink that hands the lines to cleanup. Pure: no clock, no
// files except the original message's queue file through OriginalMessage, so unit tests
// compare whole notices with golden text.
//
//   Received: by MYHOSTNAME (MAIL_NAME) / id NEWID; DATE      (as Postfix's post_mail)
//   Date, From, Subject, To  [References, In-Reply-To]        (template; threaded bounces)
//   Auto-Submitted: auto-replied (auto-generated for postmaster copies; RFC 3834)
//   MIME-Version, Content-Type: multipart/report; report-type=delivery-status; boundary
//   [Content-Transfer-Encoding], Message-Id
//   part 1  text/plain "Notification": the template text (not in postmaster copies), then
//           per recipient "<rcpt> (expanded from <orig>): reason", wrapped at 79 columns
//   part 2  message/delivery-status "Delivery report" (message/global-delivery-status
//           when the original asked for SMTPUTF8, RFC 6533): Reporting-MTA,
//           Original-Envelope-Id, X-Postfix-Queue-ID, X-Postfix-Sender, Arrival-Date; per
//           recipient Final-Recipient, Original-Recipient, Action, Status, Remote-MTA,
//           Diagnostic-Code, Will-Retry-Until (delay notices)
//   part 3  message/rfc822 (or message/global) with the original message, or
//           text/rfc822-headers (message/global-headers) with its headers only (RET=HDRS,
//           a message over bounce_size_limit, delay and success notices), preceded by
//           Return-Path: <sender>
//
// Untrusted text (the recipients' reasons, addresses, the original message's headers) is
// sanitized and wrapped (notice_text.hpp) before it becomes a line; the original message
// itself is copied as it is, inside its own MIME part, as Postfix copies it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bounce/bounce_settings.hpp"
#include "bounce/bounce_template.hpp"
#include "bounce/original_message.hpp"
#include "mail/dsn.hpp"

namespace postern {

// Where a notice's lines go (cleanup, or a string in tests).
class NoticeSink {
  public:
    virtual ~NoticeSink() = default;
    // One whole line, without its end.
    virtual void line(std::string_view text) = 0;
    // The start or middle of a long line of the original message: its end comes with the
    // next line() (kept as the queue file kept it: L records, then N).
    virtual void piece(std::string_view text) = 0;
};

// Postfix's SMTPUTF8_FLAG_REQUESTED: the sender asked for SMTPUTF8 (in the bounce
// request's smtputf8 and the size record's sixth field).
inline constexpr int64_t kSmtputf8Requested = 1;

// One recipient as the notice shows it: sanitized text from a log record.
struct NoticeRecipient {
    std::string address;    // "(MAILER-DAEMON)" for an empty one, as Postfix shows it
    std::string original;   // empty when the same as address or unknown
    std::string dsn_orcpt;  // "rfc822;addr", or empty
    DeliveryStatus status;
};

// What the bounce request said about the original message.
struct NoticeOrigin {
    std::string queue_id;
    std::string encoding;  // "7bit", "8bit" or empty
    int64_t smtputf8 = 0;
    std::string dsn_envid;  // sanitized
};

// One notice to compose.
struct NoticeSpec {
    NoticeKind kind = NoticeKind::failure;
    bool postmaster_copy = false;
    std::string recipient;  // who gets it (the To: header)
    int ret = 0;            // dsn::ret_full or dsn::ret_hdrs
    // The recipients reported; nullopt when the log could not be read ("Delivery report
    // unavailable").
    std::optional<std::vector<NoticeRecipient>> recipients;
};

// The MIME encoding of the notice's own parts, as Postfix chooses it: "8bit" whenever
// smtputf8_enable is on (addresses and $myhostname may be 8-bit) or the original was
// 8-bit, "7bit" for a 7-bit original, none (empty) when the encoding was not given.
std::string notice_mime_encoding(const BounceSettings& settings, std::string_view encoding);

class NoticeComposer {
  public:
    // `text` is the template's expanded text; `original` may be one that was not found.
    // `event_time` (seconds) names the MIME boundary, as Postfix's does.
    NoticeComposer(const BounceSettings& settings, const BounceTemplate& notice_template,
                   const std::vector<std::string>& text, NoticeOrigin origin,
                   const OriginalMessage& original, int64_t event_time);

    // Writes the whole notice; `notice_id` is the queue ID cleanup gave it, `now` the
    // time of its Date: header (seconds).
    void compose(const NoticeSpec& spec, std::string_view notice_id, int64_t now,
                 NoticeSink& sink) const;

    const std::string& boundary() const { return boundary_; }

  private:
    void headers(const NoticeSpec& spec, std::string_view notice_id, int64_t now,
                 NoticeSink& sink) const;
    void text_part(const NoticeSpec& spec, NoticeSink& sink) const;
    void status_part(const NoticeSpec& spec, NoticeSink& sink) const;
    void recipient_fields(const NoticeSpec& spec, const NoticeRecipient& recipient,
                          NoticeSink& sink) const;
    void original_part(const NoticeSpec& spec, NoticeSink& sink) const;
    void copy_original(bool headers_only, NoticeSink& sink) const;
    // "rfc822; addr" or "utf-8; addr" (RFC 6533) for an address field.
    std::string typed_address(std::string_view address) const;
    bool eight_bit_mime() const;
    bool smtputf8_requested() const { return (origin_.smtputf8 & kSmtputf8Requested) != 0; }

    const BounceSettings& settings_;
    const BounceTemplate& template_;
    const std::vector<std::string>& text_;
    NoticeOrigin origin_;
    const OriginalMessage& original_;
    std::string mime_encoding_;
    std::string boundary_;
    std::string mail_name_;
    std::string original_sender_;  // as shown: quoted, MAILER-DAEMON@host for <>
};

}  // namespace postern
