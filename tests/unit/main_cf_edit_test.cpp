// Before/after texts for postconf -e, -X and -#. The expected texts are what Postfix 3.7
// writes for the same input (except where a case says otherwise).
#include <catch2/catch.hpp>

#include "config/main_cf_edit.hpp"

using namespace postern;

namespace {

struct EditCase {
    const char* what;
    const char* before;
    MainCfEditAction action;
    std::vector<MainCfEdit> edits;
    const char* after;
};

const MainCfEditAction kSet = MainCfEditAction::set;
const MainCfEditAction kRemove = MainCfEditAction::remove;
const MainCfEditAction kCommentOut = MainCfEditAction::comment_out;

}  // namespace

TEST_CASE("main.cf editing keeps everything but the edited logical lines") {
    auto c = GENERATE(
        EditCase{"replace in place, continuation lines included",
                 "# head\na = 1\n  cont\n\tmore\nb = 2\n",
                 kSet,
                 {{"a", "9"}},
                 "# head\na = 9\nb = 2\n"},
        EditCase{"append a new name", "a = 1\n", kSet, {{"c", "x y"}}, "a = 1\nc = x y\n"},
        EditCase{"append in the order given",
                 "a = 1\n",
                 kSet,
                 {{"z", "1"}, {"y", "2"}},
                 "a = 1\nz = 1\ny = 2\n"},
        EditCase{
            "empty value keeps the space after =", "a = 1\n", kSet, {{"c", ""}}, "a = 1\nc = \n"},
        EditCase{"name=value spelling in the file",
                 "a=1\nb\t= 2\n",
                 kSet,
                 {{"a", "3"}, {"b", "4"}},
                 "a = 3\nb = 4\n"},
        EditCase{"every entry of a duplicated name",
                 "a = 1\nb = 2\na = 3\n",
                 kSet,
                 {{"a", "5"}},
                 "a = 5\nb = 2\na = 5\n"},
        EditCase{"comments and blank lines inside a logical line stay",
                 "a = 1\n# c\n\n  cont\nb = 2\n",
                 kSet,
                 {{"a", "9"}},
                 "a = 9\n# c\n\nb = 2\n"},
        EditCase{"an indented comment is a comment",
                 "a = 1\n  # note\nb = 2\n",
                 kSet,
                 {{"a", "9"}},
                 "a = 9\n  # note\nb = 2\n"},
        EditCase{"a leading continuation line belongs to nobody",
                 "  lead\nc = e\n",
                 kSet,
                 {{"c", "2"}},
                 "  lead\nc = 2\n"},
        EditCase{
            "other lines keep their CR LF", "a=1\r\nb=2\r\n", kSet, {{"a", "3"}}, "a = 3\nb=2\r\n"},
        EditCase{"the last line without newline is replaced with one",
                 "a = 1\nb = 2",
                 kSet,
                 {{"b", "9"}},
                 "a = 1\nb = 9\n"},
        // Postfix writes "b = 2c = 9" here; Postern adds the missing newline first.
        EditCase{"append after a last line without newline",
                 "a = 1\nb = 2",
                 kSet,
                 {{"c", "9"}},
                 "a = 1\nb = 2\nc = 9\n"},
        EditCase{"append to an empty file", "", kSet, {{"c", "9"}}, "c = 9\n"},
        EditCase{"the last value given wins", "a = 1\n", kSet, {{"a", "2"}, {"a", "3"}}, "a = 3\n"},
        EditCase{"a malformed line is copied",
                 "c d = e\n  x\n=5\n  y\n",
                 kSet,
                 {{"c", "1"}},
                 "c = 1\n=5\n  y\n"},
        EditCase{
            "remove", "a = 1\n  c\n# x\n\tc2\nb = 2\na=3\n", kRemove, {{"a", ""}}, "# x\nb = 2\n"},
        EditCase{"remove a name that is not there", "a = 1\n", kRemove, {{"zz", ""}}, "a = 1\n"},
        EditCase{"remove the last line without newline",
                 "a = 1\nb = 2",
                 kRemove,
                 {{"b", ""}},
                 "a = 1\n"},
        EditCase{"comment out",
                 "a = 1\n  c\n# x\n\tc2\n\nb = 2\na=3\n",
                 kCommentOut,
                 {{"a", ""}},
                 "#a = 1\n#  c\n# x\n#\tc2\n\nb = 2\n#a=3\n"},
        EditCase{"comment out appends nothing", "a = 1\n", kCommentOut, {{"zz", ""}}, "a = 1\n"});
    INFO(c.what);
    CHECK(edit_main_cf(c.before, c.action, c.edits).text == c.after);
}

TEST_CASE("main.cf editing reports names with more than one entry, once each") {
    auto result = edit_main_cf("a = 1\nb = 1\na = 2\nb = 2\na = 3\nc = 1\n", kSet,
                               {{"c", "2"}, {"b", "3"}, {"a", "4"}});
    CHECK(result.multiple_entries == std::vector<std::string>{"a", "b"});
    CHECK(edit_main_cf("a = 1\n", kRemove, {{"a", ""}}).multiple_entries.empty());
}

TEST_CASE("postconf -e arguments") {
    struct Case {
        const char* argument;
        const char* name;
        const char* value;
    };
    auto c = GENERATE(Case{"a=1", "a", "1"}, Case{"a = 1", "a", "1"},
                      Case{" c = e  f ", "c", "e  f"}, Case{"c==e", "c", "=e"}, Case{"c=", "c", ""},
                      Case{"c =", "c", ""}, Case{"a/b=1", "a/b", "1"});
    auto edit = parse_edit_assignment(c.argument);
    REQUIRE(edit.ok());
    CHECK(edit->name == c.name);
    CHECK(edit->value == c.value);
}

TEST_CASE("postconf -e argument errors quote the whole argument") {
    CHECK(parse_edit_assignment("c").error().message() ==
          "missing '=' after attribute name: \"c\"");
    CHECK(parse_edit_assignment("b c=4").error().message() ==
          "missing '=' after attribute name: \"b c=4\"");
    CHECK(parse_edit_assignment("=5").error().message() == "missing attribute name: \"=5\"");
}

TEST_CASE("the line postconf -e writes") {
    CHECK(format_main_cf_line("a", "b c") == "a = b c");
    CHECK(format_main_cf_line("a", "") == "a = ");
}
