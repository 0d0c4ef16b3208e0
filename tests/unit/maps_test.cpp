// The core of lib/maps: open_map, key folding and UTF-8 rules, the simple types (static,
// inline, fail, unix, texthash), file identity, duplicate keys and lists of tables. The
// expected texts are what Postfix 3.7's postmap prints for the same input.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "maps/casefold.hpp"
#include "maps/map.hpp"
#include "maps/map_list.hpp"
#include "maps/texthash_map.hpp"

using namespace postern;

namespace {

std::unique_ptr<Map> must_open(std::string_view spec, MapOpenOptions options = {}) {
    auto map = open_map(spec, options);
    INFO(spec << ": " << (map.ok() ? "" : map.error().message()));
    REQUIRE(map.ok());
    return std::move(*map);
}

std::string open_error(std::string_view spec, MapOpenOptions options = {}) {
    auto map = open_map(spec, options);
    REQUIRE_FALSE(map.ok());
    return map.error().message();
}

std::optional<std::string> must_lookup(Map& map, std::string_view key) {
    auto value = map.lookup(key);
    INFO(map.spec() << " " << key << ": " << (value.ok() ? "" : value.error().message()));
    REQUIRE(value.ok());
    return *value;
}

// Every entry as "key=value" lines, sorted (hash tables list in no particular order).
std::string listing(Map& map) {
    std::vector<std::string> lines;
    Status status = map.for_each([&](std::string_view key, std::string_view value) {
        lines.push_back(std::string(key) + "=" + std::string(value));
        return Status();
    });
    REQUIRE(status.ok());
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& line : lines)
        out += line + "\n";
    return out;
}

class TempDir {
  public:
    TempDir() {
        char pattern[] = "/tmp/postern-maps-XXXXXX";
        REQUIRE(::mkdtemp(pattern) != nullptr);
        path_ = pattern;
    }
    ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
    std::string file(const std::string& name, const std::string& content) const {
        std::string path = path_ + "/" + name;
        std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
        return path;
    }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// The line for `name` in a colon-separated system file, as the file has it.
std::string system_file_line(const std::string& path, const std::string& name) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(name + ":", 0) == 0)
            return line;
    return {};
}

}  // namespace

// ---- open_map ----

TEST_CASE("open_map: a spec must be type:name, the type registered", "[maps]") {
    struct Case {
        const char* spec;
        const char* message;
    };
    auto c = GENERATE(
        Case{"nocolon", "open dictionary: expecting \"type:name\" form instead of \"nocolon\""},
        Case{":bar", "open dictionary: expecting \"type:name\" form instead of \":bar\""},
        Case{"hash:", "open dictionary: expecting \"type:name\" form instead of \"hash:\""},
        Case{"static:", "open dictionary: expecting \"type:name\" form instead of \"static:\""},
        Case{"foo:bar", "unsupported dictionary type: foo"},
        Case{" inline:{a=b}", "unsupported dictionary type:  inline"});
    CHECK(open_error(c.spec) == c.message);
}

TEST_CASE("map_types lists every type once, sorted", "[maps]") {
    std::vector<std::string> names;
    for (const auto& type : map_types())
        names.emplace_back(type.name);
    CHECK(std::is_sorted(names.begin(), names.end()));
    CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
    for (const char* name : {"static", "inline", "fail", "texthash", "unix"})
        CHECK(find_map_type(name) != nullptr);
    CHECK(find_map_type("pcre") == nullptr);
}

// ---- static: ----

TEST_CASE("static: every key finds the name, braces allow spaces", "[maps]") {
    struct Case {
        const char* spec;
        const char* value;
    };
    auto c =
        GENERATE(Case{"static:OK", "OK"}, Case{"static:x y", "x y"}, Case{"static:{a b}", "a b"},
                 Case{"static:{ a b }", "a b"}, Case{"static:{ {x} }", "{x}"},
                 Case{"static:{}", ""}, Case{"static:}", "}"}, Case{"static:a}", "a}"},
                 Case{"static:smtp:[relay.example]:587", "smtp:[relay.example]:587"});
    auto map = must_open(c.spec);
    CHECK(must_lookup(*map, "anything") == std::optional<std::string>(c.value));
    CHECK(must_lookup(*map, "ROOT") == std::optional<std::string>(c.value));
}

