#include "util/strings.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

namespace postern {

std::string_view trim_left(std::string_view text) {
    size_t start = text.find_first_not_of(kWhiteSpace);
    return start == std::string_view::npos ? std::string_view{} : text.substr(start);
}

std::string_view trim_right(std::string_view text) {
    size_t end = text.find_last_not_of(kWhiteSpace);
    return end == std::string_view::npos ? std::string_view{} : text.substr(0, end + 1);
}

std::string_view trim(std::string_view text) {
    return trim_right(trim_left(text));
}

std::vector<std::string_view> split_list(std::string_view text, std::string_view separators) {
    std::vector<std::string_view> parts;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t start = text.find_first_not_of(separators, pos);
        if (start == std::string_view::npos)
            break;
        size_t end = text.find_first_of(separators, start);
        if (end == std::string_view::npos)
            end = text.size();
        parts.push_back(text.substr(start, end - start));
        pos = end;
    }
    return parts;
}

std::string lowercase(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
               return std::tolower(x) == std::tolower(y);
           });
}

std::string join(const std::vector<std::string>& parts, std::string_view glue) {
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i)
            out += glue;
        out += parts[i];
    }
    return out;
}

bool is_parameter_name(std::string_view name) {
    if (name.empty())
        return false;
    return std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_' || c == '-' || c == '.';
    });
}

Result<bool> parse_boolean(std::string_view text) {
    if (equals_ignore_case(text, "yes"))
        return true;
    if (equals_ignore_case(text, "no"))
        return false;
    return Error(ErrorKind::config,
                 "bad boolean value \"" + std::string(text) + "\": use yes or no");
}

Result<int64_t> parse_integer(std::string_view text) {
    int64_t value = 0;
    std::string_view digits = text;
    if (!digits.empty() && digits.front() == '+')
        digits.remove_prefix(1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size())
        return Error(ErrorKind::config, "bad numerical value \"" + std::string(text) + "\"");
    return value;
}

static int64_t seconds_per_unit(char unit) {
    switch (std::tolower(static_cast<unsigned char>(unit))) {
        case 's':
            return 1;
        case 'm':
            return 60;
        case 'h':
            return 3600;
        case 'd':
            return 86400;
        case 'w':
            return 7 * 86400;
        default:
            return 0;
    }
}

Result<int64_t> parse_time(std::string_view text, char default_unit) {
    std::string_view number = text;
    char unit = default_unit;
    if (!number.empty() && std::isalpha(static_cast<unsigned char>(number.back()))) {
        unit = number.back();
        number.remove_suffix(1);
    }
    int64_t multiplier = seconds_per_unit(unit);
    auto count = parse_integer(number);
    if (!count || multiplier == 0 || *count < 0)
        return Error(ErrorKind::config, "bad time value \"" + std::string(text) +
                                            "\": use a number with unit s, m, h, d or w");
    if (*count > std::numeric_limits<int64_t>::max() / multiplier)
        return Error(ErrorKind::config, "time value \"" + std::string(text) + "\" is too large");
    return *count * multiplier;
}

}  // namespace postern
