// What cidr: and regexp: share; see pattern_table.hpp. The inline syntax and its messages
// are Postfix 3.7's, checked against /usr/sbin/postmap.
#include "maps/pattern_table.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "util/file.hpp"
#include "util/strings.hpp"

namespace postern {

namespace {

// What separates the rules of an inline specification.
constexpr std::string_view kRuleSeparators = ", \t\r\n";

bool is_ascii_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

Result<PatternTableSource> read_table_file(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        int saved = errno;
        Error error = system_error("open " + path, saved);
        if (saved == ENOENT)
            return Error(ErrorKind::not_found, error.message());
        return error;
    }
    // The identity of exactly what is read, so that an edit during the read is noticed.
    auto identity = FileIdentity::of_fd(fd.get(), path);
    if (!identity)
        return identity.error();
    PatternTableSource source;
    source.identity = *identity;
    char buffer[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return system_error("read " + path, errno);
        }
        source.text.append(buffer, static_cast<size_t>(n));
    }
    return source;
}

// The position just after the '}' that closes the '{' at text[0], or npos.
size_t matching_brace_end(std::string_view text) {
    int depth = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '{') {
            ++depth;
        } else if (text[i] == '}' && --depth == 0) {
            return i + 1;
        }
    }
    return std::string_view::npos;
}

Error inline_error(std::string_view type, std::string_view what, std::string_view text) {
    return Error(ErrorKind::config, std::string(type) + " map: " + std::string(what) + " in \"" +
                                        std::string(text) + "\"");
}

// "{text}" -> "text" trimmed; `type` and `text` name a problem as Postfix does.
Result<std::string_view> brace_contents(std::string_view type, std::string_view text) {
    if (text.empty() || text.front() != '{')
        return inline_error(type, "no '{' at start of text", text);
    size_t end = matching_brace_end(text);
    if (end == std::string_view::npos)
        return inline_error(type, "missing '}'", text);
    if (end != text.size())
        return inline_error(type, "syntax error after '}'", text);
    return trim(text.substr(1, end - 2));
}

// The next element of a list separated by commas and white space, braces kept whole;
// empty at the end of the list.
std::string_view next_element(std::string_view& list) {
    size_t start = list.find_first_not_of(kRuleSeparators);
    if (start == std::string_view::npos) {
        list = {};
        return {};
    }
    int depth = 0;
    size_t i = start;
    for (; i < list.size(); ++i) {
        char c = list[i];
        if (c == '{')
            ++depth;
        else if (c == '}' && depth > 0)
            --depth;
        else if (depth == 0 && kRuleSeparators.find(c) != std::string_view::npos)
            break;
    }
    std::string_view element = list.substr(start, i - start);
    list.remove_prefix(i);
    return element;
}

}  // namespace

bool is_inline_table(std::string_view name) {
    return !name.empty() && name.front() == '{';
}

Result<std::string> inline_table_text(std::string_view type, std::string_view spec) {
    auto list = brace_contents(type, spec);
    if (!list)
        return list.error();
    std::string_view rest = *list;
    std::string text;
    for (std::string_view element = next_element(rest); !element.empty();
         element = next_element(rest)) {
        auto rule = brace_contents(type, element);
        if (!rule)
            return rule.error();
        text.append(*rule);
        text += '\n';
    }
    return text;
}

Result<PatternTableSource> load_pattern_table(std::string_view type, std::string_view name) {
    if (!is_inline_table(name))
        return read_table_file(std::string(name));
    auto text = inline_table_text(type, name);
    if (!text)
        return text.error();
    PatternTableSource source;
    source.text = std::move(*text);
    return source;
}

LeadingWord leading_word(std::string_view line) {
    size_t end = 0;
    while (end < line.size() && is_ascii_alnum(line[end]))
        ++end;
    return {line.substr(0, end), line.substr(end)};
}

}  // namespace postern
