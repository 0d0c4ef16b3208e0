// The actions of header_checks, mime_header_checks, nested_header_checks and body_checks
// (header_checks(5)): what a table's answer for a header or body line says to do.
//
// Where it sits: cleanup/, used by message_cleanup.cpp. The answer is the administrator's
// (a table value); the text it applies to is the message's. Parsing never fails: an unknown
// verb is reported by the caller and the line is kept.
#pragma once

#include <string_view>

namespace postern::cleanup {

enum class CheckVerb {
    reject,    // REJECT [text]: the message is refused (5.7.1, or the text's own code)
    warn,      // WARN [text]: logged, kept
    info,      // INFO [text]: logged, kept
    filter,    // FILTER transport:destination: content filter for this message
    discard,   // DISCARD [text]: accepted and thrown away
    hold,      // HOLD [text]: queued on hold
    prepend,   // PREPEND text: a line before this one
    replace,   // REPLACE text: this line replaced
    redirect,  // REDIRECT user@domain: every recipient replaced
    bcc,       // BCC user@domain: one more recipient
    ignore,    // IGNORE: this line deleted
    dunno,     // DUNNO: nothing (stops the table search)
    ok,        // OK: the same, for compatibility
    unknown,
};

struct CheckAction {
    CheckVerb verb = CheckVerb::unknown;
    std::string_view text;  // what follows the verb, leading white space removed
};

// The verb is matched without regard to case ("reject" is REJECT).
CheckAction parse_check_action(std::string_view value);

}  // namespace postern::cleanup
