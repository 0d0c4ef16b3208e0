// aliases(5) source text: the parser behind postalias(1) and newaliases, which turn
// /etc/aliases into the alias database that local(8) searches for every local recipient.
//
// Where it sits: lib/maps, beside table_source (postmap's input format). The text is the
// administrator's (or, with postalias -i, whatever arrives on standard input), never the
// network's, but it may be malformed in any way: nothing here fails on bad text. A line
// that cannot be used is skipped with Postfix's warning, naming the file and line, and the
// rest of the file is still read. Pure functions over text, so that a fuzzer can drive them.
//
// The format, as Postfix 3.7.11's postalias reads it (checked byte for byte against
// /usr/sbin/postalias and db5.3_dump):
//   - `name: value, value, ...` on one logical line: `#` comment lines and blank lines are
//     skipped; a line that starts with white space continues the logical line before it
//     (even across skipped lines), its text appended as is, the newline dropped; a logical
//     line is numbered by its first physical line and ends at its first NUL byte.
//   - The line is split into RFC 822 tokens (atoms, "quoted strings", (comments) and
//     [domain literals], and the operators ()<>@,;:\".[]%!|). The name is everything before
//     the first `:` operator, the value everything after it.
//   - The name is stored in internal form: quotes and backslash escapes removed, tokens
//     joined as Postfix joins them ("a" "b" is `a b`, a . b is `a.b`). It must not be empty,
//     must not hold a `,` ("need name:value pair"), and must not hold an `@` or `%` operator
//     ("name must be local"): quote those characters to use them.
//   - The value is stored in external form, re-quoted where needed, so that local(8) can
//     parse it again: `Admin@Example.COM ,  other` becomes `Admin@Example.COM, other`,
//     `:include: /path` becomes `:include:/path`, `"|cmd arg"` stays quoted. It must not be
//     empty.
//   - With UTF-8 checks on (smtputf8_enable = yes, no postalias -u) a line that is not valid
//     UTF-8 is skipped: "non-UTF-8 input "..." -- ignoring this line".
// Case folding and duplicate names are the table's business (Map::update), as in Postfix.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "maps/table_source.hpp"
#include "util/result.hpp"

namespace postern {

struct AliasSourceOptions {
    // smtputf8_enable and not postalias -u: lines that are not valid UTF-8 are skipped.
    bool check_utf8 = false;
};

// One alias, ready to be stored.
struct AliasEntry {
    std::string name;   // internal form, case as written (the table folds it)
    std::string value;  // external form
    int line = 0;       // the first physical line of the logical line
};

using AliasVisit = std::function<Status(const AliasEntry& entry)>;

// Parses the aliases(5) text of `origin` (a file name, or "stdin" for postalias -i; used in
// warnings only), calling `visit` for each entry and `warn` for each problem (Postfix's
// text without the "program: warning: " prefix), interleaved in file order, so that a
// caller that stores entries as they come reports duplicates where Postfix does. Returns
// the first error `visit` returns (and stops there); the text itself never makes it fail.
Status parse_aliases(std::string_view text, std::string_view origin,
                     const AliasSourceOptions& options, const AliasVisit& visit,
                     const TableWarning& warn);

// One logical line, without the UTF-8 check: the entry (line 0), or ErrorKind::config with
// the problem alone ("need name:value pair", "name must be local").
Result<AliasEntry> parse_alias_line(std::string_view line);

}  // namespace postern
