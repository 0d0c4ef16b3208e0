// Text for notices; see notice_text.hpp.
#include "bounce/notice_text.hpp"

#include "maps/casefold.hpp"
#include "util/log.hpp"

namespace postern {

namespace {

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim_blanks_right(std::string_view text) {
    while (!text.empty() && is_blank(text.back()))
        text.remove_suffix(1);
    return text;
}

std::string_view skip_blanks(std::string_view text) {
    while (!text.empty() && is_blank(text.front()))
        text.remove_prefix(1);
    return text;
}

void add_bounded(std::vector<std::string>& out, std::string_view line) {
    for (std::string& piece : bounded_lines(line))
        out.push_back(std::move(piece));
}

}  // namespace

std::string sanitized(std::string_view text, bool allow_utf8) {
    std::string out;
    out.reserve(text.size());
    append_sanitized(out, text, allow_utf8);
    return out;
}

std::vector<std::string> wrap_text(std::string_view text, size_t columns, size_t indent) {
    std::vector<std::string> lines;
    std::string prefix;
    size_t width = columns;
    std::string_view rest = text;
    // Each round takes words while they fit; the line ends before the word that would
    // make it longer than `width` (a first word always stays, however long).
    while (true) {
        size_t end = 0;
        size_t taken = 0;
        while (end < rest.size()) {
            size_t word_end = end;
            while (word_end < rest.size() && is_blank(rest[word_end]))
                ++word_end;
            while (word_end < rest.size() && !is_blank(rest[word_end]))
                ++word_end;
            if (taken > 0 && word_end > width)
                break;
            end = word_end;
            ++taken;
        }
        add_bounded(lines, prefix + std::string(trim_blanks_right(rest.substr(0, end))));
        rest = skip_blanks(rest.substr(end));
        if (rest.empty())
            break;
        if (prefix.empty()) {
            prefix.assign(indent, ' ');
            width = columns > indent ? columns - indent : 1;
        }
    }
    return lines;
}

std::vector<std::string> bounded_lines(std::string_view line) {
    if (line.size() <= kMaxNoticeLineLength)
        return {std::string(line)};
    std::vector<std::string> pieces;
    pieces.emplace_back(line.substr(0, kMaxNoticeLineLength));
    line.remove_prefix(kMaxNoticeLineLength);
    const size_t room = kMaxNoticeLineLength - kWrapIndent;
    while (!line.empty()) {
        size_t take = std::min(room, line.size());
        pieces.push_back(std::string(kWrapIndent, ' ') + std::string(line.substr(0, take)));
        line.remove_prefix(take);
    }
    return pieces;
}

std::string mail_name_atom(std::string_view mail_name) {
    std::string atom(mail_name);
    for (char& c : atom)
        if (std::string_view(" \t\r\n()<>@,;:\\\".[]").find(c) != std::string_view::npos)
            c = '-';
    return atom;
}

bool is_utf8_not_ascii(std::string_view text) {
    bool ascii = true;
    for (char c : text)
        ascii = ascii && static_cast<unsigned char>(c) < 0x80;
    return !text.empty() && !ascii && is_valid_utf8(text);
}

}  // namespace postern
