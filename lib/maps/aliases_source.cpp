// aliases(5) parsing: logical lines, RFC 822 tokens, and the name/value rules of
// postalias. See aliases_source.hpp for the format; the token rules below were taken from
// Postfix's observable behaviour (postalias + db5.3_dump), not from its code.
//
// This is a small RFC 822 tokenizer of its own. local(8) will need the same one for
// :include: files and .forward lines; when it does, it moves to lib/mail.
#include "maps/aliases_source.hpp"

#include "maps/casefold.hpp"

namespace postern {
namespace {

// ---- RFC 822 tokens --------------------------------------------------------------------

// White space between tokens. Vertical tab and form feed are not: Postfix keeps them as
// (control) characters of an atom.
constexpr std::string_view kTokenSpace = " \t\r\n";
// Characters that are tokens of their own. '(' '"' '[' open longer tokens and a backslash
// escapes inside an atom, so they are not listed.
constexpr std::string_view kOperators = ")<>@,;:.]%!|";
// An atom holding any of these (or white space, or a control character) is written back
// as a quoted string.
constexpr std::string_view kNeedsQuotes = "()<>@,;:\\\".[]%!|";

enum class TokenKind { atom, quoted, comment, literal, op };

struct Token {
    TokenKind kind = TokenKind::atom;
    char op = 0;       // TokenKind::op
    std::string text;  // atom, quoted, literal: unescaped content; comment: as written
};

bool is_word(const Token& token) {
    return token.kind != TokenKind::op;
}

bool is_op(const Token& token, char op) {
    return token.kind == TokenKind::op && token.op == op;
}

// Inside quoted strings, domain literals and escapes, Postfix turns tab, CR and LF into a
// space (RFC 822 unfolding); other control characters are kept.
char unfolded(char c) {
    return (c == '\t' || c == '\r' || c == '\n') ? ' ' : c;
}

// A comment, nested parentheses included, kept as written; unterminated: to the end.
size_t scan_comment(std::string_view text, size_t pos, Token& token) {
    size_t start = pos++;
    int depth = 1;
    while (pos < text.size() && depth > 0) {
        char c = text[pos++];
        if (c == '\\' && pos < text.size())
            ++pos;
        else if (c == '(')
            ++depth;
        else if (c == ')')
            --depth;
    }
    token.kind = TokenKind::comment;
    token.text = std::string(text.substr(start, pos - start));
    return pos;
}

// A quoted string or domain literal after its opening character, up to `close`;
// backslash escapes removed. Unterminated: to the end.
size_t scan_delimited(std::string_view text, size_t pos, char close, Token& token) {
    while (pos < text.size()) {
        char c = text[pos++];
        if (c == close)
            break;
        if (c == '\\') {
            if (pos == text.size())
                break;
            c = text[pos++];
        }
        token.text += unfolded(c);
    }
    return pos;
}

size_t scan_atom(std::string_view text, size_t pos, Token& token) {
    token.kind = TokenKind::atom;
    while (pos < text.size()) {
        char c = text[pos];
        if (kTokenSpace.find(c) != std::string_view::npos ||
            kOperators.find(c) != std::string_view::npos || c == '(' || c == '"' || c == '[')
            break;
        ++pos;
        if (c == '\\') {
            if (pos == text.size())
                break;
            c = unfolded(text[pos++]);
        }
        token.text += c;
    }
    return pos;
}

std::vector<Token> tokenize(std::string_view text) {
    std::vector<Token> tokens;
    size_t pos = 0;
    while (pos < text.size()) {
        char c = text[pos];
        if (kTokenSpace.find(c) != std::string_view::npos) {
            ++pos;
            continue;
        }
        Token token;
        if (c == '(') {
            pos = scan_comment(text, pos, token);
        } else if (c == '"' || c == '[') {
            token.kind = c == '"' ? TokenKind::quoted : TokenKind::literal;
            pos = scan_delimited(text, pos + 1, c == '"' ? '"' : ']', token);
        } else if (kOperators.find(c) != std::string_view::npos) {
            token.kind = TokenKind::op;
            token.op = c;
            ++pos;
        } else {
            pos = scan_atom(text, pos, token);
        }
        tokens.push_back(std::move(token));
    }
    return tokens;
}

bool atom_needs_quotes(std::string_view atom) {
    for (unsigned char c : atom)
        if (c < 0x20 || c == 0x7f || c == ' ' ||
            kNeedsQuotes.find(static_cast<char>(c)) != std::string_view::npos)
            return true;
    return false;
}

void append_escaped(std::string& out, std::string_view text, std::string_view special) {
    for (char c : text) {
        if (special.find(c) != std::string_view::npos)
            out += '\\';
        out += c;
    }
}

// External form: what local(8) parses again. Internal form: quotes and escapes removed.
enum class Form { external, internal };

void append_token(std::string& out, const Token& token, Form form) {
    bool external = form == Form::external;
    switch (token.kind) {
        case TokenKind::atom:
            if (external && atom_needs_quotes(token.text)) {
                out += '"';
                append_escaped(out, token.text, "\"\\");
                out += '"';
            } else {
                out += token.text;
            }
            break;
        case TokenKind::quoted:
            if (external) {
                out += '"';
                append_escaped(out, token.text, "\"\\");
                out += '"';
            } else {
                out += token.text;
            }
            break;
        case TokenKind::literal:
            out += '[';
            if (external)
                append_escaped(out, token.text, "\\");
            else
                out += token.text;
            out += ']';
            break;
        case TokenKind::comment:
            out += token.text;
            break;
        case TokenKind::op:
            out += token.op;
            break;
    }
}

// Postfix's spacing: a comma is always followed by a space, a '<' always preceded by one,
// and two words (atoms, quoted strings, comments, literals) are separated by one.
std::string render(const std::vector<Token>& tokens, size_t begin, size_t end, Form form) {
    std::string out;
    for (size_t i = begin; i < end; ++i) {
        append_token(out, tokens[i], form);
        if (is_op(tokens[i], ',')) {
            out += ' ';
        } else if (i + 1 < end &&
                   (is_op(tokens[i + 1], '<') || (is_word(tokens[i]) && is_word(tokens[i + 1])))) {
            out += ' ';
        }
    }
    return out;
}

// ---- logical lines ---------------------------------------------------------------------

// White space as the line reader sees it (C isspace()): wider than kTokenSpace.
bool is_line_space(char c) {
    return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

bool is_blank_or_comment(std::string_view line) {
    size_t pos = 0;
    while (pos < line.size() && is_line_space(line[pos]))
        ++pos;
    return pos == line.size() || line[pos] == '#';
}

struct LogicalLine {
    int number = 0;
    std::string text;
};

// Calls `visit` for each logical line, in order, and stops at the first error it returns.
// Lines that start with white space are passed too (the caller warns about them). A line
// is handed over as soon as the next one shows that it is complete, so that warnings and
// duplicates come out in Postfix's order.
template <typename Visit>
Status for_each_logical_line(std::string_view text, Visit visit) {
    LogicalLine current;
    bool have_line = false;
    int number = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos)
            end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++number;
        if (is_blank_or_comment(line))
            continue;
        if (have_line && is_line_space(line.front())) {
            current.text += line;
            continue;
        }
        if (have_line)
            if (Status status = visit(current); !status.ok())
                return status;
        current.number = number;
        current.text = std::string(line);
        have_line = true;
    }
    if (have_line)
        return visit(current);
    return {};
}

// Postfix reads a logical line as a C string: it ends at the first NUL.
std::string_view c_string(std::string_view text) {
    return text.substr(0, text.find('\0'));
}

std::string leading_space_warning(std::string_view origin, const std::string& line) {
    constexpr size_t kShown = 30;
    std::string shown(c_string(line).substr(0, kShown));
    return std::string(origin) + ": logical line must not start with whitespace: \"" + shown +
           (line.size() > kShown ? "..." : "") + "\"";
}

// Postfix checks a line unless its C string is plain ASCII (an empty C string does not
// count as ASCII), and then checks every byte, those after a NUL included.
bool acceptable_utf8(std::string_view line) {
    std::string_view shown = c_string(line);
    bool ascii = !shown.empty();
    for (unsigned char c : shown)
        ascii = ascii && c < 0x80;
    return ascii || is_valid_utf8(line);
}

}  // namespace

