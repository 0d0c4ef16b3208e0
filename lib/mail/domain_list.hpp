// Domain lists: the value of mydestination, relay_domains, virtual_alias_domains and
// virtual_mailbox_domains, matched against a domain as Postfix's string_list and
// domain_list (match_list.c) match it.
//
// Where it sits: lib/mail, used by the resolver (resolve.hpp: the address classes) and, for
// reject_unauth_destination and permit_mx_backup, by smtpd through the resolver. Patterns
// come from main.cf (the administrator's); the domain matched comes from the network.
//
// A list is split on commas and white space. Its patterns, tried in order, first match
// wins:
//   name          the domain itself (case-insensitive);
//   .name         (domain lists whose parameter is not in parent_domain_matches_subdomains)
//                 any subdomain of name; when the parameter is listed there, "name" matches
//                 its subdomains instead (and ".name" only the text ".name", as Postfix);
//   !pattern      a match of pattern ends the search with "no match";
//   /file/name    the words of the file, read once when the list is opened ('#' starts a
//                 comment line), as if written in place of the file name;
//   type:table    the domain is a key of the table (the value is ignored); in a domain list
//                 its parents are looked up too ("example.com" or ".example.com", per the
//                 parent style), fixed-key tables only.
// A table that fails a lookup makes the match an Error (ErrorKind::temporary), logged as
// Postfix does ("warning: relay_domains: hash:/x: table lookup problem"): the caller
// defers, it never treats the domain as "not listed".
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "maps/map_list.hpp"
#include "util/result.hpp"

namespace postern {

enum class DomainMatch {
    exact,       // Postfix's string_list: mydestination, virtual_*_domains
    subdomains,  // domain_list, and the parameter is in parent_domain_matches_subdomains
    dot_prefix,  // domain_list, and it is not: only ".name" matches subdomains
};

class DomainList {
  public:
    // `title` is the parameter ("relay_domains"), `value` its expanded value. Tables open
    // with `options` (daemons: surrogate_on_open_error). A /file that cannot be read is an
    // error here (Postfix: fatal).
    static Result<DomainList> open(std::string title, std::string_view value, DomainMatch style,
                                   const MapListOptions& options = {});
    DomainList() = default;

    // Whether `domain` is listed.
    Result<bool> matches(std::string_view domain);

    // No patterns at all (Postfix then has no list and never asks it).
    bool empty() const { return patterns_.empty(); }
    const std::string& title() const { return title_; }
    // The spec of the first table whose file changed since it was opened.
    std::optional<std::string> changed_table() const;

  private:
    struct Pattern {
        std::string text;                // lower case; empty for a table
        std::unique_ptr<MapList> table;  // type:table patterns
        bool negated = false;
    };

    Result<bool> pattern_matches(Pattern& pattern, const std::string& domain);
    Result<bool> table_matches(Pattern& pattern, const std::string& domain);
    bool name_matches(const std::string& pattern, const std::string& domain) const;

    std::string title_;
    DomainMatch style_ = DomainMatch::exact;
    bool utf8_ = false;  // fold with Unicode rules (smtputf8_enable)
    std::vector<Pattern> patterns_;
};

// The parent style of a domain list parameter: subdomains when `parameter` is listed in
// parent_domain_matches_subdomains, else dot_prefix.
DomainMatch domain_list_style(std::string_view parameter,
                              std::string_view parent_domain_matches_subdomains);

}  // namespace postern