TEST_CASE("static: brace errors and unsupported operations", "[maps]") {
    CHECK(open_error("static:{a b") == "bad static:name syntax: missing '}' in \"{a b\"");
    CHECK(open_error("static:{") == "bad static:name syntax: missing '}' in \"{\"");
    CHECK(open_error("static:{a}b") ==
          "bad static:name syntax: syntax error after '}' in \"{a}b\"");
    CHECK(open_error("static:{a}}") ==
          "bad static:name syntax: syntax error after '}' in \"{a}}\"");
    auto map = must_open("static:x");
    Status listed = map->for_each([](std::string_view, std::string_view) { return Status(); });
    REQUIRE_FALSE(listed.ok());
    CHECK(listed.error().message() == "table static:x: sequence operation is not supported");
    auto removed = map->remove("a");
    REQUIRE_FALSE(removed.ok());
    CHECK(removed.error().message() == "table static:x: delete operation is not supported");
    Status updated = map->update("a", "b");
    REQUIRE_FALSE(updated.ok());
    CHECK(updated.error().message() == "table static:x: update operation is not supported");
    CHECK(updated.error().kind() == ErrorKind::config);
}

// ---- inline: ----

TEST_CASE("inline: entries as Postfix parses them", "[maps]") {
    struct Case {
        const char* spec;
        const char* entries;
    };
    auto c = GENERATE(
        Case{"inline:{a=b, c=d}", "a=b\nc=d\n"}, Case{"inline:{ { a = b c } }", "a=b c\n"},
        Case{"inline:{ {a=b}, {c = d} }", "a=b\nc=d\n"}, Case{"inline:{a=b c=d}", "a=b\nc=d\n"},
        Case{"inline:{a=b,,c=d}", "a=b\nc=d\n"}, Case{"inline:{a=b,}", "a=b\n"},
        Case{"inline:{a=}", "a=\n"}, Case{"inline:{=b}", "=b\n"}, Case{"inline:{a=b=c}", "a=b=c\n"},
        Case{"inline:{a={b}}", "a={b}\n"}, Case{"inline:{a={b c}}", "a={b c}\n"},
        Case{"inline:{a={b}c}", "a={b}c\n"}, Case{"inline:{ {{a=b}} }", "{a=b}\n"},
        // Quotes only group characters of a name; they stay in the key and value.
        Case{"inline:{a=\"b\"}", "a=\"b\"\n"}, Case{"inline:{\"a\"=b}", "\"a\"=b\n"},
        Case{"inline:{ {\"a b\" = c} }", "\"a b\"=c\n"}, Case{"inline:{a\"x\"y=b}", "a\"x\"y=b\n"},
        Case{"inline:{a=\"b}", "a=\"b\n"},
        // Keys fold (fold_fixed is the default); a later entry replaces an earlier one.
        Case{"inline:{A=b,a=c}", "a=c\n"}, Case{"inline:{ {A=x}, {a=y} }", "a=y\n"});
    auto map = must_open(c.spec);
    CHECK(listing(*map) == c.entries);
}

TEST_CASE("inline: syntax errors in Postfix's words", "[maps]") {
    struct Case {
        const char* spec;
        const char* detail;
    };
    auto c = GENERATE(Case{"inline:{}", "bad syntax"}, Case{"inline:{a=b", "bad syntax"},
                      Case{"inline:a=b", "bad syntax"}, Case{"inline:{a=b}x", "bad syntax"},
                      Case{"inline:{{a=b}", "bad syntax"}, Case{"inline:{a=b}}", "bad syntax"},
                      Case{"inline:{a=b}{c=d}", "bad syntax"}, Case{"inline:{ }", "empty table"},
                      Case{"inline:{,}", "empty table"},
                      Case{"inline:{a}", "missing '=' after attribute name"},
                      Case{"inline:{ a = b }", "missing '=' after attribute name"},
                      Case{"inline:{ { a b = c } }", "missing '=' after attribute name"},
                      Case{"inline:{a= b}", "missing '=' after attribute name"},
                      Case{"inline:{\"a=b\"}", "missing '=' after attribute name"},
                      Case{"inline:{a=\"b c\"}", "unbalanced '\"'"},
                      Case{"inline:{\"a b\"=c}", "unbalanced '\"'"},
                      Case{"inline:{ { a\"b = c } }", "unbalanced '\"'"},
                      Case{"inline:{a=b,{}}", "no key found; expected format: key = value"},
                      Case{"inline:{ {a=b}junk }", "syntax error after '}' in \"{a=b}junk\""},
                      Case{"inline:{ {a}=b }", "syntax error after '}' in \"{a}=b\""});
    std::string spec = c.spec;
    std::string expected =
        std::string(c.detail) + ": \"" + spec + "\"; need \"inline:{name=value...}\"";
    if (std::string_view(c.detail) == "bad syntax")
        expected = "bad syntax: \"" + spec + "\"; need \"inline:{name=value...}\"";
    CHECK(open_error(spec) == expected);
}

