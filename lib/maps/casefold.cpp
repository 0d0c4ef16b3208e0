// Case folding of lookup keys; see casefold.hpp.
#include "maps/casefold.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>

namespace postern {

namespace {

struct Folding {
    char32_t from;
    char32_t to[3];  // unused places are 0
};

constexpr Folding kFoldings[] = {
#include "maps/casefold_data.inc"
};

// The code point starting at text[pos] and its length in bytes; length 0 when the bytes
// there are not a well-formed sequence.
struct Decoded {
    char32_t code_point = 0;
    size_t length = 0;
};

Decoded decode(std::string_view text, size_t pos) {
    auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
    unsigned char lead = byte(pos);
    if (lead < 0x80)
        return {lead, 1};
    size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
    if (length == 0 || lead > 0xF4 || pos + length > text.size())
        return {};
    char32_t code_point = lead & (0x7F >> length);
    for (size_t i = 1; i < length; ++i) {
        if ((byte(pos + i) & 0xC0) != 0x80)
            return {};
        code_point = (code_point << 6) | (byte(pos + i) & 0x3F);
    }
    static constexpr char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code_point < kSmallest[length] || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF))
        return {};
    return {code_point, length};
}

void encode(char32_t code_point, std::string& out) {
    if (code_point < 0x80) {
        out += static_cast<char>(code_point);
    } else if (code_point < 0x800) {
        out += static_cast<char>(0xC0 | (code_point >> 6));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    } else if (code_point < 0x10000) {
        out += static_cast<char>(0xE0 | (code_point >> 12));
        out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (code_point >> 18));
        out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    }
}

const Folding* find_folding(char32_t code_point) {
    auto it = std::lower_bound(std::begin(kFoldings), std::end(kFoldings), code_point,
                               [](const Folding& f, char32_t c) { return f.from < c; });
    return it != std::end(kFoldings) && it->from == code_point ? &*it : nullptr;
}

char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
    for (size_t pos = 0; pos < text.size();) {
        Decoded decoded = decode(text, pos);
        if (decoded.length == 0)
            return false;
        pos += decoded.length;
    }
    return true;
}

std::string ascii_lowercase(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
    return out;
}

std::string casefold_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
        Decoded decoded = decode(text, pos);
        if (decoded.length == 0) {
            out += text[pos++];
            continue;
        }
        pos += decoded.length;
        if (decoded.code_point < 0x80) {
            out += ascii_lower(static_cast<char>(decoded.code_point));
            continue;
        }
        const Folding* folding = find_folding(decoded.code_point);
        if (folding == nullptr) {
            encode(decoded.code_point, out);
            continue;
        }
        for (char32_t folded : folding->to)
            if (folded != 0)
                encode(folded, out);
    }
    return out;
}

}  // namespace postern
