// postqueue's two listings of what showq sent: -p, the traditional mailq layout, and -j,
// one JSON object per message. Pure formatting, byte for byte as Postfix 3.7's postqueue:
//
//   -Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
//   2D96BA760AF*    1234 Thu Dec  3 08:54:52  sender@example.com
//                    (connect to mx.example.com[192.0.2.1]:25: Connection refused)
//                                            rcpt@example.com
//   (blank line)
//   -- 1 Kbytes in 1 Request.
//
// The ID carries '*' (active), '!' (hold) or '#' (forced to expire) and is padded to 11
// columns, the size takes 7; the arrival time is asctime()'s first 20 columns in local
// time; recipients are indented 41 columns; a deferral reason is printed in parentheses,
// right-aligned to column 78, before the first of consecutive recipients that share it
// ("(reason unavailable)" when a recipient without a reason follows one with a reason).
// The footer counts the messages and the sum of their sizes in whole kilobytes; an empty
// queue is "Mail queue is empty".
//
// The text comes from showq already sanitized; the JSON writer still escapes quotes,
// backslashes and any control character, so a line is always one valid JSON object.
#pragma once

#include <cstdint>
#include <string>

#include "queue/showq_protocol.hpp"

namespace postern::postqueue {

class MailqListing {
  public:
    // Appends the header (before the first message) and the message's lines to `out`.
    void add(const ShowqMessage& message, std::string& out);
    // Appends the footer, or "Mail queue is empty".
    void finish(std::string& out) const;

  private:
    int64_t messages_ = 0;
    int64_t bytes_ = 0;
};

// The status marks after the queue ID: '*' (active) or '!' (hold), then '#' when the
// message is force-expired (postsuper -e/-f), as Postfix shows "!#" for a held one.
std::string queue_status_marks(const ShowqMessage& message);

// asctime()'s first 20 columns for `seconds` in local time: "Thu Dec  3 08:54:52 ".
std::string arrival_time_column(int64_t seconds);

// One JSON object and its newline.
std::string json_line(const ShowqMessage& message);

// A JSON string literal for `text`.
std::string json_string(std::string_view text);

}  // namespace postern::postqueue