TEST_CASE("inline: case folding follows the flags", "[maps]") {
    auto folded = must_open("inline:{Key=v}");
    CHECK(must_lookup(*folded, "KEY") == std::optional<std::string>("v"));
    CHECK(must_lookup(*folded, "key") == std::optional<std::string>("v"));
    MapOpenOptions exact;
    exact.flags = MapFlag::none;  // postmap -f
    auto unfolded = must_open("inline:{Key=v}", exact);
    CHECK(must_lookup(*unfolded, "Key") == std::optional<std::string>("v"));
    CHECK_FALSE(must_lookup(*unfolded, "key").has_value());
}

TEST_CASE("inline:, texthash: and unix: are read-only", "[maps]") {
    MapOpenOptions rw;
    rw.access = MapAccess::read_write;
    CHECK(open_error("inline:{a=b}", rw) == "inline:{a=b} map requires O_RDONLY access mode");
    CHECK(open_error("texthash:/etc/passwd", rw) ==
          "texthash:/etc/passwd map requires O_RDONLY access mode");
    CHECK(open_error("unix:passwd.byname", rw) ==
          "unix:passwd.byname map requires O_RDONLY access mode");
    // static: and fail: open for update and refuse each operation instead.
    CHECK(open_map("static:x", rw).ok());
    CHECK(open_map("fail:x", rw).ok());
}

// ---- fail: ----

TEST_CASE("fail: every operation is a temporary error", "[maps]") {
    auto map = must_open("fail:{x y}");
    auto value = map->lookup("a");
    REQUIRE_FALSE(value.ok());
    CHECK(value.error().kind() == ErrorKind::temporary);
    CHECK(value.error().message() == "table fail:{x y}: query error: Application error");
    Status listed = map->for_each([](std::string_view, std::string_view) { return Status(); });
    REQUIRE_FALSE(listed.ok());
    CHECK(listed.error().message() == "table fail:{x y}: sequence error: Application error");
    CHECK_FALSE(map->update("a", "b").ok());
    CHECK_FALSE(map->remove("a").ok());
}

// ---- unix: ----

TEST_CASE("unix: passwd and group lines as the system files hold them", "[maps]") {
    auto passwd = must_open("unix:passwd.byname");
    std::string root = system_file_line("/etc/passwd", "root");
    REQUIRE_FALSE(root.empty());
    CHECK(must_lookup(*passwd, "root") == std::optional<std::string>(root));
    CHECK(must_lookup(*passwd, "ROOT") == std::optional<std::string>(root));  // folded
    CHECK_FALSE(must_lookup(*passwd, "no-such-user-postern").has_value());
    CHECK_FALSE(must_lookup(*passwd, std::string("root\0x", 6)).has_value());

    auto group = must_open("unix:group.byname");
    std::string root_group = system_file_line("/etc/group", "root");
    REQUIRE_FALSE(root_group.empty());
    CHECK(must_lookup(*group, "root") == std::optional<std::string>(root_group));

    MapOpenOptions exact;
    exact.flags = MapFlag::none;
    auto unfolded = must_open("unix:passwd.byname", exact);
    CHECK_FALSE(must_lookup(*unfolded, "ROOT").has_value());

    CHECK(open_error("unix:foo") == "unknown table: unix:foo");
}

// ---- texthash: ----

TEST_CASE("texthash: loads a postmap source, folds keys, keeps the first duplicate", "[maps]") {
    TempDir dir;
    std::string path = dir.file("t",
                                "# c\nKey1 value one\n  continued\nk v1\nk v2\nK v3\n"
                                "[smtp.example.com]:587 user:pw\nkeyonly\n");
    MapOpenOptions options;
    options.flags = options.flags | MapFlag::duplicate_warn;  // as postmap -q opens it
    auto map = must_open("texthash:" + path, options);
    CHECK(listing(*map) == "[smtp.example.com]:587=user:pw\nk=v1\nkey1=value one  continued\n");
    CHECK(must_lookup(*map, "KEY1") == std::optional<std::string>("value one  continued"));
    CHECK_FALSE(must_lookup(*map, "keyonly").has_value());
    CHECK_FALSE(map->changed_on_disk());
}

