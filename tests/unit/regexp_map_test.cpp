// regexp: tables (lib/maps/regexp_map). The expected answers and warnings were taken from
// Postfix 3.7.11's postmap -q over the same table text.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "maps/map.hpp"
#include "maps/regexp_map.hpp"

using namespace postern;

namespace {

constexpr const char* kName = "/etc/postfix/access.re";

std::optional<std::string> look(Map& map, std::string_view key) {
    auto found = map.lookup(key);
    REQUIRE(found.ok());
    return *found;
}

struct Case {
    std::string key;
    std::optional<std::string> expected;
};

void check_cases(const char* table, const std::vector<Case>& cases) {
    PatternTableBuild build = build_regexp_map(kName, table);
    for (const Case& c : cases) {
        INFO("key " << c.key);
        CHECK(look(*build.map, c.key) == c.expected);
    }
}

std::string prefix(int line) {
    return std::string("regexp map ") + kName + ", line " + std::to_string(line) + ": ";
}

}  // namespace

TEST_CASE("regexp: the manual's access map example", "[maps]") {
    const char* table =
        "# Disallow sender-specified routing.\n"
        "/[%!@].*[%!@]/       550 Sender-specified routing rejected\n"
        "/^postmaster@/       OK\n"
        "if !/^owner-/\n"
        "/^(.*)-outgoing@(.*)$/  550 Use ${1}@${2} instead\n"
        "endif\n";
    check_cases(table, {{"user%host@example.com", "550 Sender-specified routing rejected"},
                        {"postmaster@example.com", "OK"},
                        {"PostMaster@Example.com", "OK"},
                        {"list-outgoing@example.com", "550 Use list@example.com instead"},
                        {"owner-list-outgoing@example.com", std::nullopt},
                        {"user@example.com", std::nullopt}});
    CHECK(build_regexp_map(kName, table).warnings.empty());
}

TEST_CASE("regexp: substitution forms", "[maps]") {
    check_cases(
        "/^(.*)-outgoing@(.*)$/  Use ${1}@${2} $(1) $1$2 $$ end\n"
        "/^(a)(b)?(c)?$/ [$1][$2][$3]\n"
        "/^(d)$/ ${1}${1}$$$1\n"
        "/^(e)$/ $1-x $1.y $(1)z $(1))\n"
        "/^(f)$/ \\1 \\$1 $$1 $01\n"
        "/^(((((((((((g)))))))))))$/ $10 ${11}\n",
        {{"abc-outgoing@example.com", "Use abc@example.com abc abcexample.com $ end"},
         {"a", "[a][][]"},
         {"ac", "[a][][c]"},
         {"d", "dd$d"},
         {"e", "e-x e.y ez e)"},
         {"f", "\\1 \\f $1 f"},
         {"g", "g g"}});
}

TEST_CASE("regexp: flags toggle case, extended syntax and multi-line mode", "[maps]") {
    check_cases(
        "/^case$/i  sensitive\n"
        "/^CaSe2$/  insensitive\n"
        "/a+b/x  basic-plus\n"
        "/a{2}c/x basic-brace\n"
        "/^line$/m multi\n"
        "/^x.y$/ dot-newline\n"
        "/^start$/ start\n",
        {{"case", "sensitive"},
         {"CASE", std::nullopt},
         {"case2", "insensitive"},
         {"a+b", "basic-plus"},
         {"aab", std::nullopt},
         {"a{2}c", "basic-brace"},
         {"aac", std::nullopt},
         {"first\nline", "multi"},
         {"x\ny", "dot-newline"},
         {"first\nstart", std::nullopt}});
}

TEST_CASE("regexp: any delimiter; a backslash escapes it", "[maps]") {
    check_cases(
        "|y| pipe\n"
        "~z~ tilde\n"
        "\"q\" dquote\n"
        ",r, comma\n"
        "_t_ under\n"
        "{v{ brace\n"
        "(w( paren\n"
        ".a\\.b. dot-escaped\n"
        "/c\\/d/ slash-escaped\n"
        "/a b/ with-space\n",
        {{"y", "pipe"},
         {"z", "tilde"},
         {"q", "dquote"},
         {"r", "comma"},
         {"t", "under"},
         {"v", "brace"},
         {"w", "paren"},
         {"a.b", "dot-escaped"},
         {"axb", std::nullopt},
         {"c/d", "slash-escaped"},
         {"a b", "with-space"}});
}

