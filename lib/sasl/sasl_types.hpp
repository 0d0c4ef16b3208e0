// The SASL implementations Postern offers, by the name used in smtpd_sasl_type and
// smtp_sasl_type.
//
// Where it sits: lib/sasl, read by smtpd and smtp when they check their sasl_type
// setting, and by postconf -a/-A, which print these lists.
#pragma once

#include <string_view>
#include <vector>

namespace postern {

// smtpd's side (authenticating clients): Postern asks a Dovecot auth server.
const std::vector<std::string_view>& server_sasl_types();
// smtp's side (authenticating to a relay). Postern's own PLAIN/LOGIN client answers to
// "cyrus", the name Postfix gives its built-in client type, so existing main.cf files
// keep working.
const std::vector<std::string_view>& client_sasl_types();

}  // namespace postern
