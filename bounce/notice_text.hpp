// Text for notices: what turns untrusted log and queue-file text into lines that are safe
// to put in a message, in the shape Postfix gives them.
//
// Where it sits: bounce/, below the notice composer. The input is untrusted: reasons come
// from remote SMTP servers, addresses from the network, and the logs and queue files are
// only as trustworthy as the spool. Nothing here lets such text end a line, start a MIME
// boundary or a header of its own, or make a line longer than RFC 5322 allows:
//   - sanitized(): control characters (CR, LF, NUL, TAB...) and, per smtputf8_enable,
//     malformed UTF-8 or all 8-bit bytes become '?', as Postfix's printable() does;
//   - wrap_text(): Postfix's line_wrap(): lines of at most 79 columns, broken at blanks,
//     the continuation lines indented by 4 (so they never start a header or a boundary);
//   - bounded_lines(): a "word" longer than a line may be is broken too, at
//     kMaxNoticeLineLength bytes (Postfix leaves it whole; RFC 5322 section 2.1.1 limits
//     lines to 998 characters).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace postern {

inline constexpr size_t kWrapColumns = 79;
inline constexpr size_t kWrapIndent = 4;
// The longest line a notice's own text may have, continuation indent included.
inline constexpr size_t kMaxNoticeLineLength = 990;

std::string sanitized(std::string_view text, bool allow_utf8);

// Breaks `text` at blanks into lines of at most `columns` (more when one word is longer),
// the lines after the first indented by `indent` spaces; trailing blanks of a line and
// leading blanks of the next are dropped. Then bounds every line (bounded_lines).
std::vector<std::string> wrap_text(std::string_view text, size_t columns = kWrapColumns,
                                   size_t indent = kWrapIndent);

// `line` as it is when it fits kMaxNoticeLineLength, else cut into pieces that do, the
// pieces after the first indented by kWrapIndent spaces (a folded header field).
std::vector<std::string> bounded_lines(std::string_view line);

// mail_name as an RFC 822 atom for "X-Postfix-Queue-ID" and "Diagnostic-Code: X-Postfix;":
// white space and specials become '-'.
std::string mail_name_atom(std::string_view mail_name);

// True for well-formed UTF-8 that is not plain ASCII ("utf-8" address types, RFC 6533).
bool is_utf8_not_ascii(std::string_view text);

}  // namespace postern
