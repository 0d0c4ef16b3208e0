// The words of one SMTP command line, and the <path> and ESMTP parameters of MAIL FROM and
// RCPT TO, cut apart the way Postfix's smtpd reads them.
//
// Where it sits: smtpd/, below the session (smtpd_session.hpp). Every byte comes from the
// network: parsing never fails loudly, it answers "malformed" and the session replies 501.
// RFCs: 5321 section 4.1 (command syntax), 1869/1870 (parameters, SIZE), 3461 (DSN
// parameters), 6531 (SMTPUTF8).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::smtpd {

struct CommandLine {
    std::string verb;       // upper case ("MAIL"); empty for an empty line
    std::string_view rest;  // after the verb and the white space that follows it
};

CommandLine split_command(std::string_view line);

struct EsmtpParameter {
    std::string keyword;  // upper case ("SIZE")
    std::string value;    // as sent; empty when there was no '='
    bool has_value = false;
    std::string text;  // "KEYWORD=value" as sent, for "Unsupported option: ..."
};

struct PathArgument {
    bool syntax_ok = false;   // "FROM:" / "TO:" was there, with something after it
    bool address_ok = false;  // the address itself is well formed
    // The address as sent, without the brackets and any source route ("<@a,@b:u@d>"
    // is "u@d"); quoted local parts stay quoted (the external form).
    std::string address;
    std::vector<EsmtpParameter> parameters;
};

// `rest` is what follows MAIL or RCPT; `keyword` is "FROM:" or "TO:" (case-insensitive,
// white space allowed before the path, as Postfix allows).
PathArgument parse_path_argument(std::string_view rest, std::string_view keyword);

// RFC 3461 xtext (ENVID, ORCPT): printable ASCII without '+' and '=' except as "+HH".
bool valid_xtext(std::string_view text);
std::string decode_xtext(std::string_view text);

// The domain of an address ("" when there is no '@').
std::string_view address_domain(std::string_view address);

}  // namespace postern::smtpd