TEST_CASE("texthash: duplicate keys follow the duplicate flags", "[maps]") {
    struct Case {
        MapFlag flags;
        const char* value;
    };
    auto c = GENERATE(Case{MapFlag::duplicate_warn, "v1"}, Case{MapFlag::duplicate_ignore, "v1"},
                      Case{MapFlag::duplicate_replace, "v3"},
                      Case{MapFlag::duplicate_ignore | MapFlag::duplicate_replace, "v3"});
    MapOpenOptions options;
    options.flags = MapFlag::fold_fixed | c.flags;
    auto map = make_texthash_map("t", "k v1\nk v2\nK v3\n", options, nullptr);
    REQUIRE(map.ok());
    CHECK(must_lookup(**map, "k") == std::optional<std::string>(c.value));
}

TEST_CASE("texthash: a duplicate without a duplicate flag is an error naming the line", "[maps]") {
    MapOpenOptions options;
    options.flags = MapFlag::fold_fixed;
    auto map = make_texthash_map("/etc/postfix/t", "k v1\nx y\nK v3\n", options, nullptr);
    REQUIRE_FALSE(map.ok());
    CHECK(map.error().message() == "/etc/postfix/t, line 3: duplicate entry: \"K\"");
    // Without folding "K" and "k" are different keys.
    options.flags = MapFlag::none;
    CHECK(make_texthash_map("t", "k v1\nK v3\n", options, nullptr).ok());
}

TEST_CASE("texthash: warnings go to the caller", "[maps]") {
    std::vector<std::string> warnings;
    MapOpenOptions options;
    options.flags = options.flags | MapFlag::utf8_keys;
    auto map = make_texthash_map("t", "a b\nbad\xff v\nnovalue\n", options,
                                 [&](const std::string& w) { warnings.push_back(w); });
    REQUIRE(map.ok());
    REQUIRE(warnings.size() == 2);
    CHECK(warnings[0] == "t, line 2: non-UTF-8 input \"bad\xff v\" -- ignoring this line");
    CHECK(warnings[1] == "t, line 3: expected format: key whitespace value -- ignoring this line");
}

TEST_CASE("texthash: a missing file, and a file that changes", "[maps]") {
    TempDir dir;
    auto missing = open_map("texthash:" + dir.path() + "/none");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().kind() == ErrorKind::not_found);
    CHECK(missing.error().message() ==
          "open database " + dir.path() + "/none: No such file or directory");

    std::string path = dir.file("t", "a b\n");
    auto map = must_open("texthash:" + path);
    CHECK_FALSE(map->changed_on_disk());
    dir.file("t.new", "a c\nd e\n");
    REQUIRE(::rename((path + ".new").c_str(), path.c_str()) == 0);  // as postmap replaces
    CHECK(map->changed_on_disk());
    ::unlink(path.c_str());
    CHECK(map->changed_on_disk());
}

// ---- FileIdentity and duplicates ----

TEST_CASE("FileIdentity notices a rewrite, a replacement and a removal", "[maps]") {
    TempDir dir;
    std::string path = dir.file("f", "one\n");
    auto identity = FileIdentity::of_path(path);
    REQUIRE(identity.ok());
    CHECK_FALSE(identity->changed(path));
    dir.file("f", "one two\n");  // in place, longer
    CHECK(identity->changed(path));
    auto again = FileIdentity::of_path(path);
    REQUIRE(again.ok());
    CHECK_FALSE(again->changed(path));
    ::unlink(path.c_str());
    CHECK(again->changed(path));
    auto gone = FileIdentity::of_path(path);
    REQUIRE_FALSE(gone.ok());
    CHECK(gone.error().message() == "stat " + path + ": No such file or directory");
}

TEST_CASE("duplicate_action: replace over ignore over warn over fail", "[maps]") {
    struct Case {
        MapFlag flags;
        DuplicateAction action;
    };
    auto c = GENERATE(
        Case{MapFlag::none, DuplicateAction::fail},
        Case{MapFlag::duplicate_warn, DuplicateAction::warn},
        Case{MapFlag::duplicate_warn | MapFlag::duplicate_ignore, DuplicateAction::ignore},
        Case{MapFlag::duplicate_warn | MapFlag::duplicate_ignore | MapFlag::duplicate_replace,
             DuplicateAction::replace});
    CHECK(duplicate_action(c.flags) == c.action);
}

