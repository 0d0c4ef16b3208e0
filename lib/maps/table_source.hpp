// The source text of a fixed-key table: postmap's input format, read by postmap (to build
// hash:/btree: files) and by texthash: (to build a table in memory at open).
//
// Where it sits: lib/maps, below tools/postmap and texthash_map. The text belongs to the
// administrator, not the network, but may be malformed in any way: nothing here fails on
// bad text; problems are warnings in Postfix's words, naming the file and line, and the
// offending line is skipped, as /usr/sbin/postmap does.
//
// Format (Postfix 3.7, observed with postmap -s texthash:FILE):
//   - logical lines as Postfix's readllines(): a line whose first non-blank character is
//     '#' and a line of white space only are skipped; a line that starts with white space
//     continues the logical line before it (appended as is, newline dropped), even across
//     skipped lines; a logical line is numbered by its first physical line; text after a
//     NUL byte is invisible (Postfix's parsers see C strings);
//   - a logical line that starts with white space (nothing before it to continue) is
//     skipped: "FILE: logical line must not start with whitespace: "TEXT"", TEXT cut at
//     30 characters followed by "..." when longer;
//   - with check_utf8 (smtputf8_enable = yes), a line that is not well-formed UTF-8 is
//     skipped: "FILE, line N: non-UTF-8 input "LINE" -- ignoring this line";
//   - `key whitespace value`: the key ends at the first white space outside double quotes;
//     a backslash protects the character after it, inside quotes or not; quotes and
//     backslashes stay in the key as written ("a b" x stores the key `"a b"`). The value
//     is the rest with white space trimmed at both ends, taken as is;
//   - a key whose quote never closes: "FILE, line N: unbalanced '"' in 'LINE' -- ignoring
//     this line";
//   - no key or no value: "FILE, line N: expected format: key whitespace value -- ignoring
//     this line" (texthash:); postmap building a file leaves out " -- ignoring this line";
//   - a key that ends in ':' is kept as written (postmap does not strip it; postalias
//     does), with "FILE, line N: record is in "key: value" format; is this an alias file?".
//     Keys such as "[smtp.example.com]:587" (sasl_passwd) are not affected: the warning is
//     about a trailing colon only.
// Case folding, duplicate keys and base64 (-F) are the caller's: the table decides them.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace postern {

// Receives one warning, without the "program: warning: " prefix (the caller logs it or,
// in tests, collects it).
using TableWarning = std::function<void(const std::string& text)>;

// One logical line of a table source file.
struct SourceLine {
    int line = 0;      // the first physical line
    std::string text;  // as Postfix's readllines() returns it: continuations appended as is
};

// Postfix's readllines() over `text`: the logical lines in file order. Lines that start
// with white space and have nothing to continue are dropped with the warning above;
// `origin` names the file in it. Shared by every reader of a line-oriented table file.
std::vector<SourceLine> table_logical_lines(std::string_view text, std::string_view origin,
                                            const TableWarning& warn);

struct TableSourceEntry {
    std::string key;    // as written: no case folding, trailing ':' kept
    std::string value;  // trimmed, never empty
    int line = 0;       // the first physical line of the logical line
};

struct TableSourceOptions {
    // smtputf8_enable: skip lines that are not well-formed UTF-8, with a warning.
    bool check_utf8 = false;
    // postmap's wording for a line without a value, which does not say it is ignored.
    bool postmap_wording = false;
};

using TableSourceVisit = std::function<Status(const TableSourceEntry& entry)>;

// Parses postmap's input format from `text`, calling `visit` for each entry in file order.
// `origin` is the file name used in warnings. Returns the first error `visit` returns
// (and stops there); the text itself never makes it fail. A pure function over the text:
// the fuzz target drives it with arbitrary bytes.
Status parse_table_source(std::string_view text, std::string_view origin,
                          const TableSourceOptions& options, const TableSourceVisit& visit,
                          const TableWarning& warn);

}  // namespace postern
