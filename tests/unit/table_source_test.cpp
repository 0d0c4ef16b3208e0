// postmap's source format (lib/maps/table_source): cases observed with Postfix 3.7's
// `postmap -s texthash:FILE`, each with the entries and the warnings Postfix gives.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "maps/table_source.hpp"

using namespace postern;
using namespace std::string_view_literals;

namespace {

struct Parsed {
    std::vector<TableSourceEntry> entries;
    std::vector<std::string> warnings;
};

Parsed parse(std::string_view text, bool check_utf8 = false) {
    Parsed parsed;
    TableSourceOptions options;
    options.check_utf8 = check_utf8;
    Status status = parse_table_source(
        text, "/etc/postfix/t", options,
        [&](const TableSourceEntry& entry) {
            parsed.entries.push_back(entry);
            return Status();
        },
        [&](const std::string& warning) { parsed.warnings.push_back(warning); });
    REQUIRE(status.ok());
    return parsed;
}

std::string joined(const Parsed& parsed) {
    std::string out;
    for (const auto& entry : parsed.entries)
        out += std::to_string(entry.line) + ":[" + entry.key + "][" + entry.value + "]";
    return out;
}

}  // namespace

TEST_CASE("table source: key, white space, value per logical line", "[maps]") {
    struct Case {
        std::string_view text;
        const char* entries;
    };
    auto c = GENERATE(
        Case{"a b\n", "1:[a][b]"}, Case{"a   b c  \n", "1:[a][b c]"}, Case{"a\tb\r\n", "1:[a][b]"},
        Case{"last nolf", "1:[last][nolf]"}, Case{"# comment\n\n   \nk v\n", "4:[k][v]"},
        // Continuations are appended as they are: the white space inside stays.
        Case{"Key1   value one  \n  continued here\n", "1:[Key1][value one    continued here]"},
        // Comments and blank lines inside a logical line do not end it.
        Case{"a b\n# c\n d\n  \t\ne f\n", "1:[a][b d]5:[e][f]"},
        Case{"k: \n\n  v\n  w\n", "1:[k:][v  w]"},
        // postmap keeps what sasl_passwd needs: brackets, colons, '@' in the value.
        Case{"[smtp.example.com]:587 user@example.com:pw\n",
             "1:[[smtp.example.com]:587][user@example.com:pw]"},
        // A NUL byte hides the rest of its logical line.
        Case{"a b\0c d\ne f\n"sv, "1:[a][b]2:[e][f]"},
        // Only space, tab, CR and LF end a key; a form feed is part of it.
        Case{"a\fb c\n", "1:[a\fb][c]"});
    CHECK(joined(parse(c.text)) == c.entries);
}

TEST_CASE("table source: lines without a value are skipped with Postfix's warning", "[maps]") {
    Parsed parsed = parse("keyonly\nk v\nx \n");
    CHECK(joined(parsed) == "2:[k][v]");
    REQUIRE(parsed.warnings.size() == 2);
    CHECK(parsed.warnings[0] ==
          "/etc/postfix/t, line 1: expected format: key whitespace value -- ignoring this line");
    CHECK(parsed.warnings[1] ==
          "/etc/postfix/t, line 3: expected format: key whitespace value -- ignoring this line");
}

TEST_CASE("table source: a key with a trailing colon is kept, with the alias-file hint", "[maps]") {
    Parsed parsed = parse("alias: target\n");
    CHECK(joined(parsed) == "1:[alias:][target]");
    REQUIRE(parsed.warnings.size() == 1);
    CHECK(parsed.warnings[0] ==
          "/etc/postfix/t, line 1: record is in \"key: value\" format; "
          "is this an alias file?");
    // Without a value the format warning wins, as in Postfix.
    Parsed bare = parse("abc:\n");
    REQUIRE(bare.warnings.size() == 1);
    CHECK(bare.warnings[0].find("expected format") != std::string::npos);
}

TEST_CASE("table source: a logical line may not start with white space", "[maps]") {
    Parsed parsed = parse("  lead value\n  more\nk v\n");
    CHECK(joined(parsed) == "3:[k][v]");
    REQUIRE(parsed.warnings.size() == 1);
    CHECK(parsed.warnings[0] ==
          "/etc/postfix/t: logical line must not start with whitespace: \"  lead value  more\"");
    // Long lines are quoted to 30 characters.
    Parsed longer = parse("  abcdefghij abcdefghij abcdefghij abcdefghij\n");
    REQUIRE(longer.warnings.size() == 1);
    CHECK(longer.warnings[0] ==
          "/etc/postfix/t: logical line must not start with whitespace: "
          "\"  abcdefghij abcdefghij abcdef...\"");
}

TEST_CASE("table source: with smtputf8, malformed UTF-8 lines are skipped", "[maps]") {
    std::string text = "\xc3\xa4\x62\x63 v1\nbad\xffkey v2\nk bad\xffval\n";
    Parsed checked = parse(text, true);
    CHECK(joined(checked) == "1:[\xc3\xa4\x62\x63][v1]");
    REQUIRE(checked.warnings.size() == 2);
    CHECK(checked.warnings[0] ==
          "/etc/postfix/t, line 2: non-UTF-8 input \"bad\xffkey v2\" -- "
          "ignoring this line");
    Parsed unchecked = parse(text, false);
    CHECK(unchecked.entries.size() == 3);
    CHECK(unchecked.warnings.empty());
}

TEST_CASE("table source: an error from the visitor stops the parse", "[maps]") {
    int seen = 0;
    Status status = parse_table_source(
        "a 1\nb 2\nc 3\n", "t", {},
        [&](const TableSourceEntry& entry) {
            ++seen;
            if (entry.key == "b")
                return Status(Error(ErrorKind::config, "stop at b"));
            return Status();
        },
        nullptr);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().message() == "stop at b");
    CHECK(seen == 2);
}

TEST_CASE("table_logical_lines numbers each logical line by its first line", "[maps]") {
    std::vector<std::string> warnings;
    auto lines = table_logical_lines("a\n b\n\n#x\nc\n  d\n", "f",
                                     [&](const std::string& w) { warnings.push_back(w); });
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].line == 1);
    CHECK(lines[0].text == "a b");
    CHECK(lines[1].line == 5);
    CHECK(lines[1].text == "c  d");
    CHECK(warnings.empty());
}