TEST_CASE("regexp: negation and if/endif", "[maps]") {
    const char* table =
        "!!/f/ double-negation\n"
        "if/g/\n"
        "/g/ in-if-g\n"
        "endif\n"
        "IF /h/\n"
        "/h/ in-if-h\n"
        "ENDIF\n"
        "if !/j/\n"
        "/k/ k-not-j\n"
        "endif\n"
        "if /l/i\n"
        "/L/ l-case-sensitive-if\n"
        "endif\n"
        "if xmx\n"
        "if ! /n/\n"
        "/m/ m-not-n\n"
        "endif\n"
        "endif\n"
        "! /e/ no-e\n";
    check_cases(table, {{"f", "double-negation"},
                        {"g", "in-if-g"},
                        {"h", "in-if-h"},
                        {"k", "k-not-j"},
                        {"jk", "no-e"},
                        {"l", "l-case-sensitive-if"},
                        {"L", "no-e"},
                        {"m", "m-not-n"},
                        {"mn", "no-e"},
                        {"e", std::nullopt}});
    CHECK(build_regexp_map(kName, table).warnings.empty());
}

TEST_CASE("regexp: the two-pattern form /first/!/second/", "[maps]") {
    // Not in regexp_table(5), but Postfix accepts it: the first pattern must match and the
    // second must not ("!!/second/": must).
    check_cases(
        "/(a)/!/b/ [$1]\n"
        "/c/i!/d/i c-not-d\n"
        "/e/!!/f/ e-and-f\n"
        "/k/ !/l/ result-starts-with-bang\n"
        "/m/!/n/!/o/ third-is-result\n",
        {{"a", "[a]"},
         {"A", "[A]"},
         {"ab", std::nullopt},
         {"cD", "c-not-d"},
         {"cd", std::nullopt},
         {"e", std::nullopt},
         {"ef", "e-and-f"},
         {"kl", "!/l/ result-starts-with-bang"},
         {"m", "!/o/ third-is-result"},
         {"mn", std::nullopt}});
    check_cases("!/g/! /h/ neither\n",
                {{"x", "neither"}, {"g", std::nullopt}, {"h", std::nullopt}});
    PatternTableBuild build = build_regexp_map(kName,
                                               "/a/!/(/ $1\n"
                                               "/(/!/(/ x\n"
                                               "/a/!/b/q y\n"
                                               "/a/!\n"
                                               "!/(a)/!/b/ $1\n"
                                               "if /a/!/b/\n"
                                               "endif\n");
    std::vector<std::string> expected = {
        prefix(1) + "out of range replacement index \"1\": skipping this rule",
        prefix(2) + "Unmatched ( or \\(",
        prefix(3) + "unknown regexp option \"q\": skipping this rule",
        prefix(4) + "no regexp: skipping this rule",
        prefix(5) + "$number found in negative match replacement text: skipping this rule",
        prefix(6) + "ignoring extra text after IF statement: \"!/b/\"",
        prefix(6) + "do not prepend whitespace to statements between IF and ENDIF",
    };
    CHECK(build.warnings == expected);
}

TEST_CASE("regexp: a backslash at the end of the line closes the pattern", "[maps]") {
    PatternTableBuild build = build_regexp_map(kName, "/a\\\n");
    std::vector<std::string> expected = {prefix(1) + "no replacement text: using empty string"};
    CHECK(build.warnings == expected);
    CHECK(look(*build.map, "a") == "");
    CHECK(look(*build.map, "b") == std::nullopt);
    PatternTableBuild escaped = build_regexp_map(kName, "/a\\\\\n\\w\\ x\n");
    expected = {prefix(1) + "no closing regexp delimiter \"/\": skipping this rule",
                prefix(2) + "no closing regexp delimiter \"\\\": skipping this rule"};
    CHECK(escaped.warnings == expected);
}

