// The right-hand side of an alias, a line of a .forward or :include: file: a list of
// destinations, each an address, "|command", "/file" (or "~/file"), or ":include:/path".
//
// Where it sits: local/, between the tables and files that hold such lists and the
// delivery code. The text is the administrator's (aliases) or a user's (.forward,
// :include: files): any bytes. It is read as RFC 822 address list, with lib/mail's
// tokenizer (the one cleanup uses for headers, Postfix's tok822), so that quoting works
// as aliases(5) documents: "|cmd arg, more" is one command, an unquoted comma separates
// destinations, and each destination is taken in internal form (quotes removed) before
// its first characters decide what it is.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace postern::local {

enum class DestinationKind { address, command, file, include };

struct Destination {
    DestinationKind kind = DestinationKind::address;
    // address: internal form; command: the text after '|'; file: the path as written
    // ("~/x" included); include: the path after ":include:".
    std::string text;
    bool operator==(const Destination&) const = default;
};

// Every destination in `list`, in order; empty ones are left out.
std::vector<Destination> parse_destinations(std::string_view list);

// The lines of a .forward or :include: file that hold destinations: comment lines ('#'
// first) and blank lines are skipped; a line longer than `line_limit` is read in pieces of
// that size, as Postfix breaks up long records.
std::vector<std::string> destination_lines(std::string_view text, size_t line_limit);

}  // namespace postern::local
