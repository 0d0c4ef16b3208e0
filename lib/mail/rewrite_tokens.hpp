// The token list that address rewriting and resolution edit: one address cut into RFC 822
// tokens exactly as Postfix's tok822_scan_addr() cuts it, and joined back as
// tok822_internalize() joins it.
//
// Where it sits: lib/mail, private to rewrite.cpp and resolve.cpp. It differs from the
// header parser in address.hpp on purpose: a header value is grouped into addresses
// (comments move, commas are added), while the rewrite and resolve requests take the tokens
// of one address as they come, in order, and move whole runs of them ("site!user" becomes
// "user@site", a local domain is cut off and put back later). What Postfix answers for odd
// input ("a (comment) @ host", "<user@host>", "\"a@b\"@host") depends on these exact
// tokens, so this follows tok822's rules: white space (space, tab, CR, LF) separates tokens
// and is dropped; "(...)" is one comment token kept as written, nesting counted, escapes
// kept, no closing parenthesis added; "\"...\"" and "[...]" are one token each, escapes
// resolved and white space characters turned into spaces; each of |%!()<>@,;:.[]" is a
// token by itself; everything else, control characters and 8-bit bytes included, runs
// into atoms, a backslash protecting the byte after it. A NUL byte ends the address.
//
// Input is untrusted (any bytes); scanning and joining are linear in the address length.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "mail/address.hpp"

namespace postern {

struct RewriteToken {
    AddressTokenKind kind = AddressTokenKind::atom;  // atom, quoted_string, comment,
                                                     // domain_literal or special
    std::string text;  // special: the operator character; domain_literal: without brackets
    // Inserted by an edit into a list that had no token next to it (Postfix's tokens with an
    // owner): no space is ever written after it. Scanned tokens, and tokens put next to
    // them, are not.
    bool owned = false;

    bool is(char op) const {
        return kind == AddressTokenKind::special && text.size() == 1 && text[0] == op;
    }
    bool is_special() const { return kind == AddressTokenKind::special; }
    // Atoms, quoted strings, comments and literals: two in a row are joined with a space.
    bool is_word() const { return kind != AddressTokenKind::special; }
};

using RewriteTokens = std::vector<RewriteToken>;

inline constexpr size_t kNoToken = static_cast<size_t>(-1);

// Cuts an external-form address into tokens (Postfix's tok822_scan).
RewriteTokens scan_rewrite_tokens(std::string_view external_address);

// Tokens [begin, end) joined without quoting (Postfix's tok822_internalize): a space
// between two words, after a comma and before '<', unless the first is owned; quoted strings give
// their text, literals "[text]", comments and atoms their text, operators themselves.
std::string join_rewrite_tokens(const RewriteTokens& tokens, size_t begin, size_t end);
inline std::string join_rewrite_tokens(const RewriteTokens& tokens) {
    return join_rewrite_tokens(tokens, 0, tokens.size());
}

// Appends `more` after `tokens` (Postfix's tok822_sub_append): the new tokens take the
// ownership of the last token, or are owned when `tokens` was empty.
void append_tokens(RewriteTokens& tokens, RewriteTokens more);
// Inserts `more` before `tokens` (tok822_sub_prepend): they take the ownership of the first
// token, or are owned when `tokens` was empty.
void prepend_tokens(RewriteTokens& tokens, RewriteTokens more);

// The index of the first token at or after `from` that is operator `op`, or kNoToken.
size_t find_first_token(const RewriteTokens& tokens, char op, size_t from = 0);
// The index of the last token that is operator `op`, or kNoToken.
size_t find_last_token(const RewriteTokens& tokens, char op);
// True when a token at or after `from` has this kind.
bool has_token_kind(const RewriteTokens& tokens, AddressTokenKind kind, size_t from);

}  // namespace postern
