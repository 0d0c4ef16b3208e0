// Message headers (lib/mail/header): header recognition as Postfix's is_header, the table
// of header kinds (header_opts), the layout of rebuilt headers, and the MIME-aware content
// splitter. Expected values follow what real Postfix 3.7.11's cleanup does with the same
// input (the whole-instance comparison is tests/system/cleanup_golden_test.py).
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "mail/header.hpp"

using namespace postern;

TEST_CASE("is_header accepts Postfix's header names", "[header]") {
    CHECK(header_name_length("Subject: hi") == 7);
    CHECK(header_name_length("X-Thing:") == 7);
    CHECK(header_name_length("To : a") == 2);
    CHECK(header_name_length("To\t:a") == 2);
    CHECK(header_name_length(": value") == 0);
    CHECK(header_name_length("No colon here") == 0);
    CHECK(header_name_length("Two words: x") == 0);
    CHECK(header_name_length(" Subject: x") == 0);
    CHECK(header_name_length("Sub\x01ject: x") == 0);
    CHECK(header_name_length("S\xc3\xa9: x") == 0);
    CHECK(header_name_length("") == 0);
    CHECK(is_header("From: a"));
}

TEST_CASE("known headers are found without regard to case", "[header]") {
    const HeaderInfo* info = find_header_info("message-id: <x>");
    REQUIRE(info != nullptr);
    CHECK(info->type == HeaderType::message_id);
    CHECK(info->name == "Message-Id");
    info = find_header_info("BCC : a");
    REQUIRE(info != nullptr);
    CHECK(info->type == HeaderType::bcc);
    CHECK((info->flags & header_flag::drop) != 0);
    CHECK((info->flags & header_flag::extract) != 0);
    info = find_header_info("Resent-To: a");
    REQUIRE(info != nullptr);
    CHECK((info->flags & header_flag::resent) != 0);
    info = find_header_info("Content-Type: text/plain");
    REQUIRE(info != nullptr);
    CHECK((info->flags & header_flag::mime) != 0);
    CHECK(find_header_info("X-Mailer: y") == nullptr);
    CHECK(find_header_info("Subject: y") == nullptr);
    CHECK(header_value("Subject:   hello  ") == "hello  ");
    CHECK(header_value("Subject:") == "");
}

TEST_CASE("rebuilt address headers are folded before 70 columns", "[header]") {
    CHECK(fold_address_header("To: a,\nb,\nc") == "To: a, b, c");
    std::string header =
        "To: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.com,\n"
        "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb@example.com,\nc@example.com";
    CHECK(fold_address_header(header) ==
          "To: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.com,\n"
          "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb@example.com, c@example.com");
}

TEST_CASE("header output lines get a tab and respect the size limit", "[header]") {
    CHECK(header_output_lines("To: a,\nb", 1000) == std::vector<std::string>{"To: a,", "\tb"});
    CHECK(header_output_lines("Subject: a\n b", 1000) ==
          std::vector<std::string>{"Subject: a", " b"});
    // Cut inside the first line when the last line boundary is too far back.
    CHECK(header_output_lines("Subject: 0123456789", 12) ==
          std::vector<std::string>{"Subject: 012"});
    // A clean cut at a line boundary when little is lost.
    std::string header = "Subject: " + std::string(86, 'x') + "\n yyyyyyyyyy";
    CHECK(header_output_lines(header, 100) ==
          std::vector<std::string>{"Subject: " + std::string(86, 'x')});
}

namespace {

struct Collected {
    std::vector<std::string> events;
    unsigned errors = 0;
};

ContentSplitterEvents collector(Collected& out) {
    ContentSplitterEvents events;
    events.header = [&out](HeaderClass header_class, const HeaderInfo*, std::string& header) {
        const char* name = header_class == HeaderClass::primary     ? "P"
                           : header_class == HeaderClass::multipart ? "M"
                                                                    : "N";
        out.events.push_back(std::string(name) + ":" + header);
    };
    events.primary_headers_end = [&out]() { out.events.push_back("END"); };
    events.body = [&out](std::string_view text, bool end_of_line, int64_t offset) {
        out.events.push_back("B" + std::to_string(offset) + (end_of_line ? ":" : "+") +
                             std::string(text));
    };
    events.error = [&out](unsigned error, std::string_view) { out.errors |= error; };
    return events;
}

std::vector<std::string> split(const std::vector<std::string>& lines,
                               ContentSplitterOptions options = {}) {
    Collected out;
    ContentSplitter splitter(options, collector(out));
    for (const std::string& line : lines)
        splitter.add(line, true);
    splitter.finish();
    return out.events;
}

}  // namespace

TEST_CASE("the splitter folds continuation lines into their header", "[header]") {
    CHECK(split({"Subject: a", "\tb", " c", "To: x", "", "body"}) ==
          std::vector<std::string>{"P:Subject: a\n\tb\n c", "P:To: x", "END", "B0:", "B1:body"});
}

TEST_CASE("a line that is not a header starts the body", "[header]") {
    // The empty line Postfix puts between the headers and such a body.
    CHECK(split({"Subject: a", "not a header", "x: y"}) ==
          std::vector<std::string>{"P:Subject: a", "END", "B0:", "B1:not a header", "B14:x: y"});
    CHECK(split({" leading space"}) == std::vector<std::string>{"END", "B0:", "B1: leading space"});
    CHECK(split({}) == std::vector<std::string>{"END"});
    CHECK(split({"Subject: only"}) == std::vector<std::string>{"P:Subject: only", "END"});
}

