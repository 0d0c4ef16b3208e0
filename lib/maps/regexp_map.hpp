// regexp: tables, as Postfix 3.7's regexp_table(5): POSIX regular expressions tried in
// order against the whole lookup string, first match wins, with $n substitution of the
// matched subexpressions into the result.
//
// Where it sits: lib/maps, behind the Map interface. Access restrictions (sender,
// recipient, client and HELO names), header_checks/body_checks-style tables, canonical
// and virtual rewriting and postmap -q look strings up here.
//
// Untrusted input: the lookup key (an address, a host name, a header line: network data).
// It is matched as bytes with REG_STARTEND, never copied into the result except as the
// text of a subexpression the administrator asked for. A NUL byte in a key is an ordinary
// byte. Matching time is regexec(3)'s (glibc); patterns are the administrator's.
// The table text is the administrator's: a malformed rule is skipped with Postfix's
// warning naming the file and line, and the table still opens.
//
// Syntax (checked against /usr/sbin/postmap 3.7.11):
//   /pattern/flags result     any delimiter: the first character after optional '!'s;
//   !/pattern/flags result      a backslash escapes the next character (and stays in the
//   if /pattern/flags           pattern); a rule starting with a letter or digit is a
//   if !/pattern/flags          keyword (if, endif, any case) or "ignoring unrecognized
//   endif                       request". Flags toggle i (ignore case, on), x (extended
//                               syntax, on), m (REG_NEWLINE, off).
//   Result: $1, ${1}, $(1) (any number of digits, at most the pattern's subexpressions;
//   a subexpression that did not take part is empty), $$ for '$'; nothing else may follow
//   a '$'. A negated rule may not use $n. A missing result is the empty string. With
//   MapFlag::no_regsub (trivial-rewrite's tables) a rule that uses $n is skipped: "regular
//   expression substitution is not allowed: skipping this rule".
#pragma once

#include <string_view>

#include "maps/map.hpp"
#include "maps/pattern_table.hpp"

namespace postern {

// Builds a regexp table from `text`, as Postfix would read it from the file `name`
// (messages say "regexp map NAME, line N: ..."). Never fails: bad rules become warnings.
PatternTableBuild build_regexp_map(std::string_view name, std::string_view text,
                                   MapFlag flags = MapFlag::none);

}  // namespace postern
