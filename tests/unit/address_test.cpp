// Header addresses (lib/mail/address): the tokenizer and parser, header rebuilding, and
// the internal/external conversions.
//
// The table below came from real Postfix 3.7.11 (Debian's package): each value was sent
// as a To: header with `sendmail -t` into a throwaway instance (myorigin =
// host.example.com, append_dot_mydomain = no), and its queue file read with postcat. The
// internal forms are the original_recipient records (sendmail -t's parse), the header is
// what cleanup wrote after trivial-rewrite appended @host.example.com to each address
// without a domain. The capture script is tests/system/cleanup_golden/capture_addresses.py.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "mail/address.hpp"
#include "mail/header.hpp"

using namespace postern;

namespace {

struct PostfixCase {
    const char* value;
    std::vector<std::string> internal;  // what sendmail -t extracted
    const char* header;                 // what cleanup wrote; "" when not compared
    bool compare_internal;              // false where Postfix removed a duplicate
};

// clang-format off
const std::vector<PostfixCase> kPostfixCases = {
    {"John  Doe <john>, (comment) x , \"a b\"@c", {"john", "x", "a b@c"}, "To: John Doe <john@host.example.com>, x@host.example.com (comment),\n\t\"a b\"@c", true},
    {"group: a, b;", {"a", "b"}, "To: group: a@host.example.com, b@host.example.com;", true},
    {"a b c", {"a", "b", "c"}, "To: a@host.example.com, b@host.example.com, c@host.example.com", true},
    {"John Doe john", {"John", "Doe"}, "To: John@host.example.com, Doe@host.example.com,\n\tjohn@host.example.com", false},
    {"<john(c)>", {"john"}, "To: <john@host.example.com (c)>", true},
    {"\"quoted name\" <q>", {"q"}, "To: \"quoted name\" <q@host.example.com>", true},
    {"<@route1,@route2:user@dom>, r", {"@route1,@route2:user@dom", "r"}, "", true},
    {"a (c1) (c2), b", {"a", "b"}, "To: a@host.example.com (c1) (c2), b@host.example.com", true},
    {"undisclosed-recipients:;", {}, "", true},
    {"a, , b", {"a", "b"}, "To: a@host.example.com, , b@host.example.com", true},
    {"<>, z", {"z"}, "To: <>, z@host.example.com", true},
    // Postfix shows "a <b": its trivial-rewrite puts a space before '<' when it rebuilds
    // the address it rewrote; the rewriting is trivial-rewrite's, not the parser's.
    {"a <b", {"a<b"}, "", true},
    {"a b> c", {"ab", "c"}, "To: ab@host.example.com>, c@host.example.com", true},
    {"\"unbalanced", {"unbalanced"}, "To: unbalanced@host.example.com", true},
    {"u (unbalanced comment", {"u"}, "To: u@host.example.com (unbalanced comment", true},
    {"x\\ y", {"x y"}, "To: \"x y\"@host.example.com", true},
    {"a.b.c", {"a.b.c"}, "To: a.b.c@host.example.com", true},
    {".a", {".a"}, "To: \".a\"@host.example.com", true},
    {"a..b", {"a..b"}, "To: \"a..b\"@host.example.com", true},
    {"\"a\\\"b\"", {"a\"b"}, "To: \"a\\\"b\"@host.example.com", true},
    {"[1.2.3.4]", {"[1.2.3.4]"}, "To: \"[1.2.3.4]\"@host.example.com", true},
    {"J\xc3""\xb6""hn <jo>", {"jo"}, "To: J\xc3""\xb6""hn <jo@host.example.com>", true},
    {"a;b", {"a", "b"}, "To: a@host.example.com;, b@host.example.com", true},
    {"g1: a; g2: b;", {"b"}, "To: g1:a;g2: b@host.example.com;", true},
    {"a:b", {"a:b"}, "To: \"a:b\"@host.example.com", true},
    {"name <a>, name2 <b>", {"a", "b"}, "To: name <a@host.example.com>, name2 <b@host.example.com>", true},
    {"\"x\" y <z>", {"z"}, "To: \"x\" y <z@host.example.com>", true},
    {"Mr. Smith <smith>", {"smith"}, "To: Mr.Smith <smith@host.example.com>", true},
    {"<a> junk", {"a", "junk"}, "To: <a@host.example.com>, junk@host.example.com", true},
    {"a@, w", {"a@", "w"}, "To: a@, w@host.example.com", true},
    {"@b, w", {"@b", "w"}, "To: \"\"@b, w@host.example.com", true},
    {"a\\", {"a"}, "To: a@host.example.com", true},
    {"\"a b\" (c) <d>", {"d"}, "To: \"a b\" (c) <d@host.example.com>", true},
    {"<long> (xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx), other", {"long", "other"}, "To: <long@host.example.com>, other@host.example.com", true},
    {"\"\" <e>", {"e"}, "To: \"\" <e@host.example.com>", true},
    {"a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z,aa,bb,cc,dd,ee,ff", {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "aa", "bb", "cc", "dd", "ee", "ff"}, "To: a@host.example.com, b@host.example.com, c@host.example.com,\n\td@host.example.com, e@host.example.com, f@host.example.com,\n\tg@host.example.com, h@host.example.com, i@host.example.com,\n\tj@host.example.com, k@host.example.com, l@host.example.com,\n\tm@host.example.com, n@host.example.com, o@host.example.com,\n\tp@host.example.com, q@host.example.com, r@host.example.com,\n\ts@host.example.com, t@host.example.com, u@host.example.com,\n\tv@host.example.com, w@host.example.com, x@host.example.com,\n\ty@host.example.com, z@host.example.com, aa@host.example.com,\n\tbb@host.example.com, cc@host.example.com, dd@host.example.com,\n\tee@host.example.com, ff@host.example.com", true},
    {"very-long-name-number-one, very-long-name-number-two, very-long-name-number-three", {"very-long-name-number-one", "very-long-name-number-two", "very-long-name-number-three"}, "To: very-long-name-number-one@host.example.com,\n\tvery-long-name-number-two@host.example.com,\n\tvery-long-name-number-three@host.example.com", true},
    {"(only a comment)", {}, "", true},
    {"<<a>>", {"a>"}, "To: < <\"a>\"@host.example.com>", true},
    {"a <b> c <d>", {"b", "d"}, "To: a <b@host.example.com>c <d@host.example.com>", true},
    {"\"a b\"", {"a b"}, "To: \"a b\"@host.example.com", true},
    {"a,\n\tb", {"a", "b"}, "To: a@host.example.com, b@host.example.com", true},
    {"a%b", {"a%b"}, "", true},
    {"a!b", {"a!b"}, "", true},
    {"\"a(b)\" <c>", {"c"}, "To: \"a(b)\" <c@host.example.com>", true},
    {"phrase <a@b.c>, d", {"a@b.c", "d"}, "To: phrase <a@b.c>, d@host.example.com", true},
    {"a , b ; c", {"a", "b", "c"}, "To: a@host.example.com, b@host.example.com;, c@host.example.com", true},
    {"g: ;, h", {"h"}, "To: g: ;, h@host.example.com", true},
    {"<a@b> (comment) , i", {"a@b", "i"}, "To: <a@b>(comment), i@host.example.com", true},
    {"\"name, with comma\" <nc>", {"nc"}, "To: \"name, with comma\" <nc@host.example.com>", true},
    {"x@y.z", {"x@y.z"}, "To: x@y.z", true},
    {"a  .  b", {"a.b"}, "To: a.b@host.example.com", true},
    {"a.\"b c\"", {"a.b c"}, "To: \"a.b c\"@host.example.com", true},
    {"Name (Comment) <addr>", {"addr"}, "To: Name (Comment) <addr@host.example.com>", true},
};
// clang-format on

// What cleanup does to a To: header when trivial-rewrite qualifies bare addresses: each
// address without '@' gets @host.example.com, and the header is rebuilt only when an
// address changed.
std::string rewrite_like_cleanup(std::string_view value) {
    HeaderAddressList list = HeaderAddressList::parse(value);
    bool changed = false;
    for (size_t i = 0; i < list.size(); ++i) {
        std::string address = list.internal(i);
        if (address.find('@') == std::string::npos) {
            list.replace(i, address + "@host.example.com");
            changed = true;
        }
    }
    std::string header =
        changed ? fold_address_header("To: " + list.externalize()) : "To: " + std::string(value);
    std::string joined;
    for (const std::string& line : header_output_lines(header, 102400)) {
        if (!joined.empty())
            joined += '\n';
        joined += line;
    }
    return joined;
}

}  // namespace

