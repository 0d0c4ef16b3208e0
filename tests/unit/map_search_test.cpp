// Search orders (lib/maps/search): the keys each order produces, and what a search over
// tables finds, with in-memory tables that record every key they are asked.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "maps/map_list.hpp"
#include "maps/search.hpp"

using namespace postern;

namespace {

// A table that answers from a std::map and records every key it was asked.
class RecordingMap final : public Map {
  public:
    RecordingMap(MapKeyKind kind, std::map<std::string, std::string> entries,
                 std::vector<std::string>& asked)
        : Map(kind == MapKeyKind::fixed ? "fake" : "fakere", "t", MapFlag::fold_fixed, kind),
          entries_(std::move(entries)),
          asked_(asked) {}

  protected:
    Result<std::optional<std::string>> do_lookup(std::string_view key) override {
        asked_.push_back(type() + ":" + std::string(key));
        auto it = entries_.find(std::string(key));
        if (it == entries_.end())
            return std::optional<std::string>();
        return std::optional<std::string>(it->second);
    }

  private:
    std::map<std::string, std::string> entries_;
    std::vector<std::string>& asked_;
};

MapList fixed_list(std::map<std::string, std::string> entries, std::vector<std::string>& asked) {
    std::vector<std::unique_ptr<Map>> maps;
    maps.push_back(std::make_unique<RecordingMap>(MapKeyKind::fixed, std::move(entries), asked));
    return MapList("test_maps", std::move(maps));
}

// "key" for full keys, "~key" for partial ones, "key+ext" when the key lacks an extension,
// "!" when it needs a local domain.
std::string describe(const std::vector<SearchKey>& keys) {
    std::string out;
    for (const SearchKey& key : keys) {
        if (!out.empty())
            out += " ";
        out += key.form == KeyForm::partial ? "~" : "";
        out += key.key;
        if (!key.extension.empty())
            out += "[" + key.extension + "]";
        if (key.needs_local_domain)
            out += "!";
    }
    return out;
}

ExtensionRules plus_rules() {
    ExtensionRules rules;
    rules.delimiters = "+";
    return rules;
}

}  // namespace

TEST_CASE("split_extension: first delimiter, reserved names never split", "[maps]") {
    struct Case {
        const char* delimiters;
        const char* localpart;
        const char* user;
        const char* extension;
    };
    auto c = GENERATE(
        Case{"+", "user+foo", "user", "+foo"}, Case{"+", "user+foo+bar", "user", "+foo+bar"},
        Case{"+", "user", "user", ""}, Case{"", "user+foo", "user+foo", ""},
        Case{"+-", "user-foo+bar", "user", "-foo+bar"}, Case{"+", "user+", "user", "+"},
        // Only the whole name is reserved.
        Case{"+", "postmaster+x", "postmaster", "+x"}, Case{"+", "Postmaster", "Postmaster", ""},
        Case{"-", "MAILER-DAEMON", "MAILER-DAEMON", ""},
        Case{"-", "double-bounce", "double-bounce", ""}, Case{"-", "owner-list", "owner-list", ""},
        Case{"-", "list-request", "list-request", ""}, Case{"-", "-request", "", "-request"},
        Case{"+", "owner+x", "owner", "+x"}, Case{"+-", "list-request", "list-request", ""},
        Case{"-", "joe-x", "joe", "-x"});
    ExtensionRules rules;
    rules.delimiters = c.delimiters;
    SplitLocalpart split = split_extension(c.localpart, rules);
    CHECK(split.user == c.user);
    CHECK(split.extension == c.extension);
}

TEST_CASE("split_extension: owner_request_special = no splits owner- and -request", "[maps]") {
    ExtensionRules rules;
    rules.delimiters = "-";
    rules.owner_request_special = false;
    CHECK(split_extension("owner-list", rules).user == "owner");
    CHECK(split_extension("list-request", rules).extension == "-request");
}

TEST_CASE("address_search_keys: canonical/virtual order", "[maps]") {
    struct Case {
        const char* address;
        bool localpart_keys;
        bool at_domain_key;
        const char* keys;
    };
    auto c = GENERATE(
        Case{"user+foo@example.com", true, true,
             "user+foo@example.com ~user@example.com[+foo] ~user+foo! ~user[+foo]! ~@example.com"},
        Case{"user@example.com", true, true, "user@example.com ~user! ~@example.com"},
        Case{"user+foo@example.com", false, true,
             "user+foo@example.com ~user@example.com[+foo] ~@example.com"},
        Case{"user+foo@example.com", true, false,
             "user+foo@example.com ~user@example.com[+foo] ~user+foo! ~user[+foo]!"},
        Case{"user+foo", true, true, "user+foo ~user[+foo]"},
        Case{"user+foo@", true, true, "user+foo@ ~user@[+foo]"},
        Case{"\"a@b\"@example.com", true, true, "\"a@b\"@example.com ~\"a@b\"! ~@example.com"});
    AddressSearchOptions options;
    options.extension = plus_rules();
    options.localpart_keys = c.localpart_keys;
    options.at_domain_key = c.at_domain_key;
    CHECK(describe(address_search_keys(c.address, options)) == c.keys);
}

