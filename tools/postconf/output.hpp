// How postconf writes its lines: plain, or folded like a hand-written main.cf (-f, -Mf).
//
// Two folding rules, as Postfix has them. A main.cf line ("name = value", also -P lines)
// is split into words at white space and rejoined with single spaces, folded or not; with
// -f, a word that would make the line longer than 80 columns starts a continuation line
// indented by four spaces. A master.cf command line keeps its words as they are, folds at
// 79 columns, and with -f puts each `-o name=value` daemon option on a line of its own.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace postern::postconf {

inline constexpr size_t kFoldWidth = 80;        // a folded main.cf line fits in this
inline constexpr size_t kMasterFoldWidth = 79;  // a folded master.cf line fits in this
inline constexpr std::string_view kFoldIndent = "    ";

// Normalises the white space in `line` and, when `fold` is set, folds it as main.cf.
std::string fold_line(std::string_view line, bool fold = true);

// Appends a master.cf command and its arguments to `out`, whose current line is already
// `column` columns wide: joined by single spaces, or folded (-f) as postconf -Mf does.
// With `wrap_first_word` (postconf -F), a first word that would take the line past 80
// columns starts a continuation line, folded or not.
void append_master_command(std::string& out, size_t column, const std::vector<std::string>& words,
                           bool fold, bool wrap_first_word = false);

// Writes `line` and a newline to stdout, as fold_line() formats it.
void print_line(std::string_view line, bool fold);

}  // namespace postern::postconf
