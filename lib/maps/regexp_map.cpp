// regexp: tables. See regexp_map.hpp for the syntax and what is trusted; the messages and
// the order in which a rule's problems are reported are Postfix 3.7's, checked against
// /usr/sbin/postmap: pattern syntax, then the result text, then the negation rule, then
// regcomp(3), then the subexpression count.
#include "maps/regexp_map.hpp"

#include <regex.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "maps/map_openers.hpp"
#include "maps/table_source.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {

namespace {

struct RegexFree {
    void operator()(regex_t* re) const {
        regfree(re);
        delete re;
    }
};
using CompiledRegex = std::unique_ptr<regex_t, RegexFree>;

bool is_blank(char c) {
    return kWhiteSpace.find(c) != std::string_view::npos;
}

bool is_macro_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// A piece of a result: literal text, or the text of subexpression `group` (> 0).
struct ResultPiece {
    std::string text;
    uint32_t group = 0;
};

struct Replacement {
    std::vector<ResultPiece> pieces;
    // The largest index, 0 when there is no $n at all. A negative index (see
    // postfix_index) counts as huge, as in Postfix, so that it is out of range.
    uint64_t max_group = 0;
};

// Why a result text was refused. Postfix reports some problems with the file and line
// and some (its macro parser's) without; "bad replacement syntax" follows either way.
struct ReplacementError {
    std::string text;
    bool located = true;
};

struct ReplacementParse {
    Replacement replacement;
    // A malformed reference ends the parse; a bad index is reported and the parse goes on,
    // so one rule may have several, as in Postfix.
    std::vector<ReplacementError> errors;
};

// The name after the '$' at text[i]: "{...}" or "(...)" with nesting, or a run of
// letters, digits and '_'. Advances `i` past it; nullopt when the reference is truncated.
std::optional<std::string_view> macro_name(std::string_view text, size_t& i) {
    size_t start = i + 1;
    if (start < text.size() && (text[start] == '{' || text[start] == '(')) {
        char open = text[start];
        char close = open == '{' ? '}' : ')';
        int depth = 0;
        for (size_t j = start; j < text.size(); ++j) {
            if (text[j] == open) {
                ++depth;
            } else if (text[j] == close && --depth == 0) {
                i = j + 1;
                return text.substr(start + 1, j - start - 1);
            }
        }
        return std::nullopt;
    }
    size_t end = start;
    while (end < text.size() && is_macro_name_char(text[end]))
        ++end;
    i = end;
    return text.substr(start, end - start);
}

// Postfix reads an index with atoi(): the number saturates as strtol(3) does and is then
// cut to a C int, so "$4294967297" is $1 and "$99999999999999999999" is $-1. Kept, so that
// a table means what it meant to Postfix.
int32_t postfix_index(std::string_view digits) {
    constexpr uint64_t kLongMax = 0x7fffffffffffffff;
    uint64_t value = 0;
    for (char digit : digits)
        value = value > (kLongMax - 9) / 10 ? kLongMax
                                            : value * 10 + static_cast<uint64_t>(digit - '0');
    return static_cast<int32_t>(static_cast<uint32_t>(value));
}

// The subexpression number a macro name stands for, or an error in Postfix's words.
std::optional<int32_t> group_index(std::string_view name, std::vector<ReplacementError>& errors) {
    if (name.find_first_not_of("0123456789") != std::string_view::npos) {
        errors.push_back({"non-numeric replacement index \"" + std::string(name) + "\""});
        return std::nullopt;
    }
    int32_t value = postfix_index(name);
    if (value == 0) {
        errors.push_back({"out-of-range replacement index \"" + std::string(name) + "\""});
        return std::nullopt;
    }
    return value;
}

ReplacementParse parse_replacement(std::string_view text) {
    ReplacementParse parse;
    std::string literal;
    auto flush = [&] {
        if (!literal.empty())
            parse.replacement.pieces.push_back({std::move(literal), 0});
        literal.clear();
    };
    auto malformed = [&](std::string_view what) {
        parse.errors.push_back({std::string(what) + ": \"" + std::string(text) + "\"", false});
        return parse;
    };
    size_t i = 0;
    while (i < text.size()) {
        if (text[i] != '$') {
            literal += text[i++];
        } else if (i + 1 < text.size() && text[i + 1] == '$') {
            literal += '$';
            i += 2;
        } else {
            auto name = macro_name(text, i);
            if (!name)
                return malformed("truncated macro reference");
            if (name->empty())
                return malformed("empty macro name");
            auto group = group_index(*name, parse.errors);
            if (!group)
                continue;
            flush();
            uint64_t index = static_cast<uint64_t>(static_cast<int64_t>(*group));
            parse.replacement.pieces.push_back({{}, static_cast<uint32_t>(*group)});
            parse.replacement.max_group = std::max(parse.replacement.max_group, index);
        }
    }
    flush();
    return parse;
}

// "/pattern/flags rest" after the keyword, with leading '!'s.
// One "[!...]/pattern/flags" as written.
struct PatternSpec {
    bool negate = false;
    std::string pattern;
    int cflags = REG_EXTENDED | REG_ICASE;
    std::string_view after;  // the text after the flags, from a '!' or white space on
};

Result<PatternSpec> parse_pattern(std::string_view text) {
    PatternSpec spec;
    while (!text.empty() && text.front() == '!') {
        spec.negate = !spec.negate;
        text = trim_left(text.substr(1));
    }
    if (text.empty())
        return Error(ErrorKind::config, "no regexp");
    char delimiter = text.front();
    size_t i = 1;
    // A backslash escapes the next character, the delimiter included, and stays in the
    // pattern for regcomp to see. A backslash that ends the line closes the pattern and
    // is dropped, as in Postfix ("/a\" is the pattern "a").
    for (; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 1 == text.size())
            break;
        if (text[i] == '\\')
            ++i;
        else if (text[i] == delimiter)
            break;
    }
    if (i >= text.size())
        return Error(ErrorKind::config,
                     "no closing regexp delimiter \"" + std::string(1, delimiter) + "\"");
    spec.pattern = std::string(text.substr(1, i - 1));
    // Flags end at white space, or at the '!' of a second pattern.
    for (++i; i < text.size() && !is_blank(text[i]) && text[i] != '!'; ++i) {
        switch (text[i]) {
            case 'i':
                spec.cflags ^= REG_ICASE;
                break;
            case 'm':
                spec.cflags ^= REG_NEWLINE;
                break;
            case 'x':
                spec.cflags ^= REG_EXTENDED;
                break;
            default:
                return Error(ErrorKind::config,
                             "unknown regexp option \"" + std::string(1, text[i]) + "\"");
        }
    }
    spec.after = text.substr(i);
    return spec;
}