TEST_CASE("resolve_duplicate: keep, replace, or Postfix's error text", "[maps]") {
    CHECK(*resolve_duplicate(MapFlag::duplicate_replace, "/x.db", "k") == true);
    CHECK(*resolve_duplicate(MapFlag::duplicate_ignore, "/x.db", "k") == false);
    CHECK(*resolve_duplicate(MapFlag::duplicate_warn, "/x.db", "k") == false);
    auto failed = resolve_duplicate(MapFlag::none, "/x.db", "k");
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().message() == "/x.db: duplicate entry: \"k\"");
}

// ---- case folding and UTF-8 ----

TEST_CASE("casefold_utf8 folds as ICU does for Postfix", "[maps]") {
    struct Case {
        const char* in;
        const char* out;
    };
    auto c = GENERATE(Case{"ABC.Example", "abc.example"}, Case{"STRASSE", "strasse"},
                      Case{"STRA\xe1\xba\x9e"
                           "E",
                           "strasse"},  // ẞ
                      Case{"stra\xc3\x9f"
                           "e",
                           "strasse"},  // ß
                      Case{"\xc3\x84"
                           "BC",
                           "\xc3\xa4"
                           "bc"},                                       // Ä
                      Case{"\xce\xa3\xce\x9f\xce\xa6\xce\x8c\xce\xa3",  // ΣΟΦΌΣ
                           "\xcf\x83\xce\xbf\xcf\x86\xcf\x8c\xcf\x83"},
                      Case{"\xc7\x84X", "\xc7\x86x"},                // ǄX
                      Case{"\xf0\x90\x90\x80", "\xf0\x90\x90\xa8"},  // Deseret, 4 bytes
                      Case{"\xef\xac\x81", "fi"},                    // ﬁ ligature
                      Case{"\xe2\x84\xaa", "k"});                    // Kelvin sign
    CHECK(casefold_utf8(c.in) == c.out);
}

TEST_CASE("is_valid_utf8 rejects what Postfix rejects", "[maps]") {
    struct Case {
        std::string_view text;
        bool valid;
    };
    using namespace std::string_view_literals;
    auto c = GENERATE(Case{"plain"sv, true}, Case{"\xc3\xa4"sv, true},
                      Case{"\xf4\x8f\xbf\xbf"sv, true}, Case{""sv, true}, Case{"\0"sv, true},
                      Case{"\xff"sv, false}, Case{"\xc3"sv, false},                  // truncated
                      Case{"\xc0\xaf"sv, false},                                     // overlong
                      Case{"\xe0\x80\xaf"sv, false}, Case{"\xed\xa0\x80"sv, false},  // surrogate
                      Case{"\xf4\x90\x80\x80"sv, false},                             // > U+10FFFF
                      Case{"\x80"sv, false}, Case{"a\xe2\x82"sv, false});
    CHECK(is_valid_utf8(c.text) == c.valid);
}

TEST_CASE("ascii_lowercase leaves non-ASCII bytes alone", "[maps]") {
    CHECK(ascii_lowercase("AbC\xc3\x84") == "abc\xc3\x84");
}

TEST_CASE("Map::lookup with utf8_keys: folding, bad keys and bad values", "[maps]") {
    MapOpenOptions options;
    options.flags = MapFlag::fold_fixed | MapFlag::utf8_keys;
    auto map = must_open(
        "inline:{stra\xc3\x9f"
        "e=v, k=bad\xff}",
        options);
    CHECK(must_lookup(*map, "STRASSE") == std::optional<std::string>("v"));
    // A malformed key is not found; a malformed value cannot be returned.
    CHECK_FALSE(must_lookup(*map, "bad\xff").has_value());
    auto value = map->lookup("k");
    REQUIRE_FALSE(value.ok());
    CHECK(value.error().kind() == ErrorKind::temporary);
    CHECK(value.error().message() ==
          "inline:{stra\xc3\x9f"
          "e=v, k=bad\xff}: key \"k\": non-UTF-8 value \"bad\xff\": "
          "malformed UTF-8 or invalid codepoint");

    // Without utf8_keys only ASCII folds and any bytes pass.
    auto ascii = must_open("inline:{\xc3\x84=v, k=bad\xff}");
    CHECK_FALSE(must_lookup(*ascii, "\xc3\xa4").has_value());
    CHECK(must_lookup(*ascii, "\xc3\x84") == std::optional<std::string>("v"));
    CHECK(must_lookup(*ascii, "K") == std::optional<std::string>("bad\xff"));
}

// ---- MapList ----

