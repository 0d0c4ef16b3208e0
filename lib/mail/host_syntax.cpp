// Host name and address literal syntax (see host_syntax.hpp).
#include "mail/host_syntax.hpp"

#include <strings.h>

#include <string>

#include "maps/casefold.hpp"
#include "util/log.hpp"

namespace postern {
namespace {

constexpr size_t kMaxLabelLength = 63;
constexpr size_t kMaxHostnameLength = 255;
constexpr size_t kMaxIpv6Colons = 7;
constexpr size_t kMaxIpv6FieldLength = 4;

bool is_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}
bool is_alnum(unsigned char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_hex(unsigned char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Postfix prints at most 100 bytes of the address it rejects.
std::string shown(std::string_view address) {
    return std::string(address.substr(0, 100));
}

// The label rules; `utf8_letters` counts bytes >= 0x80 as letters.
bool hostname_syntax(std::string_view name, bool utf8_letters) {
    if (name.empty() || name.size() > kMaxHostnameLength)
        return false;
    size_t label_length = 0;
    bool non_numeric = false;
    for (size_t i = 0; i < name.size(); ++i) {
        auto c = static_cast<unsigned char>(name[i]);
        bool last = i + 1 == name.size();
        if (is_alnum(c) || c == '_' || (utf8_letters && c >= 0x80)) {
            if (++label_length > kMaxLabelLength)
                return false;
            non_numeric = non_numeric || !is_digit(c);
        } else if (c == '.') {
            if (label_length == 0 || last)
                return false;
            label_length = 0;
        } else if (c == '-') {
            non_numeric = true;
            ++label_length;
            if (label_length == 1 || last || name[i + 1] == '.')
                return false;
        } else {
            return false;
        }
    }
    return non_numeric;
}

bool ipv6_field_ok(std::string_view address, size_t at, size_t& length, bool gripe) {
    length = 0;
    while (at + length < address.size() && is_hex(static_cast<unsigned char>(address[at + length])))
        ++length;
    if (length > kMaxIpv6FieldLength) {
        if (gripe)
            log_warning("valid_ipv6_hostaddr: malformed IPv6 address: %s", shown(address).c_str());
        return false;
    }
    if (length == 0) {
        if (gripe)
            log_warning("valid_ipv6_hostaddr: invalid character %d(decimal) in IPv6 address: %s",
                        static_cast<int>(static_cast<unsigned char>(address[at])),
                        shown(address).c_str());
        return false;
    }
    return true;
}

bool ipv6_end_ok(std::string_view address, size_t fields, size_t length, size_t null_field,
                 bool gripe) {
    if (fields < 2) {
        if (gripe)
            log_warning("valid_ipv6_hostaddr: too few `:' in IPv6 address: %s",
                        shown(address).c_str());
        return false;
    }
    if (length == 0 && null_field != fields - 1) {
        if (gripe)
            log_warning("valid_ipv6_hostaddr: bad null last field in IPv6 address: %s",
                        shown(address).c_str());
        return false;
    }
    return true;
}

}  // namespace

bool valid_hostname(std::string_view name) {
    return hostname_syntax(name, false);
}

bool valid_utf8_hostname(bool smtputf8_enable, std::string_view name) {
    bool ascii = true;
    for (char c : name)
        ascii = ascii && static_cast<unsigned char>(c) < 0x80;
    if (ascii || !smtputf8_enable)
        return hostname_syntax(name, false);
    return is_valid_utf8(name) && hostname_syntax(name, true);
}

bool valid_ipv4_address(std::string_view address, bool gripe) {
    int octets = 0;
    int value = 0;
    bool in_octet = false;
    for (size_t i = 0; i < address.size(); ++i) {
        auto c = static_cast<unsigned char>(address[i]);
        if (is_digit(c)) {
            if (!in_octet) {
                in_octet = true;
                value = 0;
                ++octets;
            }
            value = value * 10 + (c - '0');
            if (value > 255) {
                if (gripe)
                    log_warning("valid_ipv4_hostaddr: invalid octet value: %s",
                                shown(address).c_str());
                return false;
            }
        } else if (c == '.') {
            if (!in_octet || i + 1 == address.size()) {
                if (gripe)
                    log_warning("valid_ipv4_hostaddr: misplaced dot: %s", shown(address).c_str());
                return false;
            }
            // 0.0.0.0 is an address, 0.1.2.3 is not.
            if (octets == 1 && value == 0 &&
                address.find_first_not_of("0.") != std::string_view::npos) {
                if (gripe)
                    log_warning("valid_ipv4_hostaddr: bad initial octet value: %s",
                                shown(address).c_str());
                return false;
            }
            in_octet = false;
        } else {
            if (gripe)
                log_warning("valid_ipv4_hostaddr: invalid character %d(decimal): %s",
                            static_cast<int>(c), shown(address).c_str());
            return false;
        }
    }
    if (octets != 4) {
        if (gripe)
            log_warning("valid_ipv4_hostaddr: invalid octet count: %s", shown(address).c_str());
        return false;
    }
    return true;
}

bool valid_ipv6_address(std::string_view address, bool gripe) {
    size_t fields = 0;      // colons seen
    size_t null_field = 0;  // the field after "::", 0 when none
    size_t length = 0;      // of the current field
    size_t at = 0;
    for (;;) {
        if (at == address.size())
            return ipv6_end_ok(address, fields, length, null_field, gripe);
        char c = address[at];
        if (c == '.') {
            if (fields < 2 || fields > 6) {
                if (gripe)
                    log_warning("valid_ipv6_hostaddr: malformed IPv4-in-IPv6 address: %s",
                                shown(address).c_str());
                return false;
            }
            return valid_ipv4_address(address.substr(at - length), gripe);
        }
        if (c == ':') {
            if (fields == 0 && length == 0 && at + 1 < address.size() &&
                is_alnum(static_cast<unsigned char>(address[at + 1]))) {
                if (gripe)
                    log_warning("valid_ipv6_hostaddr: bad null first field in IPv6 address: %s",
                                shown(address).c_str());
                return false;
            }
            if (++fields > kMaxIpv6Colons) {
                if (gripe)
                    log_warning("valid_ipv6_hostaddr: too many `:' in IPv6 address: %s",
                                shown(address).c_str());
                return false;
            }
            ++at;
            length = 0;
            if (at < address.size() && address[at] == ':') {
                if (null_field > 0) {
                    if (gripe)
                        log_warning("valid_ipv6_hostaddr: too many `::' in IPv6 address: %s",
                                    shown(address).c_str());
                    return false;
                }
                null_field = fields;
            }
            continue;
        }
        if (!ipv6_field_ok(address, at, length, gripe))
            return false;
        at += length;
    }
}

bool valid_host_address(std::string_view address, bool gripe) {
    if (address.find(':') != std::string_view::npos)
        return valid_ipv6_address(address, gripe);
    return valid_ipv4_address(address, gripe);
}

std::string_view mailhost_address(std::string_view inside_brackets, bool gripe) {
    constexpr std::string_view kIpv6Prefix = "IPv6:";
    if (inside_brackets.size() >= kIpv6Prefix.size() &&
        ::strncasecmp(inside_brackets.data(), kIpv6Prefix.data(), kIpv6Prefix.size()) == 0) {
        std::string_view address = inside_brackets.substr(kIpv6Prefix.size());
        return valid_ipv6_address(address, gripe) ? address : std::string_view();
    }
    return valid_ipv4_address(inside_brackets, gripe) ? inside_brackets : std::string_view();
}

bool valid_mailhost_literal(std::string_view literal, bool gripe) {
    if (literal.size() < 2 || literal.front() != '[' || literal.back() != ']')
        return false;
    return !mailhost_address(literal.substr(1, literal.size() - 2), gripe).empty();
}

}  // namespace postern
