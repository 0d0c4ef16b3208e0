// Attribute lists and their frames (lib/ipc/attr.hpp): round trips, the exact wire bytes,
// every limit, truncation at every byte, garbage, and reading against a schema.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "ipc/attr.hpp"

using namespace postern;
using namespace std::string_literals;

namespace {

// A list with one attribute of every type, binary bytes included.
AttrList every_type() {
    AttrList list;
    list.add_int("status", -42)
        .add_string("sender", "user\0@example.com"s)
        .add_hash("macros",
                  AttrHash{{"{daemon_name}", "smtpd"}, {"\0key"s, "\xff\x00v"s}, {"", ""}})
        .add_data("content", "Subject: x\r\n\r\nbody\0\xff"s);
    return list;
}

std::string encoded(const AttrList& list, const AttrLimits& limits = {}) {
    auto frame = encode_attr_frame(list, limits);
    REQUIRE(frame.ok());
    return *frame;
}

// A frame around hand-written payload bytes.
std::string frame_of(const std::string& payload) {
    std::string frame = "\x01"s;
    auto size = static_cast<uint32_t>(payload.size());
    for (int shift = 24; shift >= 0; shift -= 8)
        frame.push_back(static_cast<char>((size >> shift) & 0xff));
    return frame + payload;
}

void require_protocol_error(const Result<AttrList>& result, const std::string& fragment) {
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind() == ErrorKind::protocol);
    CHECK_THAT(result.error().message(), Catch::Contains(fragment));
}

void require_protocol_error(const Status& status, const std::string& fragment) {
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind() == ErrorKind::protocol);
    CHECK_THAT(status.error().message(), Catch::Contains(fragment));
}

}  // namespace

TEST_CASE("every attribute type survives a round trip", "[ipc]") {
    auto attr = GENERATE(
        Attr{"n", AttrValue(int64_t{0})}, Attr{"n", AttrValue(std::numeric_limits<int64_t>::min())},
        Attr{"n", AttrValue(std::numeric_limits<int64_t>::max())},
        Attr{"n", AttrValue(int64_t{-1})}, Attr{"s", AttrValue(std::in_place_index<1>, "")},
        Attr{"s", AttrValue(std::in_place_index<1>, "a\0b\xff\n"s)},
        Attr{"h", AttrValue(AttrHash{})},
        Attr{"h",
             AttrValue(AttrHash{{"k", "v"}, {"\0"s, "\0"s}, {"long", std::string(1000, 'x')}})},
        Attr{"d", AttrValue(AttrData{})}, Attr{"d", AttrValue(AttrData{std::string(70000, '\0')})});
    AttrList list;
    list.add(attr);
    auto decoded = decode_attr_frame(encoded(list));
    REQUIRE(decoded.ok());
    REQUIRE(decoded->size() == 1);
    CHECK(decoded->attrs()[0] == attr);
    CHECK(decoded->attrs()[0].type() == attr.type());
}

TEST_CASE("a list keeps its order and every value", "[ipc]") {
    AttrList list = every_type();
    auto decoded = decode_attr_frame(encoded(list));
    REQUIRE(decoded.ok());
    CHECK(*decoded == list);
    CHECK(decoded->attrs()[0].name == "status");
    CHECK(decoded->attrs()[3].name == "content");
    CHECK(encoded(*decoded) == encoded(list));
}

TEST_CASE("an empty list is a valid message", "[ipc]") {
    CHECK(encoded(AttrList{}) == "\x01\x00\x00\x00\x00"s);
    auto decoded = decode_attr_frame("\x01\x00\x00\x00\x00"s);
    REQUIRE(decoded.ok());
    CHECK(decoded->empty());
}

TEST_CASE("the wire bytes are the documented ones", "[ipc]") {
    AttrList list;
    list.add_string("queue_id", "4Yk2").add_int("status", 0);
    std::string expected =
        "\x01\x00\x00\x00\x22"
        "\x02\x08queue_id\x00\x00\x00\x04"
        "4Yk2"
        "\x01\x06status\x00\x00\x00\x00\x00\x00\x00\x00"s;
    CHECK(encoded(list) == expected);

    AttrList more;
    more.add_int("n", -2).add_hash("h", {{"k", "v"}}).add_data("d", "x");
    std::string expected_more =
        "\x01\x00\x00\x00\x24"
        "\x01\x01n\xff\xff\xff\xff\xff\xff\xff\xfe"
        "\x03\x01h\x00\x00\x00\x01\x00\x00\x00\x01k\x00\x00\x00\x01v"
        "\x04\x01"
        "d\x00\x00\x00\x01x"s;
    CHECK(encoded(more) == expected_more);
}

