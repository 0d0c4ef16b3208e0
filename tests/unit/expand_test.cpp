#include <catch2/catch.hpp>

#include <map>

#include "config/expand.hpp"

using namespace postern;

namespace {

class MapSource : public ParameterSource {
  public:
    explicit MapSource(std::map<std::string, std::string, std::less<>> values)
        : values_(std::move(values)) {}
    std::optional<std::string_view> raw_value(std::string_view name) const override {
        auto it = values_.find(name);
        if (it == values_.end())
            return std::nullopt;
        return it->second;
    }

  private:
    std::map<std::string, std::string, std::less<>> values_;
};

const MapSource kSource({
    {"myhostname", "mail.example.com"},
    {"mydomain", "example.com"},
    {"myorigin", "$mydomain"},
    {"empty", ""},
    {"level", "3.6"},
    {"loop_a", "$loop_b"},
    {"loop_b", "x $loop_a"},
});

std::string expand(std::string_view text) {
    auto result = expand_value(text, kSource);
    REQUIRE(result.ok());
    return *result;
}

}  // namespace

TEST_CASE("expansion of names in all bracket styles") {
    struct Case {
        const char* text;
        const char* expected;
    };
    auto c =
        GENERATE(Case{"$myhostname", "mail.example.com"}, Case{"${myhostname}", "mail.example.com"},
                 Case{"$(myhostname)", "mail.example.com"},
                 Case{"localhost.$mydomain, x", "localhost.example.com, x"},
                 Case{"$myorigin", "example.com"}, Case{"a$$b", "a$b"}, Case{"$undefined.x", ".x"},
                 Case{"no macros", "no macros"});
    CHECK(expand(c.text) == c.expected);
}

TEST_CASE("conditional expansion") {
    struct Case {
        const char* text;
        const char* expected;
    };
    auto c =
        GENERATE(Case{"${mydomain?yes}", "yes"}, Case{"${empty?yes}", ""},
                 Case{"${undefined?yes}", ""}, Case{"${mydomain:no}", ""},
                 Case{"${empty:no}", "no"}, Case{"${undefined:no $mydomain}", "no example.com"},
                 Case{"${mydomain?{a $mydomain}:{b}}", "a example.com"},
                 Case{"${empty?{a}:{b}}", "b"}, Case{"${empty:{b}}", "b"});
    CHECK(expand(c.text) == c.expected);
}

TEST_CASE("relational expansion compares numbers, strings and compatibility levels") {
    struct Case {
        const char* text;
        const char* expected;
    };
    auto c = GENERATE(Case{"${{$level} <level {2} ? {subnet} : {host}}", "host"},
                      Case{"${{$level} >=level {3.6} ? {new} : {old}}", "new"},
                      Case{"${{1.10} >level {1.9} ? {yes} : {no}}", "yes"},
                      Case{"${{$mydomain} == {example.com} ? {same}}", "same"},
                      Case{"${{a} != {a} ? {differ} : {equal}}", "equal"},
                      Case{"${{10} > {9}?{big}:{small}}", "big"});
    CHECK(expand(c.text) == c.expected);
}

TEST_CASE("broken macros are errors that quote the reference") {
    struct Case {
        const char* text;
        const char* message;
    };
    auto c = GENERATE(
        Case{"${myhostname", "truncated macro reference: \"${myhostname\""},
        Case{"x $(a", "truncated macro reference: \"$(a\""}, Case{"$", "empty macro name: \"$\""},
        Case{"$-x", "empty macro name: \"$-x\""}, Case{"${}", "empty macro name: \"${}\""},
        Case{"${a b}", "macro name syntax error: \"${a b}\""},
        Case{"${{1} ~ {2}?{x}}", "bad relational expression"},
        Case{"${mydomain?{a}x}", "macro syntax error"});
    auto result = expand_value(c.text, kSource);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind() == ErrorKind::config);
    CHECK_THAT(result.error().message(), Catch::Contains(c.message));
}

TEST_CASE("recursion that never ends is detected and names the parameter") {
    auto result = expand_value("$loop_a", kSource);
    REQUIRE_FALSE(result.ok());
    CHECK_THAT(result.error().message(), Catch::StartsWith("unreasonable macro call nesting"));
}

TEST_CASE("undefined names are reported to the caller") {
    std::vector<std::string> seen;
    ExpandOptions options;
    options.context = &seen;
    options.on_undefined = [](std::string_view name, void* context) {
        static_cast<std::vector<std::string>*>(context)->emplace_back(name);
    };
    auto result = expand_value("$nope ${other?x} $mydomain", kSource, options);
    REQUIRE(result.ok());
    CHECK(seen == std::vector<std::string>{"nope", "other"});
}

TEST_CASE("non-recursive expansion leaves the values of names unexpanded") {
    ExpandOptions options;
    options.recursive = false;
    auto result = expand_value("$myorigin", kSource, options);
    REQUIRE(result.ok());
    CHECK(*result == "$mydomain");
}

TEST_CASE("compatibility levels compare numerically per component") {
    CHECK(compare_compatibility_levels("3.6", "2") > 0);
    CHECK(compare_compatibility_levels("1.10", "1.9") > 0);
    CHECK(compare_compatibility_levels("3.6", "3.6.0") == 0);
    CHECK(compare_compatibility_levels("0", "1") < 0);
}
