// cidr: tables, as Postfix 3.7's cidr_table(5): rules that match a client IP address
// against network blocks, first match wins.
//
// Where it sits: lib/maps, behind the Map interface. smtpd's and postscreen's access
// restrictions (check_client_access cidr:..., postscreen_access_list), mynetworks-style
// lists and postmap -q look up client addresses here on every connection, so lookups are
// a linear scan over small fixed-size rules with precomputed masks (about a nanosecond per
// rule: a thousand rules answer in about a microsecond), no allocation, no parsing beyond
// one inet_pton of the key.
//
// Untrusted input: the lookup key (a client address, from the network): anything that is
// not an IPv4 or IPv6 address in inet_pton(3)'s syntax simply matches nothing. The table
// text is the administrator's; every malformed rule is skipped with Postfix's warning,
// naming the file and line, and the table still opens.
//
// Syntax (checked against /usr/sbin/postmap 3.7.11):
//   pattern result         pattern: address, or address/prefix; the address may be written
//   !pattern result          in [brackets] ("[::1]/128", "[10.0.0.0]/8", "[1.2.3.0/24]");
//   if pattern ... endif     any number of '!' (white space allowed between) negate it;
//   if !pattern ... endif    if/endif nest, keywords in any case.
// An IPv4 key never matches an IPv6 rule or the reverse, negated or not. Octets with
// leading zeros are not addresses (inet_pton). Host bits set below the prefix are an error
// ("non-null host address bits in ..."), the rule is skipped. The result is the rest of the
// line, white space trimmed at both ends; no $ expansion.
#pragma once

#include <string_view>

#include "maps/map.hpp"
#include "maps/pattern_table.hpp"

namespace postern {

// Builds a cidr table from `text`, as Postfix would read it from the file `name` (messages
// say "cidr map NAME, line N: ..."). Never fails: bad rules become warnings.
PatternTableBuild build_cidr_map(std::string_view name, std::string_view text,
                                 MapFlag flags = MapFlag::none);

}  // namespace postern