TEST_CASE("hash entries are re-encoded in key order", "[ipc]") {
    std::string unsorted = frame_of(
        "\x03\x01h\x00\x00\x00\x02"
        "\x00\x00\x00\x01z\x00\x00\x00\x00"
        "\x00\x00\x00\x01"
        "a\x00\x00\x00\x00"s);
    auto decoded = decode_attr_frame(unsorted);
    REQUIRE(decoded.ok());
    std::string again = encoded(*decoded);
    CHECK(again.size() == unsorted.size());
    CHECK(again != unsorted);
    auto twice = decode_attr_frame(again);
    REQUIRE(twice.ok());
    CHECK(*twice == *decoded);
}

TEST_CASE("a frame cut short anywhere is a protocol error", "[ipc]") {
    std::string frame = encoded(every_type());
    for (size_t length = 0; length < frame.size(); ++length) {
        INFO("length " << length);
        auto decoded = decode_attr_frame(std::string_view(frame).substr(0, length));
        REQUIRE_FALSE(decoded.ok());
        CHECK(decoded.error().kind() == ErrorKind::protocol);
    }
    CHECK(decode_attr_frame(frame).ok());
}

TEST_CASE("a payload whose own lengths run past it is truncated", "[ipc]") {
    // The frame header is right; an attribute inside claims more than the payload holds.
    auto payload = GENERATE(
        "\x02\x01s\x00\x00\x00\x05"
        "abc"s,
        "\x04\x01"
        "d\xff\xff\xff\xff"s,
        "\x01\x01n\x00\x00\x00"s, "\x03\x01h\x00\x00\x00\x01\x00\x00\x00\x02k"s,
        "\x03\x01h\x00\x00\x00\x01\x00\x00\x00\x01k\x00\x00\x00\x09v"s, "\x02\x05sho"s, "\x02"s);
    require_protocol_error(decode_attr_frame(frame_of(payload)), "truncated");
}

TEST_CASE("bytes after a frame are refused by the one-frame decoder", "[ipc]") {
    std::string frame = encoded(every_type()) + "x";
    require_protocol_error(decode_attr_frame(frame), "1 bytes after the frame");
}

TEST_CASE("garbage is a protocol error", "[ipc]") {
    SECTION("another version, or text") {
        require_protocol_error(decode_attr_frame("\x02\x00\x00\x00\x00"s), "version 0x02");
        require_protocol_error(decode_attr_frame("GET / HTTP/1.0\r\n"s), "version 0x47");
    }
    SECTION("an unknown type") {
        auto type = GENERATE(0x00, 0x05, 0xff);
        std::string payload = std::string(1, static_cast<char>(type)) + "\x01n\x00\x00\x00\x00"s;
        require_protocol_error(decode_attr_frame(frame_of(payload)), "unknown attribute type");
    }
    SECTION("a bad name") {
        auto name = GENERATE("a b"s, "a\0"s, "\xc3\xa9t\xc3\xa9"s, "x\n"s, "a=b"s);
        std::string payload =
            "\x01"s + static_cast<char>(name.size()) + name + std::string(8, '\0');
        require_protocol_error(decode_attr_frame(frame_of(payload)), "attribute name");
    }
    SECTION("an empty name") {
        require_protocol_error(decode_attr_frame(frame_of("\x01\x00"s + std::string(8, '\0'))),
                               "empty attribute name");
    }
    SECTION("random bytes never crash and never pass as anything but a valid frame") {
        std::mt19937 random(12345);
        for (int round = 0; round < 20000; ++round) {
            std::string bytes(random() % 64, '\0');
            for (char& byte : bytes)
                byte = static_cast<char>(random());
            if (round % 2 == 0 && bytes.size() >= 5) {  // often a plausible header
                bytes[0] = 1;
                bytes[1] = bytes[2] = bytes[3] = 0;
                bytes[4] = static_cast<char>(bytes.size() - 5);
            }
            auto decoded = decode_attr_frame(bytes);
            if (decoded.ok())
                CHECK(encoded(*decoded).size() == bytes.size());
            else
                CHECK(decoded.error().kind() == ErrorKind::protocol);
        }
    }
}

