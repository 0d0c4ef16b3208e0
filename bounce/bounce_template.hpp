// Notice templates: the headers and the human-readable text of each kind of notice, built
// in or from the administrator's bounce_template_file in Postfix's bounce(5) format.
//
// Where it sits: bounce/, read by the notice composer (notice.hpp). The file is read as
// root before the chroot (pre_init), parsed and expanded once at start-up. It is the
// administrator's and trusted, but not to be well formed: as in Postfix, a syntax error in
// the file is fatal, and a template whose headers or text are unusable is ignored with a
// warning (the built-in one is used instead).
//
// The format (bounce(5)):
//
//   # comment                          outside a template: comments and blank lines
//   failure_template = <<EOF           failure, delay, success or verify, then <<MARKER
//   Charset: us-ascii                  optional headers: Charset, From, Subject,
//   From: MAILER-DAEMON (Mail Delivery System)   Postmaster-Subject (failure, delay)
//   Subject: Undelivered Mail Returned to Sender
//
//   Text with $myhostname, ${mail_name}, $$ for a dollar, and the time parameters
//   $delay_warning_time_hours, $maximal_queue_lifetime_days (suffix seconds, minutes,
//   hours, days or weeks: the value in that unit, rounded down).
//   EOF                                a line with the marker only
//
// The built-in texts are Postern's own words; the subjects and the other headers are
// Postfix's, so that filters that match them keep working.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/expand.hpp"
#include "util/result.hpp"

namespace postern {

enum class NoticeKind { failure, delay, success, verify };

// "failure", "delay", "success", "verify": the template's class name.
std::string_view notice_kind_name(NoticeKind kind);

struct BounceTemplate {
    NoticeKind kind = NoticeKind::failure;
    std::string origin = "[built-in]";  // the file it came from
    std::string charset = "us-ascii";
    bool eight_bit = false;  // the text holds 8-bit characters (charset is not us-ascii)
    std::string from;
    std::string subject;
    std::string postmaster_subject;  // empty for success and verify, which have none
    std::vector<std::string> text;   // the unexpanded message text, one line each

    // "7bit" or "8bit": what the text needs.
    std::string_view encoding() const { return eight_bit ? "8bit" : "7bit"; }
};

struct BounceTemplates {
    BounceTemplate failure;
    BounceTemplate delay;
    BounceTemplate success;
    BounceTemplate verify;

    const BounceTemplate& get(NoticeKind kind) const;
    BounceTemplate& get(NoticeKind kind);
};

// The built-in templates. header_from_format decides the From: form: "standard" writes
// "Mail Delivery System <MAILER-DAEMON>", "obsolete" "MAILER-DAEMON (Mail Delivery System)".
BounceTemplates builtin_bounce_templates(bool header_from_obsolete);

// Replaces the templates that `file_text` (the contents of `origin`) defines. A syntax
// error is an ErrorKind::config error ("ORIGIN, line N: ..."); an unusable template or an
// unknown template name leaves the built-in one in place and adds a warning.
Status load_bounce_templates(std::string_view file_text, const std::string& origin,
                             BounceTemplates& templates, std::vector<std::string>& warnings);

// The values behind the time parameters of template text, in seconds.
struct TemplateTimes {
    int64_t delay_warning_time = 0;
    int64_t maximal_queue_lifetime = 0;
};

// The template's text with $name expanded from `parameters` (main.cf and defaults) and
// the time parameters. A bad $name or an undefined name is an ErrorKind::config error, as
// Postfix makes it fatal; a time value that rounds to 0 or above 999 adds a warning.
Result<std::vector<std::string>> expand_template_text(const BounceTemplate& notice_template,
                                                      const ParameterSource& parameters,
                                                      const TemplateTimes& times,
                                                      std::vector<std::string>& warnings);

}  // namespace postern
