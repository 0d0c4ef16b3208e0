// aliases(5) parsing: names, values, warnings, as /usr/sbin/postalias 3.7.11 stores and
// words them (every expected value below was read back from a Postfix-built database).
#include "maps/aliases_source.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using namespace postern;

namespace {

struct Parsed {
    std::vector<std::pair<std::string, std::string>> entries;
    std::vector<int> lines;
    std::vector<std::string> warnings;
};

Parsed parse(std::string_view text, bool check_utf8 = true) {
    Parsed parsed;
    AliasSourceOptions options;
    options.check_utf8 = check_utf8;
    Status status = parse_aliases(
        text, "aliases", options,
        [&](const AliasEntry& entry) -> Status {
            parsed.entries.emplace_back(entry.name, entry.value);
            parsed.lines.push_back(entry.line);
            return {};
        },
        [&](const std::string& warning) { parsed.warnings.push_back(warning); });
    REQUIRE(status.ok());
    return parsed;
}

using Pair = std::pair<std::string, std::string>;

}  // namespace

TEST_CASE("alias lines: name and value as Postfix stores them", "[maps]") {
    auto [line, name, value] = GENERATE(table<std::string, std::string, std::string>({
        {"postmaster: root", "postmaster", "root"},
        {"Root:   Admin@Example.COM ,  other", "Root", "Admin@Example.COM, other"},
        {"\"a b\": x", "a b", "x"},
        {"\"c:d\" : y", "c:d", "y"},
        {"q\"uo\"ted: v", "q uo ted", "v"},
        {"inc: :include: /etc/postfix/list", "inc", ":include:/etc/postfix/list"},
        {"pipe: \"|/usr/bin/foo bar\", /tmp/file", "pipe", "\"|/usr/bin/foo bar\", /tmp/file"},
        {"x: |cmd arg", "x", "|cmd arg"},
        {"r: b (comment)", "r", "b (comment)"},
        {"s: Joe <x@y>", "s", "Joe <x@y>"},
        {"t: \\root", "t", "root"},
        {"u:b", "u", "b"},
        {"v: b:c", "v", "b:c"},
        {"x2: b . c", "x2", "b.c"},
        {"x4:  b   c", "x4", "b c"},
        {"x5: [1.2.3.4]", "x5", "[1.2.3.4]"},
        {"x6: b,", "x6", "b, "},
        {"x7: ,b", "x7", ", b"},
        {"x8:: b", "x8", ":b"},
        {"x9: (only)", "x9", "(only)"},
        {"k (c): v", "k (c)", "v"},
        {"\"\": e", "", "e"},
        {"a . c: h", "a.c", "h"},
        {"z1: \"x\\\"y\\\\z\"", "z1", "\"x\\\"y\\\\z\""},
        {"z2: \"x\\yz\"", "z2", "\"xyz\""},
        {"z3: a\\ b", "z3", "\"a b\""},
        {"z4: (a (b) c) d", "z4", "(a (b) c) d"},
        {"z5: <a", "z5", "<a"},
        {"z8: (abc", "z8", "(abc"},
        {"z9: \"abc", "z9", "\"abc\""},
        {"y1: \x01"
         "ctl",
         "y1",
         "\"\x01"
         "ctl\""},
        {"y5: [a\\]b]", "y5", "[a]b]"},
        {"y8: a@b . c", "y8", "a@b.c"},
        {"x1: a % b", "x1", "a%b"},
        {"a9: a\\!b", "a9", "\"a!b\""},
        {"b7: a\\#b", "b7", "a#b"},
        {"c1: \"a\tb\"", "c1", "\"a b\""},
        {"b6: [a\\\\b]", "b6", "[a\\\\b]"},
        {"x1: :<a>", "x1", ": <a>"},
        {"x7: <a> b", "x7", "<a>b"},
        {"y7: ,<a>", "y7", ", <a>"},
        {"b1: \\", "b1", ""},
        {"b2: x \\", "b2", "x "},
        {"[a]b]: x", "[a] b]", "x"},
        {"\"a\" \"b\": x", "a b", "x"},
        {"[a\\\\b]: y1", "[a\\b]", "y1"},
        {"<a:b>: c", "<a", "b>:c"},
        {"\\@a: b", "@a", "b"},
        {"\"a%b\": c", "a%b", "c"},
        {"e:,", "e", ", "},
        {"q5: a\x0b"
         "b",
         "q5",
         "\"a\x0b"
         "b\""},
    }));
    CAPTURE(line);
    Result<AliasEntry> entry = parse_alias_line(line);
    REQUIRE(entry.ok());
    CHECK(entry->name == name);
    CHECK(entry->value == value);
}

TEST_CASE("alias lines that Postfix refuses", "[maps]") {
    auto [line, problem] = GENERATE(table<std::string, std::string>({
        {"nocolon value", "need name:value pair"},
        {"a:", "need name:value pair"},
        {": value", "need name:value pair"},
        {"x1, y1: c", "need name:value pair"},
        {"a,: b", "need name:value pair"},
        {"\"unterminated: z", "need name:value pair"},
        {"\\: x9", "need name:value pair"},
        {"a@b: c", "name must be local"},
        {"a%b: c", "name must be local"},
        {"@: x", "name must be local"},
        {"x%: y", "name must be local"},
    }));
    CAPTURE(line);
    Result<AliasEntry> entry = parse_alias_line(line);
    REQUIRE_FALSE(entry.ok());
    CHECK(entry.error().message() == problem);
}

