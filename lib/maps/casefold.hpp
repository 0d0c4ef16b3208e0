// Case folding of lookup keys, as Postfix's casefold() does it.
//
// Where it sits: lib/maps, below Map::lookup() (map.cpp), which folds the keys of tables
// opened with MapFlag::fold_fixed. Keys come from the network (addresses, HELO names), so
// every function here accepts any bytes.
//
// Without MapFlag::utf8_keys (smtputf8_enable = no) Postfix lower-cases ASCII letters only
// and leaves every other byte alone: ascii_lowercase(). With it, Postfix folds the whole
// key with ICU's full Unicode case folding ("STRAẞE" and "strasse" are the same key):
// casefold_utf8() does the same from a table generated from ICU 72 (Unicode 15.0), so
// Postern needs no ICU at run time and matches Postfix 3.7 on Debian 12 key for key.
#pragma once

#include <string>
#include <string_view>

namespace postern {

// True when `text` is well-formed UTF-8: no overlong forms, no surrogates, nothing above
// U+10FFFF, no truncated sequence.
bool is_valid_utf8(std::string_view text);

// A-Z to a-z; every other byte unchanged.
std::string ascii_lowercase(std::string_view text);

// Full Unicode case folding of well-formed UTF-8 (the caller checks is_valid_utf8 first);
// a malformed sequence is copied unchanged, byte by byte.
std::string casefold_utf8(std::string_view text);

}  // namespace postern
