#include "config/expand.hpp"

#include <algorithm>
#include <cctype>

#include "util/strings.hpp"

namespace postern {
namespace {

bool is_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

Error macro_error(std::string_view what, std::string_view text) {
    return Error(ErrorKind::config, std::string(what) + ": \"" + std::string(text) + "\"");
}

class Expander {
  public:
    Expander(const ParameterSource& source, const ExpandOptions& options)
        : source_(source), options_(options) {}

    Result<std::string> expand(std::string_view text, int depth);

  private:
    Status expand_reference(std::string_view text, size_t& pos, int depth, std::string& out);
    Status expand_braced(std::string_view inner, std::string_view whole, int depth,
                         std::string& out);
    Status expand_name(std::string_view name, int depth, std::string& out);
    Status expand_conditional(std::string_view name, char op, std::string_view rest,
                              std::string_view whole, int depth, std::string& out);
    Status expand_relational(std::string_view inner, std::string_view whole, int depth,
                             std::string& out);

    const ParameterSource& source_;
    const ExpandOptions& options_;
};

// Finds the bracket that closes the one at text[open]; nested brackets of the same
// kind are skipped. Returns npos when there is none.
size_t matching_close(std::string_view text, size_t open) {
    char opener = text[open];
    char closer = opener == '{' ? '}' : ')';
    int level = 0;
    for (size_t i = open; i < text.size(); ++i) {
        if (text[i] == opener)
            ++level;
        if (text[i] == closer && --level == 0)
            return i;
    }
    return std::string_view::npos;
}

// Parses "{text}" at the front of `rest` (after white space); returns the text inside.
bool take_braced(std::string_view& rest, std::string_view& inside) {
    rest = trim_left(rest);
    if (rest.empty() || rest.front() != '{')
        return false;
    size_t close = matching_close(rest, 0);
    if (close == std::string_view::npos)
        return false;
    inside = rest.substr(1, close - 1);
    rest = trim_left(rest.substr(close + 1));
    return true;
}

Result<std::string> Expander::expand(std::string_view text, int depth) {
    std::string out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t dollar = text.find('$', pos);
        if (dollar == std::string_view::npos) {
            out.append(text.substr(pos));
            break;
        }
        out.append(text.substr(pos, dollar - pos));
        pos = dollar;
        if (Status status = expand_reference(text, pos, depth, out); !status)
            return status.error();
    }
    return out;
}

// text[pos] is '$'. Consumes the reference and appends its expansion.
Status Expander::expand_reference(std::string_view text, size_t& pos, int depth, std::string& out) {
    size_t start = pos;
    ++pos;
    if (pos < text.size() && text[pos] == '$') {
        out.push_back('$');
        ++pos;
        return {};
    }
    if (pos < text.size() && (text[pos] == '{' || text[pos] == '(')) {
        size_t close = matching_close(text, pos);
        if (close == std::string_view::npos)
            return macro_error("truncated macro reference", text.substr(start));
        std::string_view inner = text.substr(pos + 1, close - pos - 1);
        std::string_view whole = text.substr(start, close + 1 - start);
        pos = close + 1;
        return expand_braced(inner, whole, depth, out);
    }
    size_t name_end = pos;
    while (name_end < text.size() && is_name_char(text[name_end]))
        ++name_end;
    if (name_end == pos)
        return macro_error("empty macro name", text.substr(start));
    std::string_view name = text.substr(pos, name_end - pos);
    pos = name_end;
    return expand_name(name, depth, out);
}

Status Expander::expand_braced(std::string_view inner, std::string_view whole, int depth,
                               std::string& out) {
    if (!inner.empty() && inner.front() == '{')
        return expand_relational(inner, whole, depth, out);
    size_t name_end = 0;
    while (name_end < inner.size() && is_name_char(inner[name_end]))
        ++name_end;
    if (name_end == 0)
        return macro_error("empty macro name", whole);
    std::string_view name = inner.substr(0, name_end);
    if (name_end == inner.size())
        return expand_name(name, depth, out);
    char op = inner[name_end];
    if (op != '?' && op != ':')
        return macro_error("macro name syntax error", whole);
    return expand_conditional(name, op, inner.substr(name_end + 1), whole, depth, out);
}

Status Expander::expand_name(std::string_view name, int depth, std::string& out) {
    if (depth >= kMaxExpansionDepth)
        return macro_error("unreasonable macro call nesting", name);
    std::optional<std::string_view> value = source_.raw_value(name);
    if (!value) {
        if (options_.on_undefined)
            options_.on_undefined(name, options_.context);
        return {};
    }
    if (!options_.recursive) {
        out.append(*value);
        return {};
    }
    auto expanded = expand(*value, depth + 1);
    if (!expanded)
        return expanded.error();
    out.append(*expanded);
    return {};
}

// ${name?text}, ${name:text}, ${name?{then}:{else}} (also ${name:{else}}).
Status Expander::expand_conditional(std::string_view name, char op, std::string_view rest,
                                    std::string_view whole, int depth, std::string& out) {
    if (depth >= kMaxExpansionDepth)
        return macro_error("unreasonable macro call nesting", name);
    std::optional<std::string_view> value = source_.raw_value(name);
    if (!value && options_.on_undefined)
        options_.on_undefined(name, options_.context);
    bool defined = value && !value->empty();
    // Whichever branch is absent expands to nothing.
    std::string_view when_true, when_false;
    std::string_view braced = rest;
    std::string_view first;
    if (!take_braced(braced, first)) {
        (op == '?' ? when_true : when_false) = rest;
    } else if (op == ':') {
        if (!braced.empty())
            return macro_error("macro syntax error", whole);
        when_false = first;
    } else {
        when_true = first;
        if (!braced.empty()) {
            if (braced.front() != ':')
                return macro_error("macro syntax error", whole);
            braced.remove_prefix(1);
            if (!take_braced(braced, when_false) || !braced.empty())
                return macro_error("macro syntax error", whole);
        }
    }
    std::string_view chosen = defined ? when_true : when_false;
    if (chosen.empty())
        return {};
    auto expanded = expand(chosen, depth + 1);
    if (!expanded)
        return expanded.error();
    out.append(*expanded);
    return {};
}

bool compare(std::string_view left, std::string_view op, std::string_view right, bool& valid) {
    valid = true;
    if (op == "==")
        return left == right;
    if (op == "!=")
        return left != right;
    if (op.size() > 5 && op.substr(op.size() - 5) == "level") {
        int order = compare_compatibility_levels(left, right);
        std::string_view rel = op.substr(0, op.size() - 5);
        if (rel == "<")
            return order < 0;
        if (rel == "<=")
            return order <= 0;
        if (rel == ">")
            return order > 0;
        if (rel == ">=")
            return order >= 0;
        valid = false;
        return false;
    }
    auto a = parse_integer(left);
    auto b = parse_integer(right);
    if (!a || !b) {
        valid = false;
        return false;
    }
    if (op == "<")
        return *a < *b;
    if (op == "<=")
        return *a <= *b;
    if (op == ">")
        return *a > *b;
    if (op == ">=")
        return *a >= *b;
    valid = false;
    return false;
}

// ${{left} op {right} ? {then} : {else}}
Status Expander::expand_relational(std::string_view inner, std::string_view whole, int depth,
                                   std::string& out) {
    std::string_view rest = inner;
    std::string_view left_text, right_text, when_true, when_false;
    if (!take_braced(rest, left_text))
        return macro_error("macro syntax error", whole);
    size_t op_end = 0;
    while (op_end < rest.size() && !std::isspace(static_cast<unsigned char>(rest[op_end])) &&
           rest[op_end] != '{')
        ++op_end;
    std::string_view op = rest.substr(0, op_end);
    rest.remove_prefix(op_end);
    if (!take_braced(rest, right_text))
        return macro_error("macro syntax error", whole);
    bool has_true = false, has_false = false;
    if (!rest.empty() && rest.front() == '?') {
        rest.remove_prefix(1);
        if (!take_braced(rest, when_true))
            return macro_error("macro syntax error", whole);
        has_true = true;
    }
    if (!rest.empty() && rest.front() == ':') {
        rest.remove_prefix(1);
        if (!take_braced(rest, when_false))
            return macro_error("macro syntax error", whole);
        has_false = true;
    }
    if (!rest.empty() || (!has_true && !has_false))
        return macro_error("macro syntax error", whole);
    auto left = expand(left_text, depth + 1);
    if (!left)
        return left.error();
    auto right = expand(right_text, depth + 1);
    if (!right)
        return right.error();
    bool valid = false;
    bool outcome = compare(trim(*left), op, trim(*right), valid);
    if (!valid)
        return macro_error("bad relational expression", whole);
    std::string_view chosen = outcome ? when_true : when_false;
    auto expanded = expand(chosen, depth + 1);
    if (!expanded)
        return expanded.error();
    out.append(*expanded);
    return {};
}

}  // namespace

int compare_compatibility_levels(std::string_view a, std::string_view b) {
    auto components_a = split_list(a, ".");
    auto components_b = split_list(b, ".");
    size_t count = std::max(components_a.size(), components_b.size());
    for (size_t i = 0; i < count; ++i) {
        int64_t x = 0, y = 0;
        if (i < components_a.size()) {
            auto n = parse_integer(components_a[i]);
            x = n ? *n : 0;
        }
        if (i < components_b.size()) {
            auto n = parse_integer(components_b[i]);
            y = n ? *n : 0;
        }
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}

Result<std::string> expand_value(std::string_view text, const ParameterSource& source,
                                 const ExpandOptions& options) {
    Expander expander(source, options);
    return expander.expand(text, 0);
}

}  // namespace postern
