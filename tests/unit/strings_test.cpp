#include <catch2/catch.hpp>

#include "util/strings.hpp"

using namespace postern;

TEST_CASE("trim removes white space at both ends") {
    CHECK(trim("  a b \t\n") == "a b");
    CHECK(trim("   ").empty());
    CHECK(trim("") == "");
}

TEST_CASE("split_list splits on commas and white space and drops empty items") {
    auto parts = split_list(" a, b,,c\td ,");
    REQUIRE(parts.size() == 4);
    CHECK(parts[0] == "a");
    CHECK(parts[3] == "d");
    CHECK(split_list(" ,, ").empty());
}

TEST_CASE("parse_boolean accepts yes and no in any case, and nothing else") {
    CHECK(*parse_boolean("yes") == true);
    CHECK(*parse_boolean("NO") == false);
    CHECK_FALSE(parse_boolean("true").ok());
    CHECK_FALSE(parse_boolean("").ok());
}

TEST_CASE("parse_integer rejects trailing junk and overflow") {
    CHECK(*parse_integer("42") == 42);
    CHECK(*parse_integer("-7") == -7);
    CHECK_FALSE(parse_integer("4x").ok());
    CHECK_FALSE(parse_integer("").ok());
    CHECK_FALSE(parse_integer("99999999999999999999999").ok());
}

TEST_CASE("parse_time applies units and the default unit") {
    struct Case {
        const char* text;
        char unit;
        int64_t seconds;
    };
    auto c = GENERATE(Case{"10", 's', 10}, Case{"10s", 'd', 10}, Case{"2m", 's', 120},
                      Case{"1h", 's', 3600}, Case{"5d", 's', 432000}, Case{"1w", 's', 604800},
                      Case{"3", 'd', 259200});
    CHECK(*parse_time(c.text, c.unit) == c.seconds);
}

TEST_CASE("parse_time rejects bad units, negative values and overflow") {
    auto text = GENERATE("1x", "-1s", "s", "", "99999999999999999w");
    CHECK_FALSE(parse_time(text).ok());
}
