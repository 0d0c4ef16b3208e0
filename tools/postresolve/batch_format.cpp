// postresolve's batch format (see batch_format.hpp).
#include "tools/postresolve/batch_format.hpp"

namespace postern {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// Unescapes the escape at `line[at]` (a backslash) into `out`; the position after it, or
// nullopt when it is malformed.
std::optional<size_t> unescape(std::string_view line, size_t at, std::string& out) {
    if (at + 1 >= line.size())
        return std::nullopt;
    switch (line[at + 1]) {
        case '\\':
            out += '\\';
            return at + 2;
        case 't':
            out += '\t';
            return at + 2;
        case 'n':
            out += '\n';
            return at + 2;
        case 'r':
            out += '\r';
            return at + 2;
        case 'x': {
            if (at + 3 >= line.size())
                return std::nullopt;
            int high = hex_value(line[at + 2]);
            int low = hex_value(line[at + 3]);
            if (high < 0 || low < 0)
                return std::nullopt;
            out += static_cast<char>(high * 16 + low);
            return at + 4;
        }
        default:
            return std::nullopt;
    }
}

}  // namespace

std::string escape_batch_field(std::string_view field) {
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    for (char c : field) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (byte < 0x20 || byte >= 0x7f) {
            out += "\\x";
            out += kHex[byte >> 4];
            out += kHex[byte & 15];
        } else {
            out += c;
        }
    }
    return out;
}

std::optional<std::vector<std::string>> split_batch_line(std::string_view line) {
    std::vector<std::string> fields(1);
    size_t at = 0;
    while (at < line.size()) {
        char c = line[at];
        if (c == '\t') {
            fields.emplace_back();
            ++at;
        } else if (c == '\\') {
            std::optional<size_t> next = unescape(line, at, fields.back());
            if (!next)
                return std::nullopt;
            at = *next;
        } else {
            fields.back() += c;
            ++at;
        }
    }
    return fields;
}

}  // namespace postern
