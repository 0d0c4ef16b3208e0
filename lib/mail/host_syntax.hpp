// The syntax of host names and address literals, as Postfix checks them
// (valid_hostname.c, valid_mailhost_addr.c, valid_utf8_hostname.c).
//
// Where it sits: lib/mail, used by the resolver (a recipient domain that fails these checks
// resolves with the error flag: "bad address syntax") and, later, by smtpd's HELO and
// domain restrictions. Input is any bytes from the network; the checks are linear and never
// read past the view.
//
// Host names (RFC 1035 section 2.3.1, RFC 1123 section 2.1, with Postfix's leniency):
// labels of letters, digits, '_' and '-' (a hyphen neither first nor last in a label), at
// most 63 bytes each, separated by single dots, no dot at either end, at most 255 bytes in
// all, and not all digits and dots (that is an address, not a name).
// Address literals (RFC 5321 section 4.1.3): "[1.2.3.4]" or "[IPv6:2001:db8::1]".
#pragma once

#include <string_view>

namespace postern {

bool valid_hostname(std::string_view name);
// With smtputf8_enable, a name with non-ASCII bytes is accepted when it is well-formed
// UTF-8 and its labels pass the rules above with those characters counted as letters.
// (Postfix converts it to an A-label with ICU first; Postern has no IDNA library, see
// docs/address-resolution.md.) Without it, non-ASCII bytes make the name invalid.
bool valid_utf8_hostname(bool smtputf8_enable, std::string_view name);

// Dotted-quad IPv4 (four decimal numbers 0..255, leading zeros allowed, "0.x.y.z" only as
// 0.0.0.0) or IPv6 text (RFC 4291 section 2.2, an IPv4 tail allowed, no zone). With
// `gripe`, a rejected address is logged with Postfix's reason ("warning:
// valid_ipv4_hostaddr: invalid octet count: 1.2.3").
bool valid_ipv4_address(std::string_view address, bool gripe = false);
bool valid_ipv6_address(std::string_view address, bool gripe = false);
// IPv6 when it has a ':', else IPv4 (Postfix's valid_hostaddr).
bool valid_host_address(std::string_view address, bool gripe = false);

// The address inside an address literal's brackets: "IPv6:" (any case) stripped from an
// IPv6 form; empty when the text is not a valid address (Postfix's valid_mailhost_addr).
std::string_view mailhost_address(std::string_view inside_brackets, bool gripe = false);
// "[address]" with a valid address inside (Postfix's valid_mailhost_literal).
bool valid_mailhost_literal(std::string_view literal, bool gripe = false);

}  // namespace postern
