#include <catch2/catch.hpp>

#include "config/main_cf.hpp"

using namespace postern;

TEST_CASE("main.cf: assignments, comments, blank lines and continuation lines") {
    const char* text =
        "# a comment\n"
        "myhostname = mail.example.com   \n"
        "\n"
        "mydestination = $myhostname,\n"
        "    localhost.$mydomain\n"
        "  # an indented comment does not end the logical line\n"
        "\tlocalhost\n"
        "relayhost=[smtp.example.com]:587\n"
        "empty =\n";
    auto parsed = parse_main_cf(text, "/etc/postfix/main.cf");
    REQUIRE(parsed.ok());
    REQUIRE(parsed->entries.size() == 4);
    CHECK(parsed->entries[0].name == "myhostname");
    CHECK(parsed->entries[0].value == "mail.example.com");
    CHECK(parsed->entries[0].line == 2);
    CHECK(parsed->entries[1].value == "$myhostname, localhost.$mydomain localhost");
    CHECK(parsed->entries[1].line == 4);
    CHECK(parsed->entries[2].value == "[smtp.example.com]:587");
    CHECK(parsed->entries[3].value.empty());
    CHECK(parsed->warnings.empty());
}

TEST_CASE("main.cf: a line without '=' names the file and the line") {
    auto parsed = parse_main_cf("a = 1\n\nfoo\n", "/x/main.cf");
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().message() ==
          "/x/main.cf, line 3: missing '=' after attribute name: \"foo\"");
    CHECK(parsed.error().kind() == ErrorKind::config);
}

TEST_CASE("main.cf: other malformed lines") {
    CHECK(parse_main_cf("= value\n", "m").error().message() ==
          "m, line 1: missing attribute name: \"= value\"");
    CHECK(parse_main_cf("two words = x\n", "m").error().message() ==
          "m, line 1: missing '=' after attribute name: \"two words = x\"");
}

TEST_CASE("main.cf: a first line that starts with white space is a warning") {
    auto parsed = parse_main_cf("  lead = 1\n", "m");
    REQUIRE(parsed.ok());
    REQUIRE(parsed->warnings.size() == 1);
    CHECK(parsed->warnings[0] == "m: logical line must not start with whitespace: \"  lead = 1\"");
    CHECK(parsed->entries[0].name == "lead");
}

TEST_CASE("main.cf: text without a final newline and with CR LF endings") {
    auto parsed = parse_main_cf("a = 1\r\nb = 2", "m");
    REQUIRE(parsed.ok());
    REQUIRE(parsed->entries.size() == 2);
    CHECK(parsed->entries[0].value == "1");
    CHECK(parsed->entries[1].value == "2");
}