// A rule's patterns: "/first/flags result", or Postfix's older, still accepted form
// "/first/flags!/second/flags result" (matches when the first matches and the second does
// not; "!!/second/" when it does). Either may be negated with leading '!'s.
struct RuleSpec {
    PatternSpec first;
    std::optional<PatternSpec> second;
    std::string_view result;
};

Result<RuleSpec> parse_rule_patterns(std::string_view text) {
    auto first = parse_pattern(text);
    if (!first)
        return first.error();
    RuleSpec rule{std::move(*first), std::nullopt, {}};
    std::string_view after = rule.first.after;
    if (!after.empty() && after.front() == '!') {
        auto second = parse_pattern(after);
        if (!second)
            return second.error();
        rule.second = std::move(*second);
        after = rule.second->after;
    }
    rule.result = trim_left(after);
    return rule;
}

Result<CompiledRegex> compile(const std::string& pattern, int cflags) {
    auto re = std::make_unique<regex_t>();
    if (int status = regcomp(re.get(), pattern.c_str(), cflags); status != 0) {
        char text[256];
        regerror(status, re.get(), text, sizeof text);
        return Error(ErrorKind::config, text);
    }
    return CompiledRegex(re.release());
}

struct RegexpRule {
    CompiledRegex regex;
    Replacement result;
    size_t block_end = 0;  // if-blocks: the first rule after the matching endif
    bool negate = false;
    bool is_block = false;
    CompiledRegex second;  // the "!/second/" pattern, when there is one
    bool second_negate = false;
};

class RegexpMap final : public Map {
  public:
    RegexpMap(std::string name, MapFlag flags, std::vector<RegexpRule> rules)
        : Map("regexp", std::move(name), flags, MapKeyKind::pattern), rules_(std::move(rules)) {
        uint64_t most = 0;  // at most some rule's re_nsub
        for (const RegexpRule& rule : rules_)
            most = std::max(most, rule.result.max_group);
        matches_.resize(most + 1);
    }

