// The date as Postfix writes it in the headers it adds (Date:, Received:, bounce reports):
// RFC 5322 section 3.3 date-time in local time with the numeric offset, followed by the
// time zone's name as a comment: "Thu,  3 Dec 2026 07:00:00 +0000 (UTC)". The day of the
// month is padded with a space to two characters, as Postfix's mail_date() pads it.
//
// Where it sits: lib/mail, used by cleanup (a missing Date: header), pickup and smtpd
// (Received: headers) and bounce. Nothing here is untrusted; the time comes from the
// caller, so tests choose it (and the time zone) instead of reading the clock.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

namespace postern {

// `when` in the process's local time zone (TZ, /etc/localtime).
std::string mail_date(std::time_t when);

// The formatter itself: `local` is the broken-down local time, `gmt_offset` its offset
// from UTC in seconds (east positive), `zone_name` the zone's abbreviation ("UTC", "CET").
std::string format_mail_date(const std::tm& local, long gmt_offset, std::string_view zone_name);

}  // namespace postern