TEST_CASE("a duplicate attribute is refused both ways", "[ipc]") {
    std::string one = "\x01\x01n\x00\x00\x00\x00\x00\x00\x00\x01"s;
    require_protocol_error(decode_attr_frame(frame_of(one + one)), "duplicate attribute \"n\"");

    AttrList list;
    list.add_int("n", 1).add_string("n", "again");
    auto frame = encode_attr_frame(list);
    REQUIRE_FALSE(frame.ok());
    CHECK(frame.error().kind() == ErrorKind::protocol);
    CHECK_THAT(frame.error().message(), Catch::Contains("duplicate attribute \"n\""));
}

TEST_CASE("a duplicate key inside a hash is refused", "[ipc]") {
    std::string entry = "\x00\x00\x00\x01k\x00\x00\x00\x01v"s;
    require_protocol_error(
        decode_attr_frame(frame_of("\x03\x01h\x00\x00\x00\x02"s + entry + entry)),
        "duplicate key in hash \"h\"");
}

TEST_CASE("the frame size limit holds on both sides", "[ipc]") {
    AttrLimits limits;
    limits.max_frame_size = 100;
    // 2 + 1 + 4 + n payload bytes for one data attribute named "d".
    AttrList fits, too_big;
    fits.add_data("d", std::string(93, 'x'));
    too_big.add_data("d", std::string(94, 'x'));
    std::string frame = encoded(fits, limits);
    CHECK(frame.size() == kAttrFrameHeaderSize + 100);
    CHECK(decode_attr_frame(frame, limits).ok());

    auto refused = encode_attr_frame(too_big, limits);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind() == ErrorKind::protocol);
    require_protocol_error(decode_attr_frame(encoded(too_big), limits), "limit 100");

    // Only the header is needed to know; nothing is read (or allocated) for the rest.
    auto size = attr_frame_size("\x01\xff\xff\xff\xff"s, AttrLimits{});
    REQUIRE_FALSE(size.ok());
    CHECK(size.error().kind() == ErrorKind::protocol);
    CHECK_THAT(size.error().message(), Catch::Contains("4294967295 bytes (limit 1048576)"));
}

TEST_CASE("the default frame limit is one MiB", "[ipc]") {
    AttrList big;
    big.add_data("d", std::string(AttrLimits{}.max_frame_size - 7, 'x'));
    CHECK(encode_attr_frame(big).ok());
    big.attrs()[0] =
        Attr{"d", AttrValue(AttrData{std::string(AttrLimits{}.max_frame_size - 6, 'x')})};
    CHECK_FALSE(encode_attr_frame(big).ok());
}

TEST_CASE("the attribute count limit holds on both sides", "[ipc]") {
    AttrLimits limits;
    limits.max_attributes = 3;
    AttrList list;
    list.add_int("a", 1).add_int("b", 2).add_int("c", 3);
    std::string three = encoded(list, limits);
    CHECK(decode_attr_frame(three, limits).ok());

    list.add_int("d", 4);
    CHECK_FALSE(encode_attr_frame(list, limits).ok());
    require_protocol_error(decode_attr_frame(encoded(list), limits), "more than 3 attributes");
}

TEST_CASE("the name length limit holds on both sides", "[ipc]") {
    AttrLimits limits;
    limits.max_name_length = 8;
    AttrList fits, too_long;
    fits.add_int(std::string(8, 'n'), 1);
    too_long.add_int(std::string(9, 'n'), 1);
    CHECK(decode_attr_frame(encoded(fits, limits), limits).ok());
    CHECK_FALSE(encode_attr_frame(too_long, limits).ok());
    require_protocol_error(decode_attr_frame(encoded(too_long), limits), "9 bytes (limit 8)");

    // Past 255 the length byte cannot say it, whatever the limit.
    limits.max_name_length = 1000;
    AttrList impossible;
    impossible.add_int(std::string(256, 'n'), 1);
    CHECK_FALSE(encode_attr_frame(impossible, limits).ok());
    AttrList longest;
    longest.add_int(std::string(255, 'n'), 1);
    CHECK(decode_attr_frame(encoded(longest, limits), limits).ok());
}

