#include "smtpd/smtp_command.hpp"

#include <cctype>

#include "util/strings.hpp"

namespace postern::smtpd {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t';
}

std::string_view skip_space(std::string_view text) {
    size_t start = 0;
    while (start < text.size() && is_space(text[start]))
        ++start;
    return text.substr(start);
}

std::string uppercase(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

// The end of a bracketed path starting at text[0] == '<': the index of its '>', quotes and
// backslash escapes honoured; npos when it is not closed.
size_t closing_bracket(std::string_view text) {
    bool quoted = false;
    for (size_t i = 1; i < text.size(); ++i) {
        char c = text[i];
        if (c == '\\' && i + 1 < text.size())
            ++i;
        else if (c == '"')
            quoted = !quoted;
        else if (c == '>' && !quoted)
            return i;
    }
    return std::string_view::npos;
}

// Unquoted white space, control characters, unbalanced quotes or stray brackets make an
// address unusable (Postfix: "Bad sender address syntax").
bool address_is_well_formed(std::string_view address) {
    bool quoted = false;
    for (size_t i = 0; i < address.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(address[i]);
        if (c < 0x20 || c == 0x7f)
            return false;
        if (c == '\\') {
            if (++i >= address.size())
                return false;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (!quoted && (is_space(static_cast<char>(c)) || c == '<' || c == '>')) {
            return false;
        }
    }
    return !quoted;
}

// "@a,@b:user@d" is "user@d" (RFC 5321 section 4.1.2: source routes are ignored).
std::string_view strip_source_route(std::string_view path) {
    if (path.empty() || path[0] != '@')
        return path;
    size_t colon = path.find(':');
    return colon == std::string_view::npos ? path : path.substr(colon + 1);
}

std::vector<EsmtpParameter> parse_parameters(std::string_view text) {
    std::vector<EsmtpParameter> parameters;
    for (std::string_view word : split_list(text, " \t")) {
        EsmtpParameter parameter;
        parameter.text = std::string(word);
        size_t equals = word.find('=');
        parameter.keyword = uppercase(word.substr(0, equals));
        if (equals != std::string_view::npos) {
            parameter.has_value = true;
            parameter.value = std::string(word.substr(equals + 1));
        }
        parameters.push_back(std::move(parameter));
    }
    return parameters;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    return (std::tolower(static_cast<unsigned char>(c)) - 'a' + 10) & 0xf;
}

}  // namespace

CommandLine split_command(std::string_view line) {
    line = skip_space(line);
    size_t end = 0;
    while (end < line.size() && !is_space(line[end]))
        ++end;
    return {uppercase(line.substr(0, end)), skip_space(line.substr(end))};
}

PathArgument parse_path_argument(std::string_view rest, std::string_view keyword) {
    PathArgument argument;
    if (rest.size() < keyword.size() ||
        !equals_ignore_case(rest.substr(0, keyword.size()), keyword))
        return argument;
    std::string_view path = skip_space(rest.substr(keyword.size()));
    if (path.empty())
        return argument;
    argument.syntax_ok = true;
    std::string_view address;
    std::string_view after;
    if (path[0] == '<') {
        size_t close = closing_bracket(path);
        if (close == std::string_view::npos)
            return argument;
        address = path.substr(1, close - 1);
        after = path.substr(close + 1);
        // "<a@b>SIZE=1" has no space between path and parameter: not a path.
        if (!after.empty() && !is_space(after[0]))
            return argument;
    } else {
        size_t end = 0;
        while (end < path.size() && !is_space(path[end]))
            ++end;
        address = path.substr(0, end);
        after = path.substr(end);
    }
    address = strip_source_route(address);
    if (!address_is_well_formed(address))
        return argument;
    argument.address_ok = true;
    argument.address = std::string(address);
    argument.parameters = parse_parameters(after);
    return argument;
}

bool valid_xtext(std::string_view text) {
    if (text.empty())
        return false;
    for (size_t i = 0; i < text.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '+') {
            if (i + 2 >= text.size())
                return false;
            if (!std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
                !std::isxdigit(static_cast<unsigned char>(text[i + 2])))
                return false;
            i += 2;
        } else if (c < '!' || c > '~' || c == '=') {
            return false;
        }
    }
    return true;
}

std::string decode_xtext(std::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+' && i + 2 < text.size()) {
            out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
            i += 2;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

std::string_view address_domain(std::string_view address) {
    size_t at = address.rfind('@');
    return at == std::string_view::npos ? std::string_view{} : address.substr(at + 1);
}

}  // namespace postern::smtpd
