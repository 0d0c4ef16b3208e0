// How postconf writes its lines: plain, or folded like a hand-written main.cf (-f, -Mf).
#pragma once

#include <string>
#include <string_view>

namespace postern::postconf {

inline constexpr size_t kFoldWidth = 80;

// Folds `line` at white space so that no piece is longer than kFoldWidth where it can
// be helped; continuation pieces start with `indent`.
std::string fold_line(std::string_view line, std::string_view indent = "    ");

// Writes `line` and a newline to stdout, folded when `fold` is set.
void print_line(std::string_view line, bool fold);

}  // namespace postern::postconf