TEST_CASE("the hash entry limit holds on both sides", "[ipc]") {
    AttrLimits limits;
    limits.max_hash_entries = 2;
    AttrList fits, too_many;
    fits.add_hash("h", {{"a", "1"}, {"b", "2"}});
    too_many.add_hash("h", {{"a", "1"}, {"b", "2"}, {"c", "3"}});
    CHECK(decode_attr_frame(encoded(fits, limits), limits).ok());
    CHECK_FALSE(encode_attr_frame(too_many, limits).ok());
    require_protocol_error(decode_attr_frame(encoded(too_many), limits), "3 entries (limit 2)");

    // A count far beyond the bytes present is caught before any entry is built.
    require_protocol_error(decode_attr_frame(frame_of("\x03\x01h\x00\x00\x03\xe8"s)), "truncated");
}

TEST_CASE("names the wire cannot carry are refused when encoding", "[ipc]") {
    auto name = GENERATE(""s, "a b"s, "x\0"s, "caf\xc3\xa9"s);
    AttrList list;
    list.add_int(name, 1);
    auto frame = encode_attr_frame(list);
    REQUIRE_FALSE(frame.ok());
    CHECK(frame.error().kind() == ErrorKind::protocol);
    CHECK(is_attr_name("queue_id"));
    CHECK(is_attr_name("sasl.method-2"));
    CHECK_FALSE(is_attr_name(name));
}

TEST_CASE("append_attr_frame leaves the buffer alone on failure", "[ipc]") {
    std::string buffer = "before";
    AttrList bad;
    bad.add_int("a", 1).add_int("a", 2);
    CHECK_FALSE(append_attr_frame(buffer, bad).ok());
    CHECK(buffer == "before");
    REQUIRE(append_attr_frame(buffer, every_type()).ok());
    CHECK(buffer.substr(6) == encoded(every_type()));
}

// ---- the incremental decoder ----

TEST_CASE("the incremental decoder takes frames byte by byte", "[ipc]") {
    AttrList first = every_type();
    AttrList second;
    second.add_string("reason", "ok");
    std::string stream = encoded(first) + encoded(AttrList{}) + encoded(second);

    AttrFrameDecoder decoder;
    std::vector<AttrList> frames;
    for (char byte : stream) {
        decoder.feed(std::string_view(&byte, 1));
        auto frame = decoder.next();
        REQUIRE(frame.ok());
        if (*frame)
            frames.push_back(std::move(**frame));
    }
    REQUIRE(frames.size() == 3);
    CHECK(frames[0] == first);
    CHECK(frames[1].empty());
    CHECK(frames[2] == second);
    CHECK(decoder.idle());
    auto nothing = decoder.next();
    REQUIRE(nothing.ok());
    CHECK_FALSE(nothing->has_value());
}

TEST_CASE("the incremental decoder takes frames in pieces of any size", "[ipc]") {
    size_t piece = GENERATE(2, 3, 7, 64, 4096);
    std::string stream;
    for (int i = 0; i < 20; ++i)
        stream += encoded(AttrList().add_int("i", i).add_data("d", std::string(i * 37, 'd')));

    AttrFrameDecoder decoder;
    int next_expected = 0;
    for (size_t at = 0; at < stream.size(); at += piece) {
        decoder.feed(std::string_view(stream).substr(at, piece));
        for (;;) {
            auto frame = decoder.next();
            REQUIRE(frame.ok());
            if (!*frame)
                break;
            AttrReader reader(std::move(**frame), "test");
            CHECK(*reader.integer("i") == next_expected);
            CHECK(reader.data("d")->size() == static_cast<size_t>(next_expected) * 37);
            CHECK(reader.finish().ok());
            ++next_expected;
        }
    }
    CHECK(next_expected == 20);
    CHECK(decoder.idle());
}

TEST_CASE("the incremental decoder fails on an oversized header before the payload", "[ipc]") {
    AttrLimits limits;
    limits.max_frame_size = 16;
    AttrFrameDecoder decoder(limits);
    decoder.feed("\x01\x00\x00\x00"s);
    auto waiting = decoder.next();
    REQUIRE(waiting.ok());
    CHECK_FALSE(waiting->has_value());
    CHECK_FALSE(decoder.idle());
    decoder.feed("\x11"s);
    auto refused = decoder.next();
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind() == ErrorKind::protocol);
}

TEST_CASE("the incremental decoder knows garbage from its first byte and stays failed", "[ipc]") {
    AttrFrameDecoder decoder;
    decoder.feed("H"s);
    auto first = decoder.next();
    REQUIRE_FALSE(first.ok());
    CHECK(first.error().kind() == ErrorKind::protocol);
    decoder.feed(encoded(every_type()));
    auto again = decoder.next();
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().message() == first.error().message());
}

