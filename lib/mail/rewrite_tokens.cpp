// Address tokens for rewriting and resolution (see rewrite_tokens.hpp).
#include "mail/rewrite_tokens.hpp"

namespace postern {
namespace {

// Characters that are tokens by themselves ('(', '[' and '"' open longer tokens).
constexpr std::string_view kOperators = "|%!()<>@,;:.[]\"";

bool is_separator(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_operator(char c) {
    return c != 0 && kOperators.find(c) != std::string_view::npos;
}

// Text up to (not including) `stop` or the end, escapes resolved, white space made a space.
// With `atom`, white space and operators also end the text. Returns where it stopped.
size_t collect(std::string_view input, size_t at, char stop, bool atom, std::string& text) {
    while (at < input.size()) {
        char c = input[at];
        if (c == '\\') {
            if (at + 1 >= input.size())
                return input.size();  // a trailing backslash escapes nothing
            c = input[++at];
        } else if (atom ? is_separator(c) || is_operator(c) : c == stop) {
            return at;
        }
        text.push_back(is_separator(c) ? ' ' : c);
        ++at;
    }
    return at;
}

// A comment, kept as written: "(" and the text up to the matching ")", if any.
size_t collect_comment(std::string_view input, size_t at, std::string& text) {
    text = "(";
    int level = 1;
    while (at < input.size()) {
        char c = input[at++];
        text.push_back(c);
        if (c == '(') {
            ++level;
        } else if (c == ')') {
            if (--level == 0)
                break;
        } else if (c == '\\' && at < input.size()) {
            text.push_back(input[at++]);
        }
    }
    return at;
}

// One token starting at `at` (not white space); returns the position after it.
size_t scan_token(std::string_view input, size_t at, RewriteToken& token) {
    char c = input[at];
    if (c == '(') {
        token.kind = AddressTokenKind::comment;
        return collect_comment(input, at + 1, token.text);
    }
    if (c == '"' || c == '[') {
        token.kind = c == '"' ? AddressTokenKind::quoted_string : AddressTokenKind::domain_literal;
        size_t end = collect(input, at + 1, c == '"' ? '"' : ']', false, token.text);
        return end < input.size() ? end + 1 : end;
    }
    if (is_operator(c)) {
        token.kind = AddressTokenKind::special;
        token.text.assign(1, c);
        return at + 1;
    }
    token.kind = AddressTokenKind::atom;
    return collect(input, at, 0, true, token.text);
}

bool space_after(const RewriteToken& token, const RewriteToken& next) {
    if (token.owned)
        return false;
    return token.is(',') || next.is('<') || (token.is_word() && next.is_word());
}

}  // namespace

RewriteTokens scan_rewrite_tokens(std::string_view external_address) {
    std::string_view input = external_address.substr(0, external_address.find('\0'));
    RewriteTokens tokens;
    size_t at = 0;
    while (at < input.size()) {
        if (is_separator(input[at])) {
            ++at;
            continue;
        }
        RewriteToken token;
        at = scan_token(input, at, token);
        tokens.push_back(std::move(token));
    }
    return tokens;
}

std::string join_rewrite_tokens(const RewriteTokens& tokens, size_t begin, size_t end) {
    std::string out;
    for (size_t i = begin; i < end && i < tokens.size(); ++i) {
        const RewriteToken& token = tokens[i];
        if (token.kind == AddressTokenKind::domain_literal) {
            out += '[';
            out += token.text;
            out += ']';
        } else {
            out += token.text;
        }
        if (i + 1 < end && i + 1 < tokens.size() && space_after(token, tokens[i + 1]))
            out += ' ';
    }
    return out;
}

void append_tokens(RewriteTokens& tokens, RewriteTokens more) {
    bool owned = tokens.empty() || tokens.back().owned;
    for (RewriteToken& token : more) {
        token.owned = owned;
        tokens.push_back(std::move(token));
    }
}

void prepend_tokens(RewriteTokens& tokens, RewriteTokens more) {
    bool owned = tokens.empty() || tokens.front().owned;
    for (RewriteToken& token : more)
        token.owned = owned;
    tokens.insert(tokens.begin(), std::make_move_iterator(more.begin()),
                  std::make_move_iterator(more.end()));
}

size_t find_first_token(const RewriteTokens& tokens, char op, size_t from) {
    for (size_t i = from; i < tokens.size(); ++i) {
        if (tokens[i].is(op))
            return i;
    }
    return kNoToken;
}

size_t find_last_token(const RewriteTokens& tokens, char op) {
    for (size_t i = tokens.size(); i > 0; --i) {
        if (tokens[i - 1].is(op))
            return i - 1;
    }
    return kNoToken;
}

bool has_token_kind(const RewriteTokens& tokens, AddressTokenKind kind, size_t from) {
    for (size_t i = from; i < tokens.size(); ++i) {
        if (tokens[i].kind == kind)
            return true;
    }
    return false;
}

}  // namespace postern