    void set_file(std::string path, FileIdentity identity) {
        path_ = std::move(path);
        identity_ = identity;
    }

    bool changed_on_disk() const override { return identity_ && identity_->changed(path_); }

  protected:
    Result<std::optional<std::string>> do_lookup(std::string_view key) override {
        size_t i = 0;
        while (i < rules_.size()) {
            const RegexpRule& rule = rules_[i];
            bool matched = execute(rule, key) != rule.negate &&
                           (!rule.second || test(*rule.second, key) != rule.second_negate);
            if (rule.is_block)
                i = matched ? i + 1 : rule.block_end;
            else if (matched)
                return std::optional<std::string>(expand(rule.result, key));
            else
                ++i;
        }
        return std::optional<std::string>();
    }

  private:
    // The whole key is the subject, NUL bytes included (REG_STARTEND); matches_ receives
    // the subexpressions the rule's result uses.
    bool execute(const RegexpRule& rule, std::string_view key) {
        const char* subject = key.data() != nullptr ? key.data() : "";
        matches_[0].rm_so = 0;
        matches_[0].rm_eo = static_cast<regoff_t>(key.size());
        size_t wanted = rule.negate ? 1 : rule.result.max_group + 1;
        return regexec(rule.regex.get(), subject, wanted, matches_.data(), REG_STARTEND) == 0;
    }

    // Whether `regex` (compiled with REG_NOSUB) matches the whole key; matches_ is kept.
    static bool test(const regex_t& regex, std::string_view key) {
        const char* subject = key.data() != nullptr ? key.data() : "";
        regmatch_t whole{0, static_cast<regoff_t>(key.size())};
        return regexec(&regex, subject, 1, &whole, REG_STARTEND) == 0;
    }

    std::string expand(const Replacement& result, std::string_view key) const {
        std::string out;
        for (const ResultPiece& piece : result.pieces) {
            if (piece.group == 0) {
                out += piece.text;
                continue;
            }
            const regmatch_t& match = matches_[piece.group];
            if (match.rm_so >= 0 && match.rm_eo >= match.rm_so)
                out.append(key.substr(static_cast<size_t>(match.rm_so),
                                      static_cast<size_t>(match.rm_eo - match.rm_so)));
        }
        return out;
    }

    std::vector<RegexpRule> rules_;
    std::vector<regmatch_t> matches_;  // scratch, sized for the largest $n in the table
    std::string path_;
    std::optional<FileIdentity> identity_;
};

// Reads the logical lines of one table into rules, collecting Postfix's warnings.
class RegexpParser {
  public:
    RegexpParser(std::string_view name, MapFlag flags) : name_(name), flags_(flags) {}

    // One logical line, trailing white space removed. An empty one (a line that began
    // with a NUL byte) says nothing. A line that starts with a letter or digit is a
    // keyword; anything else starts a pattern.
    void parse(int number, std::string_view text) {
        if (text.empty())
            return;
        if (!leading_word(text).word.empty())
            return parse_keyword(number, text);
        parse_rule(number, text);
    }

    // Closes the blocks left open, innermost first, as Postfix reports them.
    void finish() {
        while (!open_blocks_.empty()) {
            warn(open_blocks_.back().first, "IF has no matching ENDIF");
            close_block();
        }
    }

    std::vector<std::string>& warnings() { return warnings_; }
    std::vector<RegexpRule>& rules() { return rules_; }

  private:
    void warn(int number, const std::string& text) {
        warnings_.push_back("regexp map " + name_ + ", line " + std::to_string(number) + ": " +
                            text);
    }
    void skip(int number, const std::string& text) { warn(number, text + ": skipping this rule"); }

    void close_block() {
        rules_[open_blocks_.back().second].block_end = rules_.size();
        open_blocks_.pop_back();
    }

    void parse_keyword(int number, std::string_view text) {
        LeadingWord word = leading_word(text);
        if (equals_ignore_case(word.word, "if"))
            parse_if(number, word.rest);
        else if (equals_ignore_case(word.word, "endif"))
            parse_endif(number, word.rest);
        else
            warn(number, "ignoring unrecognized request");
    }

    void parse_endif(int number, std::string_view rest) {
        if (open_blocks_.empty())
            return warn(number, "ignoring ENDIF without matching IF");
        if (!trim(rest).empty())
            warn(number, "ignoring extra text after ENDIF");
        close_block();
    }