TEST_CASE("the incremental decoder reports a bad payload once it is complete", "[ipc]") {
    std::string bad = frame_of("\x07\x01n"s);
    AttrFrameDecoder decoder;
    decoder.feed(std::string_view(bad).substr(0, bad.size() - 1));
    auto partial = decoder.next();
    REQUIRE(partial.ok());
    CHECK_FALSE(partial->has_value());
    decoder.feed(std::string_view(bad).substr(bad.size() - 1));
    auto complete = decoder.next();
    REQUIRE_FALSE(complete.ok());
    CHECK_THAT(complete.error().message(), Catch::Contains("unknown attribute type 0x07"));
}

// ---- reading against a schema ----

TEST_CASE("the reader hands out each typed value", "[ipc]") {
    AttrReader reader(every_type(), "cleanup request");
    auto status = reader.integer("status");
    auto sender = reader.string("sender");
    auto macros = reader.hash("macros");
    auto content = reader.data("content");
    REQUIRE(status.ok());
    REQUIRE(sender.ok());
    REQUIRE(macros.ok());
    REQUIRE(content.ok());
    CHECK(*status == -42);
    CHECK(*sender == "user\0@example.com"s);
    CHECK(macros->at("{daemon_name}") == "smtpd");
    CHECK(macros->size() == 3);
    CHECK(*content == "Subject: x\r\n\r\nbody\0\xff"s);
    CHECK(reader.finish().ok());
}

TEST_CASE("a missing attribute is named", "[ipc]") {
    AttrReader reader(AttrList().add_int("status", 0), "cleanup reply");
    auto reason = reader.string("reason");
    REQUIRE_FALSE(reason.ok());
    CHECK(reason.error().kind() == ErrorKind::protocol);
    CHECK(reason.error().message() == "cleanup reply: missing attribute \"reason\"");
}

TEST_CASE("an attribute of the wrong type is refused", "[ipc]") {
    AttrReader reader(every_type(), "bounce request");
    auto status = reader.string("status");
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind() == ErrorKind::protocol);
    CHECK(status.error().message() ==
          "bounce request: attribute \"status\" is of type integer, expected string");
    CHECK_FALSE(reader.data("sender").ok());
    CHECK_FALSE(reader.hash("content").ok());
    CHECK_FALSE(reader.integer("macros").ok());
    CHECK_FALSE(reader.optional_integer("sender").ok());  // optional is not "any type"
}

TEST_CASE("an unexpected attribute fails the schema", "[ipc]") {
    AttrList list;
    list.add_int("status", 0).add_string("surprise", "x");
    AttrReader reader(std::move(list), "cleanup reply");
    REQUIRE(reader.integer("status").ok());
    Status finished = reader.finish();
    require_protocol_error(finished, "cleanup reply: unexpected attribute \"surprise\"");
}

TEST_CASE("optional attributes may be absent or present", "[ipc]") {
    AttrList list;
    list.add_string("reason", "queued").add_hash("macros", {{"j", "host"}});
    AttrReader reader(std::move(list), "reply");
    auto reason = reader.optional_string("reason");
    auto flags = reader.optional_integer("flags");
    auto macros = reader.optional_hash("macros");
    auto content = reader.optional_data("content");
    REQUIRE(reason.ok());
    REQUIRE(flags.ok());
    REQUIRE(macros.ok());
    REQUIRE(content.ok());
    CHECK(reason->value() == "queued");
    CHECK_FALSE(flags->has_value());
    CHECK(macros->value().at("j") == "host");
    CHECK_FALSE(content->has_value());
    CHECK(reader.finish().ok());
}

TEST_CASE("a list built with a name twice is a duplicate to the reader", "[ipc]") {
    AttrList list;
    list.add_int("n", 1).add_int("n", 2);
    AttrReader reader(std::move(list), "request");
    auto n = reader.integer("n");
    REQUIRE_FALSE(n.ok());
    CHECK(n.error().message() == "request: duplicate attribute \"n\"");
}

TEST_CASE("reading an attribute twice is an error, not an empty value", "[ipc]") {
    AttrReader reader(AttrList().add_string("s", "once"), "request");
    CHECK(*reader.string("s") == "once");
    auto again = reader.string("s");
    REQUIRE_FALSE(again.ok());
    CHECK_THAT(again.error().message(), Catch::Contains("read twice"));
}