TEST_CASE("regexp: every bad index in a result is reported", "[maps]") {
    PatternTableBuild build = build_regexp_map(kName,
                                               "/(x)/ $a $0 $b ${c\n"
                                               "/(x)/ $0 $00 $1\n"
                                               "/(x)/ $a $ $b\n"
                                               "/(a)/ $1 $99999999999999999999\n"
                                               "/(a)/ $4294967298\n"
                                               "/(a)/ $4294967296\n"
                                               "/(a)/ $4294967297 wraps\n");
    std::vector<std::string> expected = {
        prefix(1) + "non-numeric replacement index \"a\"",
        prefix(1) + "out-of-range replacement index \"0\"",
        prefix(1) + "non-numeric replacement index \"b\"",
        "truncated macro reference: \"$a $0 $b ${c\"",
        prefix(1) + "bad replacement syntax: skipping this rule",
        prefix(2) + "out-of-range replacement index \"0\"",
        prefix(2) + "out-of-range replacement index \"00\"",
        prefix(2) + "bad replacement syntax: skipping this rule",
        prefix(3) + "non-numeric replacement index \"a\"",
        "empty macro name: \"$a $ $b\"",
        prefix(3) + "bad replacement syntax: skipping this rule",
        // Postfix reads indexes with atoi(): they saturate and wrap as a C int.
        prefix(4) + "out of range replacement index \"-1\": skipping this rule",
        prefix(5) + "out of range replacement index \"2\": skipping this rule",
        prefix(6) + "out-of-range replacement index \"4294967296\"",
        prefix(6) + "bad replacement syntax: skipping this rule",
    };
    CHECK(build.warnings == expected);
    CHECK(look(*build.map, "a") == "a wraps");
}

TEST_CASE("regexp: keys are bytes: newlines, NULs, the empty key", "[maps]") {
    PatternTableBuild build = build_regexp_map(kName, "/^(.*)$/ [$1]\n");
    CHECK(look(*build.map, "A\nB") == "[A\nB]");
    CHECK(look(*build.map, "") == "[]");
    // The whole key is the subject, past a NUL byte; '.' does not match NUL (glibc's POSIX
    // syntax), a bracket expression does.
    PatternTableBuild nul =
        build_regexp_map(kName, "/^a(.)b$/ dot\n/^a([^x])b$/ [$1]\n/b$/ tail\n");
    CHECK(look(*nul.map, std::string_view("a\0b", 3)) == std::string("[\0]", 3));
    CHECK(look(*nul.map, std::string_view("x\0b", 3)) == "tail");
    PatternTableBuild anchored = build_regexp_map(kName, "/^ab$/ whole\n");
    CHECK(look(*anchored.map, std::string_view("ab\0", 3)) == std::nullopt);
    CHECK(look(*anchored.map, std::string_view("abc", 2)) == "whole");
}

TEST_CASE("regexp: results and continuation lines", "[maps]") {
    PatternTableBuild build = build_regexp_map(kName,
                                               "/o/\ttab\to\n"
                                               "/p/   p   \n"
                                               "  q\n"
                                               "  # a comment, not a continuation\n"
                                               "/^x$/\n"
                                               "/^y$/iy\n"
                                               "/^z$/ \\\n");
    CHECK(look(*build.map, "o") == "tab\to");
    CHECK(look(*build.map, "p") == "p     q");
    CHECK(look(*build.map, "x") == "");
    CHECK(look(*build.map, "z") == "\\");
    std::vector<std::string> expected = {
        prefix(5) + "no replacement text: using empty string",
        prefix(6) + "unknown regexp option \"y\": skipping this rule",
    };
    CHECK(build.warnings == expected);
}