TEST_CASE("alias files: continuation lines, comments and line numbers", "[maps]") {
    Parsed parsed = parse(
        "# comment\n"
        "list: one,\n"
        "   two,\n"
        "\tthree\n"
        "noval:\n"
        "   # indented comment\n"
        " cont\n"
        "a: b\n"
        "# c\n"
        " d\n"
        "e: f\n"
        "\n"
        " g\n"
        "\x0bv: continued by a vertical tab\n"
        "last: n");
    CHECK(parsed.entries == std::vector<Pair>{{"list", "one, two, three"},
                                              {"noval", "cont"},
                                              {"a", "b d"},
                                              {"e", "f \"g\x0bv\":continued by a vertical tab"},
                                              {"last", "n"}});
    CHECK(parsed.lines == std::vector<int>{2, 5, 8, 11, 15});
    CHECK(parsed.warnings.empty());
}

TEST_CASE("alias files: warnings name the file and the first line", "[maps]") {
    Parsed parsed = parse(
        "  lead: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
        "  more\n"
        "z: q\n"
        "nocolon\n"
        " b\n"
        " c\n"
        "x@y: q\n"
        "  r\n");
    CHECK(parsed.entries == std::vector<Pair>{{"z", "q"}});
    CHECK(parsed.warnings == std::vector<std::string>{
                                 "aliases: logical line must not start with whitespace: \"  lead: "
                                 "xxxxxxxxxxxxxxxxxxxxxx...\"",
                                 "aliases, line 4: need name:value pair",
                                 "aliases, line 7: name must be local",
                             });
}

TEST_CASE("alias files: a short line that starts with white space is quoted whole", "[maps]") {
    Parsed parsed = parse("  lead: xxxxxxxxxxxxxxxxxxxxxx\n");
    CHECK(parsed.entries.empty());
    CHECK(parsed.warnings ==
          std::vector<std::string>{"aliases: logical line must not start with whitespace: \"  "
                                   "lead: xxxxxxxxxxxxxxxxxxxxxx\""});
}

TEST_CASE("alias files: a logical line ends at its first NUL", "[maps]") {
    using namespace std::string_literals;
    Parsed parsed = parse("a: b\0c\n d\ne: f\n \0x\n g\n\0abc\nh: i\n"s);
    CHECK(parsed.entries == std::vector<Pair>{{"a", "b"}, {"e", "f"}, {"h", "i"}});
    CHECK(parsed.warnings.empty());
}

TEST_CASE("alias files: UTF-8 checks as Postfix makes them", "[maps]") {
    using namespace std::string_literals;
    SECTION("a malformed line is skipped and quoted") {
        Parsed parsed = parse("m2: a\x80\nok: caf\xc3\xa9\n");
        CHECK(parsed.entries == std::vector<Pair>{{"ok", "caf\xc3\xa9"}});
        CHECK(parsed.warnings ==
              std::vector<std::string>{"aliases, line 1: non-UTF-8 input \"m2: a\x80\" -- "
                                       "ignoring this line"});
    }
    SECTION("overlong forms, surrogates and code points above U+10FFFF are malformed") {
        Parsed parsed =
            parse("a: \xc0\x80\nb: \xed\xa0\x80\nc: \xf4\x90\x80\x80\nd: \xef\xbf\xbf\n");
        CHECK(parsed.entries == std::vector<Pair>{{"d", "\xef\xbf\xbf"}});
        CHECK(parsed.warnings.size() == 3);
    }
    SECTION("bytes after a NUL count only when the line is not plain ASCII before it") {
        Parsed parsed = parse("a: b\0\x80\nc: \xc3\xa9\0\x80\n\0\x80\n"s);
        CHECK(parsed.entries == std::vector<Pair>{{"a", "b"}});
        CHECK(parsed.warnings ==
              std::vector<std::string>{
                  "aliases, line 2: non-UTF-8 input \"c: \xc3\xa9\" -- ignoring this line",
                  "aliases, line 3: non-UTF-8 input \"\" -- ignoring this line"});
    }
    SECTION("without the check (postalias -u) any byte is kept") {
        Parsed parsed = parse("m2: a\x80\n", false);
        CHECK(parsed.entries == std::vector<Pair>{{"m2", "a\x80"}});
        CHECK(parsed.warnings.empty());
    }
}

TEST_CASE("alias files: duplicates are the table's business", "[maps]") {
    Parsed parsed = parse("dup: first\nDUP: second\n");
    CHECK(parsed.entries == std::vector<Pair>{{"dup", "first"}, {"DUP", "second"}});
}

TEST_CASE("alias files: the visitor's error stops the parse", "[maps]") {
    int seen = 0;
    Status status = parse_aliases(
        "a: 1\nb: 2\nc: 3\n", "aliases", {},
        [&](const AliasEntry& entry) -> Status {
            ++seen;
            if (entry.name == "b")
                return Error(ErrorKind::io, "disk full");
            return {};
        },
        nullptr);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().message() == "disk full");
    CHECK(seen == 2);
}
