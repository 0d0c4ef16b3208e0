// postmap's input format; see table_source.hpp for the rules and where they come from.
#include "maps/table_source.hpp"

#include "maps/casefold.hpp"
#include "util/strings.hpp"

namespace postern {

namespace {

// Postfix quotes at most this many characters of a line that starts with white space.
constexpr size_t kQuotedLineChars = 30;
// Where postmap ends a key: ASCII space, tab, CR, LF (not form feed or vertical tab).
constexpr std::string_view kKeyEnd = " \t\r\n";

bool is_space(char c) {
    return kWhiteSpace.find(c) != std::string_view::npos;
}

// A line of white space only, or whose first non-blank character is '#'.
bool is_skipped(std::string_view line) {
    size_t first = line.find_first_not_of(kWhiteSpace);
    return first == std::string_view::npos || line[first] == '#';
}

std::string leading_space_warning(std::string_view origin, std::string_view text) {
    std::string shown(text.substr(0, kQuotedLineChars));
    if (text.size() > kQuotedLineChars)
        shown += "...";
    return std::string(origin) + ": logical line must not start with whitespace: \"" + shown + "\"";
}

std::string line_prefix(std::string_view origin, int line) {
    return std::string(origin) + ", line " + std::to_string(line) + ": ";
}

// Ends the logical line being built: drops it with a warning when it starts with white
// space, and hides what follows a NUL byte, as Postfix's C-string parsers would.
void finish_line(std::vector<SourceLine>& lines, std::string_view origin,
                 const TableWarning& warn) {
    if (lines.empty())
        return;
    std::string& text = lines.back().text;
    size_t nul = text.find('\0');
    if (nul != std::string::npos)
        text.resize(nul);
    if (!text.empty() && is_space(text.front())) {
        if (warn)
            warn(leading_space_warning(origin, text));
        lines.pop_back();
    }
}

// Where the key of `text` ends: at the first key-ending character outside double quotes,
// a backslash protecting the character after it. False when a quote is left open.
bool find_key_end(std::string_view text, size_t& end) {
    bool quoted = false;
    size_t at = 0;
    while (at < text.size()) {
        char c = text[at];
        if (!quoted && kKeyEnd.find(c) != std::string_view::npos)
            break;
        if (c == '\\' && at + 1 < text.size()) {
            at += 2;
            continue;
        }
        if (c == '"')
            quoted = !quoted;
        ++at;
    }
    end = at;
    return !quoted;
}

// One logical line in postmap's format; false (with a warning) when it has no entry.
bool split_entry(const SourceLine& source, std::string_view origin,
                 const TableSourceOptions& options, const TableWarning& warn,
                 TableSourceEntry& entry) {
    auto warning = [&](const std::string& text) {
        if (warn)
            warn(line_prefix(origin, source.line) + text);
    };
    std::string_view text = source.text;
    if (options.check_utf8 && !is_valid_utf8(text)) {
        warning("non-UTF-8 input \"" + source.text + "\" -- ignoring this line");
        return false;
    }
    size_t key_end = 0;
    if (!find_key_end(text, key_end)) {
        warning("unbalanced '\"' in '" + source.text + "' -- ignoring this line");
        return false;
    }
    std::string_view key = text.substr(0, key_end);
    std::string_view value = trim(text.substr(key_end));
    if (key.empty() || value.empty()) {
        warning(options.postmap_wording
                    ? "expected format: key whitespace value"
                    : "expected format: key whitespace value -- ignoring this line");
        return false;
    }
    if (key.back() == ':')
        warning("record is in \"key: value\" format; is this an alias file?");
    entry.key.assign(key);
    entry.value.assign(value);
    entry.line = source.line;
    return true;
}

}  // namespace

std::vector<SourceLine> table_logical_lines(std::string_view text, std::string_view origin,
                                            const TableWarning& warn) {
    std::vector<SourceLine> lines;
    int number = 0;
    while (!text.empty()) {
        size_t newline = text.find('\n');
        std::string_view line = text.substr(0, newline);
        text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
        ++number;
        if (is_skipped(line))
            continue;
        if (is_space(line.front()) && !lines.empty()) {
            lines.back().text.append(line);
            continue;
        }
        finish_line(lines, origin, warn);
        lines.push_back({number, std::string(line)});
    }
    finish_line(lines, origin, warn);
    return lines;
}

Status parse_table_source(std::string_view text, std::string_view origin,
                          const TableSourceOptions& options, const TableSourceVisit& visit,
                          const TableWarning& warn) {
    TableSourceEntry entry;
    for (const SourceLine& line : table_logical_lines(text, origin, warn)) {
        if (!split_entry(line, origin, options, warn, entry))
            continue;
        if (Status status = visit(entry); !status.ok())
            return status;
    }
    return {};
}

}  // namespace postern