TEST_CASE("regexp: malformed rules are skipped with Postfix's warnings", "[maps]") {
    const char* table =
        "/(a)/ $2\n"                         // 1
        "/(a)(b)/ ${3}x\n"                   // 2
        "/(/ paren\n"                        // 3
        "/abc\n"                             // 4
        "/abc/q flagq\n"                     // 5
        "abc def\n"                          // 6
        "/x/ ${1\n"                          // 7
        "/x/ ${a}\n"                         // 8
        "/(x)/ $0\n"                         // 9
        "/x/ $\n"                            // 10
        "/x/ ${}\n"                          // 11
        "/(((((((((((x)))))))))))/ ${12}\n"  // 12
        "!/(a)/ $$ cost\n"                   // 13: fine
        "!/(a)/ ${1}\n"                      // 14
        "!/(a)/ $0\n"                        // 15
        "/(a)/ $(a(b)\n"                     // 16
        "/(a)/ ${1?yes}\n"                   // 17
        "/(a)/ $1a\n"                        // 18
        "/(a)/ $00\n"                        // 19
        "/(/ ${\n"                           // 20
        "/a{1/ brace\n"                      // 21
        "\\w\\ bs\n"                         // 22
        "1y1 digit\n"                        // 23
        "!\n"                                // 24
        "/(/\n";                             // 25
    PatternTableBuild build = build_regexp_map(kName, table);
    std::vector<std::string> expected = {
        prefix(1) + "out of range replacement index \"2\": skipping this rule",
        prefix(2) + "out of range replacement index \"3\": skipping this rule",
        prefix(3) + "Unmatched ( or \\(",
        prefix(4) + "no closing regexp delimiter \"/\": skipping this rule",
        prefix(5) + "unknown regexp option \"q\": skipping this rule",
        prefix(6) + "ignoring unrecognized request",
        "truncated macro reference: \"${1\"",
        prefix(7) + "bad replacement syntax: skipping this rule",
        prefix(8) + "non-numeric replacement index \"a\"",
        prefix(8) + "bad replacement syntax: skipping this rule",
        prefix(9) + "out-of-range replacement index \"0\"",
        prefix(9) + "bad replacement syntax: skipping this rule",
        "empty macro name: \"$\"",
        prefix(10) + "bad replacement syntax: skipping this rule",
        "empty macro name: \"${}\"",
        prefix(11) + "bad replacement syntax: skipping this rule",
        prefix(12) + "out of range replacement index \"12\": skipping this rule",
        prefix(14) + "$number found in negative match replacement text: skipping this rule",
        prefix(15) + "out-of-range replacement index \"0\"",
        prefix(15) + "bad replacement syntax: skipping this rule",
        "truncated macro reference: \"$(a(b)\"",
        prefix(16) + "bad replacement syntax: skipping this rule",
        prefix(17) + "non-numeric replacement index \"1?yes\"",
        prefix(17) + "bad replacement syntax: skipping this rule",
        prefix(18) + "non-numeric replacement index \"1a\"",
        prefix(18) + "bad replacement syntax: skipping this rule",
        prefix(19) + "out-of-range replacement index \"00\"",
        prefix(19) + "bad replacement syntax: skipping this rule",
        "truncated macro reference: \"${\"",
        prefix(20) + "bad replacement syntax: skipping this rule",
        prefix(21) + "Unmatched \\{",
        prefix(22) + "no closing regexp delimiter \"\\\": skipping this rule",
        prefix(23) + "ignoring unrecognized request",
        prefix(24) + "no regexp: skipping this rule",
        prefix(25) + "no replacement text: using empty string",
        prefix(25) + "Unmatched ( or \\(",
    };
    CHECK(build.warnings == expected);
    CHECK(look(*build.map, "b") == "$ cost");
    CHECK(look(*build.map, "a") == std::nullopt);
}