TEST_CASE("header values parse into the addresses Postfix finds", "[address]") {
    for (const PostfixCase& c : kPostfixCases) {
        if (!c.compare_internal)
            continue;
        INFO("value: " << c.value);
        std::vector<std::string> internal;
        for (const ParsedAddress& address : parse_address_list(c.value))
            internal.push_back(address.internal);
        CHECK(internal == c.internal);
    }
}

TEST_CASE("rewritten headers are rebuilt and folded as Postfix's cleanup writes them",
          "[address]") {
    for (const PostfixCase& c : kPostfixCases) {
        if (*c.header == 0)
            continue;
        INFO("value: " << c.value);
        CHECK(rewrite_like_cleanup(c.value) == c.header);
    }
}

TEST_CASE("addresses have internal and external forms", "[address]") {
    auto addresses = parse_address_list("\"John Doe\" <\"john doe\"@example.com>, x@y");
    REQUIRE(addresses.size() == 2);
    CHECK(addresses[0].internal == "john doe@example.com");
    CHECK(addresses[0].external == "\"john doe\"@example.com");
    CHECK(addresses[1].internal == "x@y");
    CHECK(addresses[1].external == "x@y");
}

TEST_CASE("the parse tree keeps phrases and comments outside the address", "[address]") {
    HeaderAddressList list = HeaderAddressList::parse("Name (c) <a@b>");
    REQUIRE(list.size() == 1);
    std::vector<AddressTokenKind> kinds;
    for (size_t index : list.top_level())
        kinds.push_back(list.tokens()[index].kind);
    CHECK(kinds == std::vector<AddressTokenKind>{
                       AddressTokenKind::atom, AddressTokenKind::comment, AddressTokenKind::special,
                       AddressTokenKind::address, AddressTokenKind::special});
    CHECK(list.externalize() == "Name (c) <a@b>");
}

