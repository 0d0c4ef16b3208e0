// Addresses in message headers: the RFC 5322 tokenizer and parser that turns a header
// value (From, To, Cc, Resent-To, Reply-To...) into its addresses, the way Postfix's tok822
// module does, and the conversions between an address's external form (as written in a
// header or an SMTP command, quoted where needed) and its internal form (the local part
// unquoted, as the queue file stores envelope addresses).
//
// Where it sits: lib/mail, below cleanup (header address rewriting, recipient extraction,
// Bcc and To: handling), sendmail -t (recipients from headers) and everything that shows an
// address to a person. Input comes from the network or a local user: any bytes, in any
// shape (RFC 5322, RFC 822 route addresses, missing angle brackets, unbalanced quotes and
// parentheses, garbage). Parsing never fails and never crashes: a malformed value yields
// whatever addresses Postfix would find in it. Work and memory are bounded by the token
// limit (header_address_token_limit, 10240 by default) and by the size of the input.
// RFCs: 5322 section 3.4 (address specification), 822 section 6 (route addresses).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace postern {

// What a token is, as RFC 5322 lexes a header value (Postfix's TOK822_* kinds).
enum class AddressTokenKind : uint8_t {
    atom,            // a run of characters that are not white space or operators: john
    quoted_string,   // "John Doe": text holds the content without quotes and escapes
    comment,         // (text): text holds the comment as written, parentheses included
    domain_literal,  // [192.0.2.1]: text holds the whole literal, brackets included
    special,         // one operator character (<>@,;:.[]%!|): text holds that character
    group_start,     // the ':' that opens a named group ("friends: a, b;")
    address,         // a parsed address: its tokens are the children (see HeaderAddressList)
};

// One token of a parsed header value.
struct AddressToken {
    AddressTokenKind kind = AddressTokenKind::atom;
    std::string text;
    // For kind == address: the index range [first_child, first_child + child_count) in
    // HeaderAddressList::tokens() of the tokens that make up the address.
    size_t first_child = 0;
    size_t child_count = 0;
};

// One address found in a header value.
struct ParsedAddress {
    // The address with its local part unquoted: "john doe@example.com", "user@[1.2.3.4]",
    // "@relay:user@example.com" (a route), "" for "<>".
    std::string internal;
    // The same address as a header or SMTP command writes it: "\"john doe\"@example.com".
    std::string external;
};

inline constexpr size_t kDefaultAddressTokenLimit = 10240;  // header_address_token_limit

// A header value parsed into tokens and addresses, which can be rewritten one address at a
// time and written back (Postfix's tok822_parse, tok822_grep and tok822_externalize, as
// cleanup uses them to canonicalize header addresses).
class HeaderAddressList {
  public:
    // Parses `value` (the part of a header after "Name:"), keeping at most `token_limit`
    // tokens (the rest of the value is ignored, as Postfix ignores it).
    static HeaderAddressList parse(std::string_view value,
                                   size_t token_limit = kDefaultAddressTokenLimit);

    // Addresses in the order they appear.
    size_t size() const { return address_tokens_.size(); }
    bool empty() const { return address_tokens_.empty(); }
    std::string internal(size_t index) const;
    std::string external(size_t index) const;
    std::vector<ParsedAddress> addresses() const;

    // Replaces address `index` with `internal_address` (internal form; it is quoted and
    // tokenized again as Postfix's tok822_scan_addr does).
    void replace(size_t index, std::string_view internal_address);

    // The whole value written back as Postfix writes a rewritten header: tokens separated
    // as RFC 5322 needs, comments and phrases kept, each top-level comma followed by a
    // newline (continuation lines start with white space when the caller folds them: see
    // header.hpp). The caller prepends "Name: ".
    std::string externalize() const;

    // All tokens, top-level and address children (children are indexed by their address).
    const std::vector<AddressToken>& tokens() const { return tokens_; }
    // Indexes in tokens() of the top-level tokens, in order.
    const std::vector<size_t>& top_level() const { return top_level_; }
    // True when the token limit cut the value short.
    bool truncated() const { return truncated_; }

  private:
    std::vector<AddressToken> tokens_;
    std::vector<size_t> top_level_;
    std::vector<size_t> address_tokens_;  // index in tokens_ of each address token
    bool truncated_ = false;
};

// All addresses of a header value, in internal and external form (what sendmail -t and
// cleanup's recipient extraction need).
std::vector<ParsedAddress> parse_address_list(std::string_view value,
                                              size_t token_limit = kDefaultAddressTokenLimit);

// One address as an SMTP command or the command line gives it (Postfix's tok822_scan_addr
// on a single address): "<john@example.com>", "john@example.com", "\"a b\"@x". Returns the
// first address found, or an empty one when there is none.
ParsedAddress parse_single_address(std::string_view text,
                                   size_t token_limit = kDefaultAddressTokenLimit);

// The internal form of an external address: quotes and backslash escapes removed from the
// local part (everything before the last '@' outside quotes); a route prefix ("@a,@b:") and
// the domain are left as they are (Postfix's unquote_822_local).
std::string internalize_address(std::string_view external_address);

// The external form of an internal address: the local part quoted when it is not a
// dot-atom (Postfix's quote_822_local; see quote_address.hpp, which this calls).
std::string externalize_address(std::string_view internal_address);

}  // namespace postern