TEST_CASE("a Content-Type comment that ends in a backslash is not read past", "[header]") {
    // Found by fuzz_header: the escape skipped past the end and the next token threw.
    CHECK_NOTHROW(split({"Content-Type: (a\\", "", "body"}));
    CHECK_NOTHROW(split({"Content-Type: text/plain; (x\\"}));
}

TEST_CASE("long lines arrive in pieces", "[header]") {
    Collected out;
    ContentSplitter splitter({}, collector(out));
    splitter.add("Subject: aa", false);
    splitter.add("bb", true);
    splitter.add("", true);
    splitter.add("body1", false);
    splitter.add("body2", true);
    splitter.finish();
    CHECK(out.events ==
          std::vector<std::string>{"P:Subject: aabb", "END", "B0:", "B1+body1", "B6:body2"});
}

TEST_CASE("headers longer than header_size_limit are cut as Postfix cuts them", "[header]") {
    // Observed with real Postfix 3.7.11 and header_size_limit = 30.
    ContentSplitterOptions options;
    options.header_size_limit = 30;
    CHECK(split({"Subject: 01234", " abcdefghijklmnopqrstuvwxyz", " more"}, options) ==
          std::vector<std::string>{"P:Subject: 01234\n abcdefghijklmn", "END"});
    CHECK(split({"X-B: a", " b", " c", " d", " e", " f", " g", " h", " i", " j", " k"}, options) ==
          std::vector<std::string>{"P:X-B: a\n b\n c\n d\n e\n f\n g\n h\n i", "END"});
    CHECK(split({"X-C: 012345678901234567890123", " xyz"}, options) ==
          std::vector<std::string>{"P:X-C: 012345678901234567890123", "END"});
    CHECK(split({"X-E: 01234567890123456789012", " xyz"}, options) ==
          std::vector<std::string>{"P:X-E: 01234567890123456789012", "END"});
    CHECK(split({"X-A: 0123456789012345678901234567890123456789", "To: a"}, options) ==
          std::vector<std::string>{"P:X-A: 0123456789012345678901234", "P:To: a", "END"});
    Collected out;
    ContentSplitter splitter(options, collector(out));
    splitter.add("X-A: 0123456789012345678901234567890123456789", true);
    splitter.finish();
    CHECK((out.errors & mime_error::truncated_header) != 0);
}

TEST_CASE("MIME parts and attached messages get their own header classes", "[header]") {
    std::vector<std::string> message = {
        "Content-Type: multipart/mixed; boundary=\"b1\"",
        "",
        "preamble",
        "--b1",
        "Content-Type: text/plain",
        "",
        "text part",
        "--b1",
        "Content-Type: message/rfc822",
        "",
        "Subject: inner",
        "",
        "inner body",
        "--b1--",
        "epilogue",
    };
    CHECK(split(message) == std::vector<std::string>{
                                "P:Content-Type: multipart/mixed; boundary=\"b1\"",
                                "END",
                                "B0:",
                                "B1:preamble",
                                "B10:--b1",
                                "M:Content-Type: text/plain",
                                "B0:",
                                "B1:text part",
                                "B11:--b1",
                                "M:Content-Type: message/rfc822",
                                "B0:",
                                "N:Subject: inner",
                                "B0:",
                                "B1:inner body",
                                "B12:--b1--",
                                "B19:epilogue",
                            });
}

TEST_CASE("multipart/digest parts are messages", "[header]") {
    std::vector<std::string> message = {"Content-Type: multipart/digest; boundary=d",
                                        "",
                                        "--d",
                                        "",
                                        "Subject: in digest",
                                        "",
                                        "x",
                                        "--d--"};
    auto events = split(message);
    CHECK(std::find(events.begin(), events.end(), "N:Subject: in digest") != events.end());
}

TEST_CASE("MIME nesting beyond the limit is reported, not followed", "[header]") {
    ContentSplitterOptions options;
    options.mime_nesting_limit = 2;
    options.report_nesting = true;
    std::vector<std::string> message = {"Content-Type: message/rfc822",
                                        "",
                                        "Content-Type: message/rfc822",
                                        "",
                                        "Content-Type: message/rfc822",
                                        "",
                                        "Subject: deep",
                                        "",
                                        "body"};
    Collected out;
    ContentSplitter splitter(options, collector(out));
    for (const std::string& line : message)
        splitter.add(line, true);
    splitter.finish();
    CHECK((out.errors & mime_error::nesting) != 0);
    // The third level is not parsed as headers.
    CHECK(std::find(out.events.begin(), out.events.end(), "N:Subject: deep") == out.events.end());
}

TEST_CASE("boundaries are compared up to mime_boundary_length_limit", "[header]") {
    ContentSplitterOptions options;
    options.mime_boundary_length_limit = 4;
    auto events = split({"Content-Type: multipart/mixed; boundary=abcdefgh", "", "--abcdXXXX",
                         "X-Part: 1", "", "p"},
                        options);
    CHECK(std::find(events.begin(), events.end(), "M:X-Part: 1") != events.end());
}

TEST_CASE("disable_mime_input_processing makes everything after the headers body", "[header]") {
    ContentSplitterOptions options;
    options.disable_mime = true;
    auto events =
        split({"Content-Type: multipart/mixed; boundary=b", "", "--b", "X-Part: 1"}, options);
    CHECK(events.back() == "B5:X-Part: 1");
}