TEST_CASE("access_address_keys: access(5) EMAIL ADDRESS PATTERNS order", "[maps]") {
    struct Case {
        const char* address;
        ParentStyle style;
        const char* keys;
    };
    auto c =
        GENERATE(Case{"user+foo@mail.example.com", ParentStyle::bare,
                      "user+foo@mail.example.com ~user@mail.example.com[+foo] ~mail.example.com "
                      "~example.com ~com ~user+foo@ ~user@[+foo]"},
                 Case{"user@mail.example.com", ParentStyle::dot_prefix,
                      "user@mail.example.com ~mail.example.com ~.example.com ~.com ~user@"},
                 Case{"<>", ParentStyle::dot_prefix, "<>"});
    CHECK(describe(access_address_keys(c.address, plus_rules(), c.style)) == c.keys);
}

TEST_CASE("domain_search_keys: parent domains in either style", "[maps]") {
    struct Case {
        const char* domain;
        ParentStyle style;
        KeyForm first;
        const char* keys;
    };
    auto c = GENERATE(
        Case{"a.b.example", ParentStyle::dot_prefix, KeyForm::full,
             "a.b.example ~.b.example ~.example"},
        Case{"a.b.example", ParentStyle::bare, KeyForm::full, "a.b.example ~b.example ~example"},
        Case{"a.b.example", ParentStyle::bare, KeyForm::partial,
             "~a.b.example ~b.example ~example"},
        Case{"localhost", ParentStyle::dot_prefix, KeyForm::full, "localhost"},
        Case{".b.example", ParentStyle::dot_prefix, KeyForm::full, ".b.example ~.example"},
        // The next parent starts after the next dot: "a..b" has ".b" as its only parent.
        Case{"a..b", ParentStyle::bare, KeyForm::full, "a..b ~.b"},
        Case{"", ParentStyle::bare, KeyForm::full, ""});
    CHECK(describe(domain_search_keys(c.domain, c.style, c.first)) == c.keys);
}

TEST_CASE("network_address_keys: octets and IPv6 string truncation", "[maps]") {
    struct Case {
        const char* address;
        const char* keys;
    };
    auto c = GENERATE(Case{"1.2.3.4", "1.2.3.4 ~1.2.3 ~1.2 ~1"},
                      Case{"192.0.2.10", "192.0.2.10 ~192.0.2 ~192.0 ~192"},
                      Case{"2001:db8::1", "2001:db8::1 ~2001:db8: ~2001:db8 ~2001"},
                      Case{"2001:db8:1:2:3:4:5:6",
                           "2001:db8:1:2:3:4:5:6 ~2001:db8:1:2:3:4:5 ~2001:db8:1:2:3:4 "
                           "~2001:db8:1:2:3 ~2001:db8:1:2 ~2001:db8:1 ~2001:db8 ~2001"},
                      // "::1" truncates to ":", then to nothing (never looked up).
                      Case{"::1", "::1 ~:"}, Case{"unknown", "unknown"});
    CHECK(describe(network_address_keys(c.address)) == c.keys);
}

TEST_CASE("parent_style_for reads parent_domain_matches_subdomains", "[maps]") {
    std::string_view list = "debug_peer_list,fast_flush_domains, mynetworks smtpd_access_maps";
    CHECK(parent_style_for("smtpd_access_maps", list) == ParentStyle::bare);
    CHECK(parent_style_for("relay_domains", list) == ParentStyle::dot_prefix);
    CHECK(parent_style_for("smtpd_access_maps", "") == ParentStyle::dot_prefix);
}

TEST_CASE("find_address: first key with an answer wins, extension reported", "[maps]") {
    struct Case {
        std::map<std::string, std::string> entries;
        bool local;
        const char* key;
        const char* extension;
    };
    auto c = GENERATE(
        Case{{{"user+foo@example.com", "full"}, {"user@example.com", "noext"}},
             true,
             "user+foo@example.com",
             ""},
        Case{{{"user@example.com", "noext"}, {"user", "local"}}, true, "user@example.com", "+foo"},
        Case{{{"user+foo", "local-ext"}, {"user", "local"}}, true, "user+foo", ""},
        Case{{{"user", "local"}, {"@example.com", "domain"}}, true, "user", "+foo"},
        Case{{{"user", "local"}, {"@example.com", "domain"}}, false, "@example.com", ""},
        Case{{{"user", "local"}}, false, "", ""});
    std::vector<std::string> asked;
    MapList list = fixed_list(c.entries, asked);
    AddressSearchOptions options;
    options.extension = plus_rules();
    int local_asked = 0;
    options.is_local_domain = [&](std::string_view domain) -> Result<bool> {
        ++local_asked;
        CHECK(domain == "example.com");
        return c.local;
    };
    auto match = find_address(list, "user+foo@example.com", options);
    REQUIRE(match.ok());
    if (std::string_view(c.key).empty()) {
        CHECK_FALSE(match->has_value());
    } else {
        REQUIRE(match->has_value());
        CHECK((*match)->key == c.key);
        CHECK((*match)->value == c.entries.at(c.key));
        CHECK((*match)->extension == c.extension);
    }
    CHECK(local_asked <= 1);
}

