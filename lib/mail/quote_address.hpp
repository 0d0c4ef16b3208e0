// Quoting the local part of an address for display, as RFC 5322 writes it: an address
// whose local part is not a dot-atom ("a b@example.com", "x@y@example.com", ".a@example")
// is shown with the local part in double quotes ("\"a b\"@example.com"), as Postfix's
// quote_822_local() does for postqueue, log lines and headers.
//
// Where it sits: lib/mail, used by showq (the queue listing) and whoever shows an
// envelope address to a person. The input is an internal-form address (unquoted, as the
// queue file stores it), which came from the network: any bytes. Quoting never removes
// or reinterprets a byte; control characters stay in the result (inside the quotes) for
// the caller's sanitizer. Bytes of 8 bits are allowed in an atom (SMTPUTF8).
#pragma once

#include <string>
#include <string_view>

namespace postern {

// The address with its local part (everything before the last '@', or all of it when
// there is no '@') quoted when it needs to be: empty, RFC 5322 specials or white space or
// control characters, or a dot at the start, at the end or next to another. Inside the
// quotes '"', '\' and CR are escaped with '\'.
std::string quote_address_local_part(std::string_view address);

}  // namespace postern
