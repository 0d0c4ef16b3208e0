// Search orders: which keys a caller looks up, in which order, for an address, a domain
// or a network address. The tables only answer single keys (map.hpp); the orders that
// canonical(5), virtual(5), relocated(5), aliases and access(5) document live here, once.
//
// Where it sits: lib/maps, called by cleanup (canonical, virtual), local (aliases), smtpd
// (access maps, sender_login_maps), postscreen and smtp. Addresses, domains and client
// names come from the network: keys are built by plain string slicing, never parsed
// further, and an empty key is never looked up (MapList::find).
//
// Each key is sent to every table of the list before the next key is tried ("Each query
// pattern is sent to each specified lookup table before trying the next query pattern").
// Only the first key of an order is KeyForm::full; the others are partial and skip pattern
// tables (regexp, cidr), which are applied to the entire string only (access(5) "REGULAR
// EXPRESSION TABLES").
//
// Address extensions (recipient_delimiter): the local part splits at the first character
// that is in the delimiter set ("user+foo" -> "user", extension "+foo"; with "+-" either
// character). Never split, as Postfix's split_addr(): postmaster, MAILER-DAEMON and the
// double_bounce_sender name (any case); with '-' in the set and owner_request_special
// (default yes), "owner-..." and "...-request" local parts.
//
// Orders:
//   address (canonical, virtual, relocated, mail_addr_find()): for user+foo@domain
//     user+foo@domain (full), user@domain, then when the domain is local (myorigin,
//     mydestination, inet_interfaces, proxy_interfaces: the caller's predicate, asked only
//     when the search gets there) user+foo and user, then @domain. An address without a
//     domain: user+foo (full), user (aliases: local(8) looks up the local part this way).
//   access address (access(5) EMAIL ADDRESS PATTERNS): user+foo@domain (full),
//     user@domain, the domain and its parents (all partial), user+foo@, user@.
//   domain (access(5) HOST NAME PATTERNS): a.b.example then the parent domains, written
//     ".b.example", ".example" by default, or "b.example", "example" when the caller's
//     parameter (smtpd_access_maps...) is listed in parent_domain_matches_subdomains.
//   network address (access(5) HOST ADDRESS PATTERNS): 1.2.3.4 (full), 1.2.3, 1.2, 1;
//     IPv6 2001:db8::1 (full), 2001:db8:, 2001:db8, 2001: the string is cut at its last
//     ':' each time, so "2001:db8:" is a key, exactly as Postfix truncates it.
//
// Extension propagation: when the key that matched is one with the extension removed, the
// match carries the extension ("+foo", delimiter included) so that the caller can put it
// back into the result when propagate_unmatched_extensions lists its table class
// ("joe@example.com => joe.user@example.net" turns joe+foo@example.com into
// joe.user+foo@example.net). A match on user+foo@domain, user+foo or @domain carries none.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "maps/map_list.hpp"

namespace postern {

// How a local part splits into user and extension (recipient_delimiter and friends).
struct ExtensionRules {
    std::string delimiters;             // recipient_delimiter; empty: never split
    bool owner_request_special = true;  // owner_request_special
    std::string double_bounce_sender = "double-bounce";
};

struct SplitLocalpart {
    std::string_view user;
    std::string_view extension;  // starts with the delimiter; empty: nothing to split
};

// Splits a local part per the rules; extension is empty when it does not split.
SplitLocalpart split_extension(std::string_view localpart, const ExtensionRules& rules);

// One key of a search order.
struct SearchKey {
    std::string key;
    KeyForm form = KeyForm::partial;
    std::string extension;            // the extension this key lacks ("" when none)
    bool needs_local_domain = false;  // only looked up when the domain is local
};

// The answer of a search: the value, the key that found it, and the extension to
// propagate (see above).
struct SearchMatch {
    std::string value;
    std::string key;
    std::string extension;
};

struct AddressSearchOptions {
    ExtensionRules extension;
    bool localpart_keys = true;  // user+foo and user when the domain is local
    bool at_domain_key = true;   // @domain
    // True when `domain` is one of ours; null: none is. An error stops the search.
    std::function<Result<bool>(std::string_view domain)> is_local_domain;
};

// Where parent domains of a name are looked up, per parent_domain_matches_subdomains.
enum class ParentStyle {
    dot_prefix,  // ".example.com" (the parameter is not listed)
    bare,        // "example.com" (the parameter is listed)
};

// parent_domain_matches_subdomains lists `parameter` (e.g. "smtpd_access_maps")?
ParentStyle parent_style_for(std::string_view parameter,
                             std::string_view parent_domain_matches_subdomains);

// The key lists, exposed so tests and callers with their own loop see the orders.
std::vector<SearchKey> address_search_keys(std::string_view address,
                                           const AddressSearchOptions& options);
std::vector<SearchKey> access_address_keys(std::string_view address, const ExtensionRules& rules,
                                           ParentStyle style);
std::vector<SearchKey> domain_search_keys(std::string_view domain, ParentStyle style,
                                          KeyForm first = KeyForm::full);
std::vector<SearchKey> network_address_keys(std::string_view address);

// Asks `maps` each key in order; the first answer wins, the first error stops the search.
// Keys marked needs_local_domain are asked only when is_local_domain(domain) says yes
// (asked once, when the first such key is reached); null is_local_domain skips them.
Result<std::optional<SearchMatch>> find_keys(
    MapList& maps, const std::vector<SearchKey>& keys, std::string_view domain = {},
    const std::function<Result<bool>(std::string_view domain)>& is_local_domain = {});

// The orders above, applied.
Result<std::optional<SearchMatch>> find_address(MapList& maps, std::string_view address,
                                                const AddressSearchOptions& options);
Result<std::optional<SearchMatch>> find_access_address(MapList& maps, std::string_view address,
                                                       const ExtensionRules& rules,
                                                       ParentStyle style);
Result<std::optional<SearchMatch>> find_domain(MapList& maps, std::string_view domain,
                                               ParentStyle style, KeyForm first = KeyForm::full);
Result<std::optional<SearchMatch>> find_network_address(MapList& maps, std::string_view address);

}  // namespace postern