TEST_CASE("internalize and externalize follow quote_822_local", "[address]") {
    struct Case {
        const char* external;
        const char* internal;
    };
    const Case cases[] = {
        {"\"a b\"@example.com", "a b@example.com"},
        {"\"a\\\"b\"@x", "a\"b@x"},
        {"\"a@b\"@c", "a@b@c"},
        {"user@example.com", "user@example.com"},
        {"@r1,@r2:\"a b\"@d", "@r1,@r2:a b@d"},
        {"\".a\"@x", ".a@x"},
        {"\"a..b\"@x", "a..b@x"},
        {"\"\"@x", "@x"},
    };
    for (const Case& c : cases) {
        INFO(c.external);
        CHECK(internalize_address(c.external) == c.internal);
        CHECK(externalize_address(c.internal) == c.external);
    }
    // The domain is left alone, quotes and all; a dangling backslash disappears.
    CHECK(internalize_address("a@\"b\"") == "a@\"b\"");
    CHECK(internalize_address("a\\") == "a");
    // Eight-bit local parts are not quoted (SMTPUTF8 addresses).
    CHECK(externalize_address("j\xc3\xb6rg@example.com") == "j\xc3\xb6rg@example.com");
    CHECK(externalize_address("") == "\"\"");
}

TEST_CASE("a single address is found in SMTP and command-line forms", "[address]") {
    CHECK(parse_single_address("<john@example.com>").internal == "john@example.com");
    CHECK(parse_single_address("\"a b\"@x").internal == "a b@x");
    CHECK(parse_single_address("Name <n@x> (c)").internal == "n@x");
    CHECK(parse_single_address("").internal.empty());
}

TEST_CASE("the token limit bounds the work on a huge header", "[address]") {
    std::string value;
    for (int i = 0; i < 20000; ++i)
        value += "a" + std::to_string(i) + ", ";
    HeaderAddressList list = HeaderAddressList::parse(value, 100);
    CHECK(list.truncated());
    CHECK(list.size() == 50);  // 100 tokens: 50 addresses and their commas
    HeaderAddressList whole = HeaderAddressList::parse(value);
    CHECK(whole.size() == kDefaultAddressTokenLimit / 2);
}

TEST_CASE("replacing an address keeps the rest of the header", "[address]") {
    HeaderAddressList list = HeaderAddressList::parse("\"Doe, John\" <jd>, x (home)");
    REQUIRE(list.size() == 2);
    list.replace(0, "john doe@example.com");
    list.replace(1, "x@example.com");
    CHECK(list.externalize() == "\"Doe, John\" <\"john doe\"@example.com>,\nx@example.com (home)");
    CHECK(list.internal(0) == "john doe@example.com");
}

TEST_CASE("hostile header values never crash the parser", "[address]") {
    std::mt19937 random(12345);
    const std::string alphabet = "ab@.,;:<>()\"\\[] \t\n\x01\xff%!|";
    for (int round = 0; round < 3000; ++round) {
        std::string value;
        size_t length = random() % 80;
        for (size_t i = 0; i < length; ++i)
            value.push_back(alphabet[random() % alphabet.size()]);
        HeaderAddressList list = HeaderAddressList::parse(value, 64);
        for (size_t i = 0; i < list.size(); ++i) {
            std::string internal = list.internal(i);
            list.replace(i, internal + "@x");
        }
        std::string rebuilt = list.externalize();
        CHECK(rebuilt.size() < 64 * 40);
        // The external form of every address reads back as the same internal form.
        for (size_t i = 0; i < list.size(); ++i) {
            std::string internal = list.internal(i);
            CHECK(internalize_address(externalize_address(internal)) == internal);
        }
    }
}