Result<AliasEntry> parse_alias_line(std::string_view line) {
    std::vector<Token> tokens = tokenize(line);
    size_t colon = 0;
    while (colon < tokens.size() && !is_op(tokens[colon], ':'))
        ++colon;
    bool comma_in_name = false;
    bool remote_name = false;
    for (size_t i = 0; i < colon; ++i) {
        comma_in_name |= is_op(tokens[i], ',');
        remote_name |= is_op(tokens[i], '@') || is_op(tokens[i], '%');
    }
    // A missing name, a list of names, or no value at all.
    if (colon == 0 || colon + 1 >= tokens.size() || comma_in_name)
        return Error(ErrorKind::config, "need name:value pair");
    if (remote_name)
        return Error(ErrorKind::config, "name must be local");
    return AliasEntry{render(tokens, 0, colon, Form::internal),
                      render(tokens, colon + 1, tokens.size(), Form::external), 0};
}

Status parse_aliases(std::string_view text, std::string_view origin,
                     const AliasSourceOptions& options, const AliasVisit& visit,
                     const TableWarning& warn) {
    auto warning = [&](const std::string& message) {
        if (warn)
            warn(message);
    };
    auto where = [&](int line) { return std::string(origin) + ", line " + std::to_string(line); };
    return for_each_logical_line(text, [&](const LogicalLine& logical) -> Status {
        if (is_line_space(logical.text.front())) {
            warning(leading_space_warning(origin, logical.text));
            return {};
        }
        std::string_view line = c_string(logical.text);
        if (options.check_utf8 && !acceptable_utf8(logical.text)) {
            warning(where(logical.number) + ": non-UTF-8 input \"" + std::string(line) +
                    "\" -- ignoring this line");
            return {};
        }
        if (line.find_first_not_of(kTokenSpace) == std::string_view::npos)
            return {};  // nothing before a NUL: Postfix sees an empty line
        Result<AliasEntry> entry = parse_alias_line(line);
        if (!entry) {
            warning(where(logical.number) + ": " + entry.error().message());
            return {};
        }
        entry->line = logical.number;
        return visit(*entry);
    });
}

}  // namespace postern
