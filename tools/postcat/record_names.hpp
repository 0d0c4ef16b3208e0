// How postcat names and shows each queue file record, as Postfix 3.7's postcat does.
//
// Where it sits: tools/postcat. Record data is untrusted (anything can be in a queue file):
// it is shown as it is, byte for byte, as Postfix shows it; nothing here interprets more
// than a leading number for the time stamps.
#pragma once

#include <string>
#include <string_view>

namespace postern::postcat {

// "message_size", "recipient"... or "unknown_record_type".
std::string_view record_type_name(char type);

// True for a record type a queue file may begin with (postcat's "is this a queue file"
// test): the envelope types, M, and NUL.
bool valid_first_record(char type);

// asctime()'s text without its newline, in local time: "Thu Dec  3 08:54:52 2026".
std::string asctime_text(int64_t seconds);

// atol(): the leading decimal number of `text` (after white space), 0 when none.
int64_t leading_number(std::string_view text);

}  // namespace postern::postcat