TEST_CASE("find_address: the local-domain question is asked only when needed", "[maps]") {
    std::vector<std::string> asked;
    MapList list = fixed_list({{"user@example.com", "x"}}, asked);
    AddressSearchOptions options;
    bool called = false;
    options.is_local_domain = [&](std::string_view) -> Result<bool> {
        called = true;
        return true;
    };
    REQUIRE(find_address(list, "user@example.com", options)->has_value());
    CHECK_FALSE(called);
    // An error from the question stops the search.
    options.is_local_domain = [](std::string_view) -> Result<bool> {
        return Error(ErrorKind::temporary, "mydestination lookup failed");
    };
    auto failed = find_address(list, "other@example.com", options);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().message() == "mydestination lookup failed");
    CHECK(asked == std::vector<std::string>{"fake:user@example.com", "fake:other@example.com"});
}

TEST_CASE("search: each key goes to every table; pattern tables see the full key only", "[maps]") {
    std::vector<std::string> asked;
    std::vector<std::unique_ptr<Map>> maps;
    maps.push_back(std::make_unique<RecordingMap>(MapKeyKind::pattern,
                                                  std::map<std::string, std::string>{}, asked));
    maps.push_back(std::make_unique<RecordingMap>(
        MapKeyKind::fixed, std::map<std::string, std::string>{{"@example.com", "catchall"}},
        asked));
    MapList list("virtual_alias_maps", std::move(maps));
    AddressSearchOptions options;
    options.extension = plus_rules();
    auto match = find_address(list, "User+Foo@Example.COM", options);
    REQUIRE(match.ok());
    REQUIRE(match->has_value());
    CHECK((*match)->value == "catchall");
    // The pattern table got only the first key, unfolded (fold_fixed folds fixed-key
    // tables only); the fixed table got every key, folded.
    CHECK(asked == std::vector<std::string>{"fakere:User+Foo@Example.COM",
                                            "fake:user+foo@example.com", "fake:user@example.com",
                                            "fake:@example.com"});
}

TEST_CASE("find_access_address and find_domain over real tables", "[maps]") {
    auto list = MapList::open("smtpd_access_maps",
                              "inline:{example.com=REJECT, .example.org=OK, user@=DUNNO}");
    REQUIRE(list.ok());
    auto bare = find_access_address(*list, "joe@mail.example.com", plus_rules(), ParentStyle::bare);
    REQUIRE(bare.ok());
    REQUIRE(bare->has_value());
    CHECK((*bare)->value == "REJECT");
    CHECK((*bare)->key == "example.com");
    // Dot style: "example.com" matches only itself, ".example.org" its subdomains.
    auto dotted =
        find_access_address(*list, "joe@mail.example.com", plus_rules(), ParentStyle::dot_prefix);
    REQUIRE(dotted.ok());
    CHECK_FALSE(dotted->has_value());
    auto sub = find_domain(*list, "a.b.example.org", ParentStyle::dot_prefix);
    REQUIRE(sub.ok());
    REQUIRE(sub->has_value());
    CHECK((*sub)->key == ".example.org");
    auto user =
        find_access_address(*list, "user+x@elsewhere.net", plus_rules(), ParentStyle::dot_prefix);
    REQUIRE(user.ok());
    REQUIRE(user->has_value());
    CHECK((*user)->key == "user@");
    CHECK((*user)->extension == "+x");
}

TEST_CASE("find_network_address: the longest prefix that is a key", "[maps]") {
    auto list = MapList::open("check_client_access",
                              "inline:{1.2.3=REJECT, 1.2.3.4=OK, "
                              "2001:db8=OK6}");
    REQUIRE(list.ok());
    struct Case {
        const char* address;
        const char* key;
    };
    auto c = GENERATE(Case{"1.2.3.4", "1.2.3.4"}, Case{"1.2.3.5", "1.2.3"}, Case{"1.2.30.5", ""},
                      Case{"2001:db8::25", "2001:db8"}, Case{"2001:db80::1", ""});
    auto match = find_network_address(*list, c.address);
    REQUIRE(match.ok());
    if (std::string_view(c.key).empty()) {
        CHECK_FALSE(match->has_value());
    } else {
        REQUIRE(match->has_value());
        CHECK((*match)->key == c.key);
    }
}

TEST_CASE("search: a table error ends the search with that error", "[maps]") {
    auto list = MapList::open("smtpd_access_maps", "inline:{x=1}, fail:broken");
    REQUIRE(list.ok());
    auto match = find_domain(*list, "a.example.com", ParentStyle::dot_prefix);
    REQUIRE_FALSE(match.ok());
    CHECK(match.error().kind() == ErrorKind::temporary);
}
