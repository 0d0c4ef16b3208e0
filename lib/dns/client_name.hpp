// The SMTP client's host name as smtpd (and the policy and milter interfaces) report it:
// the PTR name of the client address, kept only when that name's A/AAAA records list the
// address again (forward confirmation); "unknown" otherwise.
//
// Where it sits: lib/dns, called by smtpd once per connection (before the 220 greeting:
// the name appears in "connect from name[addr]"). Postfix does this with getnameinfo and
// getaddrinfo; Postern asks its own resolver (DESIGN.md: all DNS through lib/dns), with
// the same outcome:
//   name / name_status          the verified name, or "unknown" with 4 (a lookup failed
//                               temporarily) or 5 (no PTR, a numeric or malformed PTR
//                               name, no address record, or the address not listed)
//   reverse_name / reverse_name_status
//                               the PTR name unverified, or "unknown" with 4 or 5
// and the warnings Postfix logs ("warning: hostname X does not resolve to address Y",
// "...: Name or service not known", "warning: numeric hostname: X").
// These feed reject_unknown_client_hostname (name_status), and
// reject_unknown_reverse_client_hostname (reverse_name_status): 4 means defer
// (unknown_client_reject_code is not used), 5 means reject.
// The PTR and A/AAAA answers come from the network: names are checked with
// valid_hostname().
#pragma once

#include <optional>
#include <string>

#include "dns/dns.hpp"

namespace postern {

inline constexpr const char* kUnknownClientName = "unknown";

struct ClientName {
    std::string name = kUnknownClientName;
    int name_status = 5;  // 2 ok, 4 temporary failure, 5 permanent failure
    std::string reverse_name = kUnknownClientName;
    int reverse_name_status = 5;
};

// `families` (inet_protocols) limits the forward lookup, as Postfix's getaddrinfo does.
// An IPv4-mapped IPv6 address should be turned into IPv4 by the caller first.
ClientName lookup_client_name(DnsResolver& resolver, const HostAddress& client,
                              AddressFamilies families,
                              std::optional<DnsResolver::Clock::time_point> deadline = {});

}  // namespace postern