    void parse_if(int number, std::string_view rest) {
        auto spec = parse_pattern(trim_left(rest));
        if (!spec)
            return skip(number, spec.error().message());
        if (std::string_view extra = trim_left(spec->after); !extra.empty()) {
            // Typically a rule indented under the if, which became part of this line.
            warn(number, "ignoring extra text after IF statement: \"" + std::string(extra) + "\"");
            warn(number, "do not prepend whitespace to statements between IF and ENDIF");
        }
        auto regex = compile(spec->pattern, spec->cflags | REG_NOSUB);
        if (!regex)
            return warn(number, regex.error().message());
        RegexpRule rule;
        rule.regex = std::move(*regex);
        rule.negate = spec->negate;
        rule.is_block = true;
        open_blocks_.emplace_back(number, rules_.size());
        rules_.push_back(std::move(rule));
    }

    void parse_rule(int number, std::string_view text) {
        auto spec = parse_rule_patterns(text);
        if (!spec)
            return skip(number, spec.error().message());
        if (spec->result.empty())
            warn(number, "no replacement text: using empty string");
        ReplacementParse result = parse_replacement(spec->result);
        if (!result.errors.empty()) {
            for (const ReplacementError& error : result.errors) {
                if (error.located)
                    warn(number, error.text);
                else
                    warnings_.push_back(error.text);
            }
            return skip(number, "bad replacement syntax");
        }
        uint64_t max_group = result.replacement.max_group;
        if (spec->first.negate && max_group > 0)
            return skip(number, "$number found in negative match replacement text");
        if (max_group > 0 && has_flag(flags_, MapFlag::no_regsub))
            return skip(number, "regular expression substitution is not allowed");
        RegexpRule rule;
        if (!compile_patterns(number, *spec, max_group, rule))
            return;
        rule.result = std::move(result.replacement);
        rules_.push_back(std::move(rule));
    }

    // Compiles the first pattern, checks $n against its subexpressions, then compiles the
    // second pattern, in Postfix's order; false after a warning.
    bool compile_patterns(int number, const RuleSpec& spec, uint64_t max_group, RegexpRule& rule) {
        auto regex =
            compile(spec.first.pattern, spec.first.cflags | (max_group > 0 ? 0 : REG_NOSUB));
        if (!regex) {
            warn(number, regex.error().message());
            return false;
        }
        if (max_group > (*regex)->re_nsub) {
            skip(number, "out of range replacement index \"" +
                             std::to_string(static_cast<int32_t>(max_group)) + "\"");
            return false;
        }
        rule.regex = std::move(*regex);
        rule.negate = spec.first.negate;
        if (!spec.second)
            return true;
        auto second = compile(spec.second->pattern, spec.second->cflags | REG_NOSUB);
        if (!second) {
            warn(number, second.error().message());
            return false;
        }
        rule.second = std::move(*second);
        rule.second_negate = spec.second->negate;
        return true;
    }

    std::string name_;
    MapFlag flags_ = MapFlag::none;
    std::vector<RegexpRule> rules_;
    std::vector<std::string> warnings_;
    std::vector<std::pair<int, size_t>> open_blocks_;  // line number, rule index
};

}  // namespace

PatternTableBuild build_regexp_map(std::string_view name, std::string_view text, MapFlag flags) {
    RegexpParser parser(name, flags);
    auto warn = [&parser](const std::string& warning) { parser.warnings().push_back(warning); };
    for (const SourceLine& line : table_logical_lines(text, name, warn))
        parser.parse(line.line, trim_right(line.text));
    parser.finish();
    PatternTableBuild build;
    build.map = std::make_unique<RegexpMap>(std::string(name), flags, std::move(parser.rules()));
    build.warnings = std::move(parser.warnings());
    return build;
}

MapOpenResult open_regexp_map(std::string_view name, const MapOpenOptions& options) {
    if (options.access != MapAccess::read_only)
        return Error(ErrorKind::config,
                     "regexp:" + std::string(name) + " map requires O_RDONLY access mode");
    auto source = load_pattern_table("regexp", name);
    if (!source)
        return source.error();
    PatternTableBuild build = build_regexp_map(name, source->text, options.flags);
    for (const std::string& warning : build.warnings)
        log_warning("%s", warning.c_str());
    if (source->identity)
        static_cast<RegexpMap&>(*build.map).set_file(std::string(name), *source->identity);
    return std::move(build.map);
}

}  // namespace postern
