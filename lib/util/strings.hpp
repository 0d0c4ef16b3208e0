// String helpers shared by every program: trimming, splitting Postfix-style lists,
// case folding, and the number/time/size/boolean syntaxes of main.cf values.
//
// Where it sits: util, knows nothing of mail. Input may be hostile (main.cf, network):
// every parser here returns a Result and never reads past the view it was given.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace postern {

// The separators Postfix accepts between list elements: comma and white space.
inline constexpr std::string_view kListSeparators = ", \t\r\n";
inline constexpr std::string_view kWhiteSpace = " \t\r\n\f\v";

std::string_view trim(std::string_view text);
std::string_view trim_left(std::string_view text);
std::string_view trim_right(std::string_view text);

// Splits on any run of separator characters; empty elements are dropped.
std::vector<std::string_view> split_list(std::string_view text,
                                         std::string_view separators = kListSeparators);

std::string lowercase(std::string_view text);
bool equals_ignore_case(std::string_view a, std::string_view b);
std::string join(const std::vector<std::string>& parts, std::string_view glue);

bool is_parameter_name(std::string_view name);

// "yes"/"no" (case-insensitive), as Postfix's boolean parameters.
Result<bool> parse_boolean(std::string_view text);

// A decimal integer, optionally signed, that fits in int64_t.
Result<int64_t> parse_integer(std::string_view text);

// A time value: a number followed by an optional unit s, m, h, d or w; a bare number
// takes `default_unit`. Returns seconds.
Result<int64_t> parse_time(std::string_view text, char default_unit = 's');

}  // namespace postern
