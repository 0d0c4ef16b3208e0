// Header addresses: the RFC 5322 lexer, Postfix's permissive address-list parser, and the
// external/internal conversions (see address.hpp).
//
// The parser works the way Postfix's tok822 does, so that the addresses it finds in a
// malformed header are the ones Postfix finds: the value is first cut into tokens, left to
// right, without losing any of them; then the tokens are grouped into addresses right to
// left, where "<...>", ";" and "," mark the ends of addresses, a word after a word starts a
// new address (a missing comma is added), comments move to the right of the address they
// sit in, and what cannot be understood is kept as it is.
#include "mail/address.hpp"

#include <utility>

#include "mail/quote_address.hpp"
#include "util/log.hpp"

namespace postern {
namespace {

// Characters that are tokens by themselves. Beyond RFC 5322's specials, '%', '!' and '|'
// (source routing and alias syntax), as in Postfix. The backslash is special only as an
// escape.
constexpr std::string_view kOperators = "|%!()<>@,;:\\\".[]";

// More text than this around one address, in a header Postern rewrites, is replaced with
// the bare "<address>" (Postfix's defence for Sendmail's CERT CA-2003-07 problem).
constexpr size_t kMaxNonAddressText = 250;

bool is_blank(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_operator(unsigned char c) {
    return c != 0 && kOperators.find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_control(unsigned char c) {
    return c < 0x20 || c == 0x7f;
}

constexpr int kNoNode = -1;

// One token while the parser rearranges them: a doubly linked list in a pool, so that
// comments can move and runs of tokens can become addresses without copying.
struct Node {
    AddressTokenKind kind = AddressTokenKind::atom;
    std::string text;
    int prev = kNoNode;
    int next = kNoNode;
    int first_child = kNoNode;  // kind == address: its tokens
    int last_child = kNoNode;
};

class TokenPool {
  public:
    int add(AddressTokenKind kind, std::string text = {}) {
        nodes_.push_back(Node{kind, std::move(text)});
        return static_cast<int>(nodes_.size() - 1);
    }
    Node& operator[](int index) { return nodes_[static_cast<size_t>(index)]; }
    const Node& operator[](int index) const { return nodes_[static_cast<size_t>(index)]; }

    void link(int left, int right) {
        if (left != kNoNode)
            (*this)[left].next = right;
        if (right != kNoNode)
            (*this)[right].prev = left;
    }
    // Takes `node` out of its list; returns the node that was before it.
    int unlink(int node) {
        int before = (*this)[node].prev;
        link(before, (*this)[node].next);
        (*this)[node].prev = (*this)[node].next = kNoNode;
        return before;
    }
    void insert_before(int position, int node) {
        link((*this)[position].prev, node);
        link(node, position);
    }
    void insert_after(int position, int node) {
        link(node, (*this)[position].next);
        link(position, node);
    }
    bool is_special(int node, char c) const {
        const Node& n = (*this)[node];
        return n.kind == AddressTokenKind::special && n.text.size() == 1 && n.text[0] == c;
    }

  private:
    std::vector<Node> nodes_;
};

// ---- Lexing ----

// The text of a quoted string, domain literal or atom up to `stop` (exclusive), with
// backslash escapes resolved and white space characters turned into spaces, as Postfix
// stores them. Returns the position after the text.
size_t collect(std::string_view value, size_t at, std::string& text, bool (*stop)(unsigned char)) {
    while (at < value.size()) {
        auto c = static_cast<unsigned char>(value[at]);
        if (c == 0)
            break;
        if (c == '\\') {
            if (at + 1 >= value.size() || value[at + 1] == 0) {
                ++at;
                break;
            }
            c = static_cast<unsigned char>(value[++at]);
        } else if (stop(c)) {
            break;
        }
        text.push_back(is_blank(c) ? ' ' : static_cast<char>(c));
        ++at;
    }
    return at;
}

bool stop_at_quote(unsigned char c) {
    return c == '"';
}
bool stop_at_bracket(unsigned char c) {
    return c == ']';
}
bool stop_atom(unsigned char c) {
    return is_blank(c) || is_operator(c);
}

// A comment, kept as written (parentheses and escapes included), nesting counted.
size_t collect_comment(std::string_view value, size_t at, std::string& text) {
    text = "(";
    int level = 1;
    while (at < value.size() && value[at] != 0) {
        char c = value[at++];
        text.push_back(c);
        if (c == '(') {
            ++level;
        } else if (c == ')') {
            if (--level == 0)
                break;
        } else if (c == '\\') {
            if (at >= value.size() || value[at] == 0)
                break;
            text.push_back(value[at++]);
        }
    }
    return at;
}

// An atom that holds characters an atom cannot hold (they came escaped) is written back
// as a quoted string.
AddressTokenKind atom_kind(std::string_view text) {
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        if (c == ' ' || is_control(c) || is_operator(c))
            return AddressTokenKind::quoted_string;
    }
    return AddressTokenKind::atom;
}

// Cuts `value` into tokens, appended to `pool` and linked in order. Returns the first
// and last token (kNoNode when there is none). A NUL byte ends the value, as in Postfix.
struct Scanned {
    int first = kNoNode;
    int last = kNoNode;
    bool truncated = false;
};

size_t scan_one(std::string_view value, size_t at, TokenPool& pool, int& token) {
    auto c = static_cast<unsigned char>(value[at]);
    std::string text;
    if (c == '(') {
        at = collect_comment(value, at + 1, text);
        token = pool.add(AddressTokenKind::comment, std::move(text));
    } else if (c == '[' || c == '"') {
        bool literal = c == '[';
        at = collect(value, at + 1, text, literal ? stop_at_bracket : stop_at_quote);
        if (at < value.size() && value[at] != 0)
            ++at;  // the closing bracket or quote
        token =
            pool.add(literal ? AddressTokenKind::domain_literal : AddressTokenKind::quoted_string,
                     std::move(text));
    } else if (c != '\\' && is_operator(c)) {
        token = pool.add(AddressTokenKind::special, std::string(1, static_cast<char>(c)));
        ++at;
    } else {
        at = collect(value, at, text, stop_atom);
        AddressTokenKind kind = atom_kind(text);
        token = pool.add(kind, std::move(text));
    }
    return at;
}

Scanned scan(std::string_view value, TokenPool& pool, size_t limit) {
    Scanned result;
    size_t count = 0;
    size_t at = 0;
    while (at < value.size() && value[at] != 0) {
        if (is_blank(static_cast<unsigned char>(value[at]))) {
            ++at;
            continue;
        }
        if (limit > 0 && count >= limit) {
            result.truncated = true;
            break;
        }
        int token = kNoNode;
        at = scan_one(value, at, pool, token);
        pool.link(result.last, token);
        if (result.first == kNoNode)
            result.first = token;
        result.last = token;
        ++count;
    }
    return result;
}

// ---- Parsing ----

class Parser {
  public:
    explicit Parser(TokenPool& pool) : pool_(pool) {}

    // Groups the tokens between the sentinels `head` and `tail` into addresses.
    void run(int head, int tail) {
        head_ = head;
        right_ = tail;
        state_ = kWord;
        int token = pool_[tail].prev;
        while (token != head_)
            token = step(token);
        group(head_, right_, false);
    }

  private:
    static constexpr int kWord = 1;   // a word may come next without starting an address
    static constexpr int kGroup = 2;  // inside "name: ...;"

    // Handles `token`; returns the next token to look at (to its left).
    int step(int token) {
        const Node& node = pool_[token];
        switch (node.kind) {
            case AddressTokenKind::comment:
                return move_comment(token);
            case AddressTokenKind::atom:
            case AddressTokenKind::quoted_string:
            case AddressTokenKind::domain_literal:
                if ((state_ & kWord) == 0)
                    right_ = pool_[group(token, right_, true)].next;
                state_ &= ~kWord;
                return pool_[token].prev;
            case AddressTokenKind::special:
                return special(token);
            default:
                state_ |= kWord;
                return pool_[token].prev;
        }
    }

    int special(int token) {
        char op = pool_[token].text[0];
        if (op == ';') {
            right_ = group(token, right_, true);
            state_ = kGroup | kWord;
        } else if (op == ':' && (state_ & kGroup) != 0) {
            return group_start(token);
        } else if (op == '>') {
            return route_address(token);
        } else if (op == ',') {
            right_ = group(token, right_, false);
            state_ |= kWord;
        } else {
            state_ |= kWord;
        }
        return pool_[token].prev;
    }

    // "name:" opens the group whose end we saw: the ':' is marked, what follows it up to
    // the current boundary is an address, and the group name stays as it is.
    int group_start(int token) {
        pool_[token].kind = AddressTokenKind::group_start;
        group(token, right_, false);
        while (token != head_ && !pool_.is_special(token, ','))
            token = pool_[token].prev;
        right_ = token;
        return token;
    }

    // "phrase <address>": what follows '>' is an address of its own, what is inside the
    // brackets is the address (comments moved out of it, still inside the brackets), and
    // the phrase before '<' is skipped.
    int route_address(int token) {
        right_ = group(token, right_, true);
        while (token != head_ && !pool_.is_special(token, '<')) {
            if (pool_[token].kind == AddressTokenKind::comment) {
                int before = pool_.unlink(token);
                pool_.insert_before(right_, token);
                right_ = token;
                token = before;
                continue;
            }
            token = pool_[token].prev;
        }
        group(token, right_, false);
        while (token != head_ && !ends_phrase(token))
            token = pool_[token].prev;
        right_ = token;
        state_ |= kWord;
        return token;
    }

    bool ends_phrase(int token) const {
        const Node& node = pool_[token];
        return node.kind == AddressTokenKind::special &&
               std::string_view(">;,:").find(node.text[0]) != std::string_view::npos;
    }

    // Comments move to the right of the address they are part of.
    int move_comment(int token) {
        int before = pool_.unlink(token);
        pool_.insert_before(right_, token);
        right_ = token;
        return before;
    }

    // Makes the tokens strictly between `left` and `right` one address, with a comma
    // before it when `add_comma`. Returns `left`.
    int group(int left, int right, bool add_comma) {
        if (left == right)
            return left;
        int first = pool_[left].next;
        if (first == right)
            return left;
        int last = pool_[right].prev;
        int address = pool_.add(AddressTokenKind::address);
        pool_[address].first_child = first;
        pool_[address].last_child = last;
        pool_[first].prev = kNoNode;
        pool_[last].next = kNoNode;
        pool_.link(left, address);
        pool_.link(address, right);
        if (add_comma)
            pool_.insert_after(left, pool_.add(AddressTokenKind::special, ","));
        return left;
    }

    TokenPool& pool_;
    int head_ = kNoNode;
    int right_ = kNoNode;
    int state_ = kWord;
};

// ---- Writing back ----

void append_quoted(std::string& out, std::string_view text, std::string_view escape) {
    for (char c : text) {
        if (escape.find(c) != std::string_view::npos)
            out.push_back('\\');
        out.push_back(c);
    }
}

// The tokens of one address run together without quoting: its internal form.
std::string internalize_tokens(const std::vector<AddressToken>& tokens,
                               const AddressToken& address) {
    std::string out;
    for (size_t i = 0; i < address.child_count; ++i) {
        const AddressToken& token = tokens[address.first_child + i];
        switch (token.kind) {
            case AddressTokenKind::domain_literal:
                out += '[';
                out += token.text;
                out += ']';
                break;
            case AddressTokenKind::group_start:
                out += ':';
                break;
            default:
                out += token.text;
        }
    }
    return out;
}

bool is_word_like(AddressTokenKind kind) {
    return kind == AddressTokenKind::atom || kind == AddressTokenKind::quoted_string ||
           kind == AddressTokenKind::comment || kind == AddressTokenKind::domain_literal ||
           kind == AddressTokenKind::address;
}

bool is_special(const AddressToken& token, char c) {
    return token.kind == AddressTokenKind::special && token.text.size() == 1 && token.text[0] == c;
}

// Whether a space goes between two top-level tokens (Postfix's rule).
bool space_between(const AddressToken& token, const AddressToken& next) {
    if (is_special(token, ',') || token.kind == AddressTokenKind::group_start ||
        is_special(next, '<'))
        return true;
    return is_word_like(token.kind) && is_word_like(next.kind);
}

std::string printable(std::string_view text) {
    std::string out;
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        out.push_back(byte < 0x20 || byte >= 0x7f ? '?' : c);
    }
    return out;
}

}  // namespace

// ---- HeaderAddressList ----

HeaderAddressList HeaderAddressList::parse(std::string_view value, size_t token_limit) {
    TokenPool pool;
    Scanned scanned = scan(value, pool, token_limit);
    HeaderAddressList list;
    list.truncated_ = scanned.truncated;
    if (scanned.first == kNoNode)
        return list;
    int head = pool.add(AddressTokenKind::special, "");
    int tail = pool.add(AddressTokenKind::special, "");
    pool.link(head, scanned.first);
    pool.link(scanned.last, tail);
    Parser(pool).run(head, tail);

    // Top-level tokens first, then each address's children after them.
    std::vector<int> addresses;
    for (int node = pool[head].next; node != tail; node = pool[node].next) {
        list.top_level_.push_back(list.tokens_.size());
        list.tokens_.push_back(AddressToken{pool[node].kind, pool[node].text});
        if (pool[node].kind == AddressTokenKind::address) {
            list.address_tokens_.push_back(list.tokens_.size() - 1);
            addresses.push_back(node);
        }
    }
    for (size_t i = 0; i < addresses.size(); ++i) {
        size_t first = list.tokens_.size();
        for (int child = pool[addresses[i]].first_child; child != kNoNode;
             child = pool[child].next) {
            list.tokens_.push_back(AddressToken{pool[child].kind, pool[child].text});
        }
        AddressToken& address = list.tokens_[list.address_tokens_[i]];
        address.first_child = first;
        address.child_count = list.tokens_.size() - first;
    }
    return list;
}

std::string HeaderAddressList::internal(size_t index) const {
    return internalize_tokens(tokens_, tokens_[address_tokens_.at(index)]);
}

std::string HeaderAddressList::external(size_t index) const {
    return externalize_address(internal(index));
}

std::vector<ParsedAddress> HeaderAddressList::addresses() const {
    std::vector<ParsedAddress> result;
    result.reserve(address_tokens_.size());
    for (size_t i = 0; i < address_tokens_.size(); ++i) {
        std::string internal_form = internal(i);
        std::string external_form = externalize_address(internal_form);
        result.push_back(ParsedAddress{std::move(internal_form), std::move(external_form)});
    }
    return result;
}

void HeaderAddressList::replace(size_t index, std::string_view internal_address) {
    size_t address = address_tokens_.at(index);
    TokenPool pool;
    Scanned scanned = scan(externalize_address(internal_address), pool, 0);
    size_t first = tokens_.size();
    for (int node = scanned.first; node != kNoNode; node = pool[node].next)
        tokens_.push_back(AddressToken{pool[node].kind, pool[node].text});
    tokens_[address].first_child = first;
    tokens_[address].child_count = tokens_.size() - first;
}

std::string HeaderAddressList::externalize() const {
    std::string out;
    size_t start = 0;                       // where the current comma-separated part begins
    const AddressToken* address = nullptr;  // its address, or the '<' of "<>"
    size_t address_length = 0;
    auto enforce_limit = [&]() {
        if (address == nullptr || out.size() - address_length <= start + kMaxNonAddressText)
            return;
        log_warning("stripping too many comments from address: %.100s...",
                    printable(std::string_view(out).substr(start)).c_str());
        out.resize(start);
        out += '<';
        if (address->kind == AddressTokenKind::address)
            out += externalize_address(internalize_tokens(tokens_, *address));
        out += '>';
    };
    for (size_t k = 0; k < top_level_.size(); ++k) {
        const AddressToken& token = tokens_[top_level_[k]];
        const AddressToken* next =
            k + 1 < top_level_.size() ? &tokens_[top_level_[k + 1]] : nullptr;
        if (is_special(token, ',')) {
            enforce_limit();
            out += ",\n";
            start = out.size();
            address = nullptr;
            address_length = 0;
            continue;
        }
        switch (token.kind) {
            case AddressTokenKind::address: {
                address = &token;
                size_t before = out.size();
                out += externalize_address(internalize_tokens(tokens_, token));
                address_length = out.size() - before;
                break;
            }
            case AddressTokenKind::quoted_string:
                out += '"';
                append_quoted(out, token.text, "\"\\\r\n");
                out += '"';
                break;
            case AddressTokenKind::domain_literal:
                out += '[';
                append_quoted(out, token.text, "\\\r\n");
                out += ']';
                break;
            case AddressTokenKind::group_start:
                out += ':';
                break;
            default:
                if (is_special(token, '<') && next != nullptr && is_special(*next, '>')) {
                    address = &token;
                    address_length = 0;
                }
                out += token.text;
        }
        if (next != nullptr && space_between(token, *next))
            out += ' ';
    }
    enforce_limit();
    return out;
}

// ---- Free functions ----

std::vector<ParsedAddress> parse_address_list(std::string_view value, size_t token_limit) {
    return HeaderAddressList::parse(value, token_limit).addresses();
}

ParsedAddress parse_single_address(std::string_view text, size_t token_limit) {
    HeaderAddressList list = HeaderAddressList::parse(text, token_limit);
    if (list.empty())
        return {};
    std::string internal_form = list.internal(0);
    return ParsedAddress{internal_form, externalize_address(internal_form)};
}

std::string internalize_address(std::string_view external_address) {
    std::string out;
    std::string_view rest = external_address;
    // A route prefix ("@a,@b:") is kept as it is.
    if (!rest.empty() && rest.front() == '@') {
        if (size_t colon = rest.find(':'); colon != std::string_view::npos) {
            out.append(rest.substr(0, colon + 1));
            rest.remove_prefix(colon + 1);
        }
    }
    bool in_quotes = false;
    size_t last_at_out = std::string::npos;  // where the last unquoted '@' went in `out`
    size_t last_at_in = 0;
    for (size_t i = 0; i < rest.size(); ++i) {
        char c = rest[i];
        if (c == '"') {
            in_quotes = !in_quotes;
            continue;
        }
        if (c == '@') {
            if (!in_quotes) {
                last_at_out = out.size();
                last_at_in = i;
            }
        } else if (c == '\\') {
            if (i + 1 >= rest.size())
                continue;  // a trailing backslash escapes nothing
            c = rest[++i];
        }
        out.push_back(c);
    }
    // The domain keeps its quotes and backslashes.
    if (last_at_out != std::string::npos) {
        out.resize(last_at_out);
        out.append(rest.substr(last_at_in));
    }
    return out;
}

std::string externalize_address(std::string_view internal_address) {
    // A route prefix ("@a,@b:") is not part of the local part.
    if (!internal_address.empty() && internal_address.front() == '@') {
        if (size_t colon = internal_address.find(':'); colon != std::string_view::npos) {
            return std::string(internal_address.substr(0, colon + 1)) +
                   quote_address_local_part(internal_address.substr(colon + 1));
        }
    }
    return quote_address_local_part(internal_address);
}

}  // namespace postern
