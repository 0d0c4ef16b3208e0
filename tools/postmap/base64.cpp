#include "tools/postmap/base64.hpp"

#include <cstdint>

namespace postern::table_tool {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int digit_value(char c) {
    size_t position = kAlphabet.find(c);
    return position == std::string_view::npos ? -1 : static_cast<int>(position);
}

}  // namespace

std::string base64_encode(std::string_view data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    for (size_t i = 0; i < data.size(); i += 3) {
        uint32_t group = static_cast<uint32_t>(static_cast<unsigned char>(data[i])) << 16;
        if (i + 1 < data.size())
            group |= static_cast<uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8;
        if (i + 2 < data.size())
            group |= static_cast<unsigned char>(data[i + 2]);
        out += kAlphabet[(group >> 18) & 63];
        out += kAlphabet[(group >> 12) & 63];
        out += i + 1 < data.size() ? kAlphabet[(group >> 6) & 63] : '=';
        out += i + 2 < data.size() ? kAlphabet[group & 63] : '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0)
        return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (size_t i = 0; i < text.size(); i += 4) {
        bool last = i + 4 == text.size();
        size_t padding = 0;
        uint32_t group = 0;
        for (size_t j = 0; j < 4; ++j) {
            char c = text[i + j];
            int value = digit_value(c);
            // Padding only at the end of the last group, never in its first two places.
            if (c == '=' && last && j >= 2) {
                ++padding;
                value = 0;
            } else if (value < 0 || padding > 0) {
                return std::nullopt;
            }
            group = (group << 6) | static_cast<uint32_t>(value);
        }
        out += static_cast<char>((group >> 16) & 0xff);
        if (padding < 2)
            out += static_cast<char>((group >> 8) & 0xff);
        if (padding < 1)
            out += static_cast<char>(group & 0xff);
    }
    return out;
}

}  // namespace postern::table_tool
