// Quoting the local part of an address (RFC 5322 section 3.2.4 quoted-string).
#include "mail/quote_address.hpp"

namespace postern {
namespace {

constexpr std::string_view kSpecials = "()<>@,;:\\\".[]";

bool is_atom_character(char c) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80)
        return true;
    if (byte <= 0x20 || byte == 0x7f)
        return false;
    return kSpecials.find(c) == std::string_view::npos;
}

// A dot-atom: atoms separated by single dots, nothing empty.
bool is_dot_atom(std::string_view text) {
    if (text.empty() || text.front() == '.' || text.back() == '.')
        return false;
    char previous = 0;
    for (char c : text) {
        if (c == '.' ? previous == '.' : !is_atom_character(c))
            return false;
        previous = c;
    }
    return true;
}

}  // namespace

std::string quote_address_local_part(std::string_view address) {
    size_t at = address.rfind('@');
    std::string_view local = at == std::string_view::npos ? address : address.substr(0, at);
    std::string_view rest = at == std::string_view::npos ? std::string_view() : address.substr(at);
    if (is_dot_atom(local))
        return std::string(address);
    std::string quoted = "\"";
    for (char c : local) {
        if (c == '"' || c == '\\' || c == '\r')
            quoted.push_back('\\');
        quoted.push_back(c);
    }
    quoted.push_back('"');
    quoted.append(rest);
    return quoted;
}

}  // namespace postern