TEST_CASE("regexp: if/endif mistakes", "[maps]") {
    const char* table =
        "if /i/ trailing\n"  // 1
        "/x/ a\n"            // 2
        "endif\n"            // 3
        "if /i/trailing\n"   // 4
        "endif\n"            // 5
        "if /a/\n"           // 6
        "endif junk\n"       // 7
        "endif junk\n"       // 8
        "if\n"               // 9
        "if x\n"             // 10
        "if /(/\n"           // 11
        "endif\n"            // 12
        "iffy/m/ x\n"        // 13
        "if /b/\n"           // 14
        "if /c/\n"           // 15
        "/d/ bcd\n";         // 16
    PatternTableBuild build = build_regexp_map(kName, table);
    std::vector<std::string> expected = {
        prefix(1) + "ignoring extra text after IF statement: \"trailing\"",
        prefix(1) + "do not prepend whitespace to statements between IF and ENDIF",
        prefix(4) + "unknown regexp option \"t\": skipping this rule",
        prefix(5) + "ignoring ENDIF without matching IF",
        prefix(7) + "ignoring extra text after ENDIF",
        prefix(8) + "ignoring ENDIF without matching IF",
        prefix(9) + "no regexp: skipping this rule",
        prefix(10) + "no closing regexp delimiter \"x\": skipping this rule",
        prefix(11) + "Unmatched ( or \\(",
        prefix(12) + "ignoring ENDIF without matching IF",
        prefix(13) + "ignoring unrecognized request",
        prefix(15) + "IF has no matching ENDIF",
        prefix(14) + "IF has no matching ENDIF",
    };
    CHECK(build.warnings == expected);
    CHECK(look(*build.map, "ix") == "a");
    CHECK(look(*build.map, "x") == std::nullopt);
    CHECK(look(*build.map, "bcd") == "bcd");
    CHECK(look(*build.map, "cd") == std::nullopt);
}

TEST_CASE("regexp: open_map, files, inline tables, changes", "[maps]") {
    char name[] = "/tmp/regexp_map_test.XXXXXX";
    int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    std::string path = name;
    std::ofstream(path) << "/^(.*)@example\\.com$/ local:$1\n";
    auto map = open_map("regexp:" + path);
    REQUIRE(map.ok());
    CHECK((*map)->key_kind() == MapKeyKind::pattern);
    CHECK(look(**map, "Joe@EXAMPLE.com") == "local:Joe");
    CHECK_FALSE((*map)->changed_on_disk());
    std::ofstream(path, std::ios::trunc) << "/x/ y\n";
    CHECK((*map)->changed_on_disk());
    std::remove(path.c_str());
    CHECK((*map)->changed_on_disk());

    MapOpenOptions write;
    write.access = MapAccess::create;
    auto writable = open_map("regexp:" + path, write);
    REQUIRE_FALSE(writable.ok());
    CHECK(writable.error().message() == "regexp:" + path + " map requires O_RDONLY access mode");

    auto missing = open_map("regexp:" + path);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message() == "open " + path + ": No such file or directory");

    auto inline_map = open_map("regexp:{ {/(a)(b)/ x$2}, {/a/ y},{if /c/}, {/d/ z$$}, {endif} }");
    REQUIRE(inline_map.ok());
    CHECK(look(**inline_map, "ab") == "xb");
    CHECK(look(**inline_map, "a") == "y");
    CHECK(look(**inline_map, "cd") == "z$");
    CHECK(look(**inline_map, "d") == std::nullopt);
    CHECK_FALSE((*inline_map)->changed_on_disk());

    auto empty = open_map("regexp:{}");
    REQUIRE(empty.ok());
    CHECK(look(**empty, "a") == std::nullopt);
    for (auto [spec, message] : std::vector<std::pair<std::string, std::string>>{
             {"regexp:{ /a/ y}", "regexp map: no '{' at start of text in \"/a/\""},
             {"regexp:{ {/b/ y}x }", "regexp map: syntax error after '}' in \"{/b/ y}x\""},
             {"regexp:{ {/b/ y} } ", "regexp map: syntax error after '}' in \"{ {/b/ y} } \""},
             {"regexp:{ {/b/ y", "regexp map: missing '}' in \"{ {/b/ y\""}}) {
        auto broken = open_map(spec);
        REQUIRE_FALSE(broken.ok());
        CHECK(broken.error().message() == message);
    }
}

TEST_CASE("regexp: pattern tables see the key as given", "[maps]") {
    // Map::lookup folds keys only for fixed tables (fold_fixed) unless fold_pattern is set.
    PatternTableBuild build = build_regexp_map(kName, "/^(.*)$/i $1\n", MapFlag::fold_fixed);
    CHECK(look(*build.map, "MiXeD") == "MiXeD");
    PatternTableBuild folded = build_regexp_map(kName, "/^(.*)$/i $1\n", MapFlag::fold_pattern);
    CHECK(look(*folded.map, "MiXeD") == "mixed");
}