TEST_CASE("split_map_specs keeps braces whole", "[maps]") {
    auto specs = split_map_specs(
        " hash:/etc/aliases,texthash:/x  inline:{a=b, {c = d}} ,, "
        "static:{x y}\n\tfail:z");
    REQUIRE(specs.size() == 5);
    CHECK(specs[0] == "hash:/etc/aliases");
    CHECK(specs[1] == "texthash:/x");
    CHECK(specs[2] == "inline:{a=b, {c = d}}");
    CHECK(specs[3] == "static:{x y}");
    CHECK(specs[4] == "fail:z");
    CHECK(split_map_specs(" , ").empty());
}

TEST_CASE("MapList: the first table with the key answers", "[maps]") {
    auto list = MapList::open("virtual_alias_maps", "inline:{a=1}, inline:{a=2, b=3}");
    REQUIRE(list.ok());
    CHECK(list->maps().size() == 2);
    auto a = list->find_answer("A");
    REQUIRE(a.ok());
    REQUIRE(a->has_value());
    CHECK((*a)->value == "1");
    CHECK((*a)->map == list->maps()[0].get());
    CHECK(*list->find("b") == std::optional<std::string>("3"));
    CHECK_FALSE(list->find("c")->has_value());
    CHECK_FALSE(list->changed_table().has_value());
}

TEST_CASE("MapList: an error stops the search, an empty key asks nobody", "[maps]") {
    auto list = MapList::open("transport_maps", "inline:{a=1}, fail:x, static:last");
    REQUIRE(list.ok());
    CHECK(*list->find("a") == std::optional<std::string>("1"));
    auto b = list->find("b");
    REQUIRE_FALSE(b.ok());
    CHECK(b.error().kind() == ErrorKind::temporary);
    CHECK(list->find("")->has_value() == false);
}

TEST_CASE("MapList: an empty value is a configuration error", "[maps]") {
    auto list = MapList::open("canonical_maps", "inline:{a=}");
    REQUIRE(list.ok());
    auto a = list->find("a");
    REQUIRE_FALSE(a.ok());
    CHECK(a.error().kind() == ErrorKind::config);
    CHECK(a.error().message() == "canonical_maps lookup of a returns an empty string result");
}

TEST_CASE("MapList: partial keys skip pattern tables", "[maps]") {
    std::vector<std::unique_ptr<Map>> maps;
    maps.push_back(make_surrogate_map("regexp", "/etc/x", "open /etc/x: No such file"));
    maps.push_back(must_open("static:fixed"));
    MapList list("smtpd_access_maps", std::move(maps));
    auto full = list.find("a.example", KeyForm::full);
    REQUIRE_FALSE(full.ok());
    CHECK(full.error().message() == "regexp:/etc/x is unavailable. open /etc/x: No such file");
    CHECK(*list.find("example", KeyForm::partial) == std::optional<std::string>("fixed"));
}

TEST_CASE("MapList: open failures are errors for tools, stand-ins for daemons", "[maps]") {
    TempDir dir;
    std::string specs = "texthash:" + dir.path() + "/none, static:x";
    auto tool = MapList::open("alias_maps", specs);
    REQUIRE_FALSE(tool.ok());
    CHECK(tool.error().message() ==
          "open database " + dir.path() + "/none: No such file or directory");

    MapListOptions daemon;
    daemon.surrogate_on_open_error = true;
    auto list = MapList::open("alias_maps", specs, daemon);
    REQUIRE(list.ok());
    auto full = list->find("root");
    REQUIRE_FALSE(full.ok());
    CHECK(full.error().kind() == ErrorKind::temporary);
    CHECK(full.error().message() == "texthash:" + dir.path() +
                                        "/none is unavailable. open "
                                        "database " +
                                        dir.path() + "/none: No such file or directory");
    CHECK(*list->find("root", KeyForm::partial) == std::optional<std::string>("x"));
    // An unknown type degrades the same way; a spec that is not type:name never does.
    CHECK(MapList::open("alias_maps", "pcre:/x", daemon).ok());
    auto bad = MapList::open("alias_maps", "static:a, /etc/aliases", daemon);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message() ==
          "open dictionary: expecting \"type:name\" form instead of \"/etc/aliases\"");
}

TEST_CASE("MapList: changed_table names the first table whose file changed", "[maps]") {
    TempDir dir;
    std::string path = dir.file("t", "a b\n");
    auto list = MapList::open("alias_maps", "static:x, texthash:" + path);
    REQUIRE(list.ok());
    CHECK_FALSE(list->changed_table().has_value());
    dir.file("t", "a bc\n");
    CHECK(list->changed_table() == std::optional<std::string>("texthash:" + path));
}
