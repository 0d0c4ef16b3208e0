// The maildrop rules and the postdrop pipe protocol (lib/queue/maildrop), and the maildrop
// file creation (create_queue_file): record types per segment as Postfix's postdrop and
// pickup admit them (observed with Postfix 3.7.11), attribute parsing and filtering, the
// plain attribute lists on a real pipe, and the file's name and mode.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "queue/maildrop.hpp"
#include "queue/queue_file.hpp"
#include "util/file.hpp"

using namespace postern;

namespace {

// Feeds `types` to a tracker; the index of the first refused type, or -1.
int first_refused(const SegmentRules& rules, std::string_view types) {
    SegmentTracker tracker(rules);
    for (size_t i = 0; i < types.size(); ++i)
        if (!tracker.accept(types[i]))
            return static_cast<int>(i);
    return -1;
}

struct Pipe {
    Pipe() {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        read_end.reset(fds[0]);
        write_end.reset(fds[1]);
    }
    Fd read_end;
    Fd write_end;
};

}  // namespace

TEST_CASE("a submission follows postdrop's record types per segment", "[maildrop]") {
    CHECK(first_refused(kSubmissionSegments, "AFSRVinMNLNXARE") == -1);
    CHECK(first_refused(kSubmissionSegments, "SRMXE") == -1);
    // Postfix's postdrop refuses these (tested against it: "unexpected record type").
    CHECK(first_refused(kSubmissionSegments, "TSRMXE") == 0);  // the time is postdrop's
    CHECK(first_refused(kSubmissionSegments, "SRNMXE") == 2);  // content in the envelope
    CHECK(first_refused(kSubmissionSegments, "SRMSXE") == 3);  // a sender in the content
    CHECK(first_refused(kSubmissionSegments, "SRMXNE") == 4);  // content after X
    CHECK(first_refused(kSubmissionSegments, "SRMXEA") == 5);  // anything after E
    CHECK(first_refused(kSubmissionSegments, std::string("S\0RMXE", 6)) == 1);
    CHECK(first_refused(kSubmissionSegments, "SRCMXE") == 2);  // a size record
    CHECK(first_refused(kSubmissionSegments, "SROMXE") == 2);  // an original recipient
}

TEST_CASE("pickup admits its own time record and a requeued queue file's records", "[maildrop]") {
    CHECK(first_refused(kMaildropFileSegments, "TAFSRMNXARE") == -1);
    CHECK(first_refused(kMaildropFileSegments, "TSDRMXE") == 2);
    CHECK(first_refused(kRequeuedSegments, "CTcAFSOR/DWLK>MNLXAROrePE") == -1);
    CHECK(first_refused(kRequeuedSegments, "CTSRMXNE") == 6);
    SegmentTracker tracker(kRequeuedSegments);
    CHECK(tracker.segment() == MaildropSegment::envelope);
    CHECK(tracker.accept('M'));
    CHECK(tracker.segment() == MaildropSegment::content);
    CHECK(tracker.accept('X'));
    CHECK(tracker.segment() == MaildropSegment::extracted);
    CHECK(tracker.accept('E'));
    CHECK(tracker.segment() == MaildropSegment::done);
    CHECK_FALSE(tracker.accept('E'));
}

TEST_CASE("attributes split as Postfix's split_nameval", "[maildrop]") {
    auto plain = split_attribute("encoding=8bit");
    REQUIRE(plain);
    CHECK(plain->name == "encoding");
    CHECK(plain->value == "8bit");
    auto spaced = split_attribute("  envelope_id =  a b  ");
    REQUIRE(spaced);
    CHECK(spaced->name == "envelope_id");
    CHECK(spaced->value == "a b");
    auto empty_value = split_attribute("x=");
    REQUIRE(empty_value);
    CHECK(empty_value->value.empty());
    auto nul = split_attribute(std::string_view("a=b\0c", 5));
    REQUIRE(nul);
    CHECK(nul->value == "b");
    auto no_equals = split_attribute("foobar");
    REQUIRE_FALSE(no_equals);
    CHECK(no_equals.error().message() == "missing '=' after attribute name");
    auto no_name = split_attribute("   ");
    REQUIRE_FALSE(no_name);
    CHECK(no_name.error().message() == "missing attribute name");
    CHECK_FALSE(split_attribute("a b=c"));
}

TEST_CASE("a user may set the attributes postdrop allows and no others", "[maildrop]") {
    auto allowed = [](std::string_view text) {
        auto attribute = split_attribute(text);
        REQUIRE(attribute);
        return submission_attribute_allowed(*attribute);
    };
    for (const char* text :
         {"encoding=7bit", "encoding=8bit", "encoding=none", "envelope_id=x", "notify_flags=6",
          "rewrite_context=local", "rewrite_context=remote", "trace_flags=1024", "ret_flags=2",
          "dsn_orig_rcpt=rfc822;a@b", "create_time=1"})
        CHECK(allowed(text));
    for (const char* text : {"encoding=9bit", "rewrite_context=x", "log_ident=x", "foo=bar",
                             "client_address=1.2.3.4", "Encoding=8bit"})
        CHECK_FALSE(allowed(text));
    CHECK(is_dsn_attribute("dsn_orig_rcpt"));
    CHECK_FALSE(is_dsn_attribute("encoding"));
}

TEST_CASE("plain attribute lists are Postfix's NUL-separated encoding", "[maildrop]") {
    PlainAttributes list{{"protocol", "postdrop_protocol"}, {"queue_id", "ABC"}};
    std::string wire = encode_plain_attributes(list);
    CHECK(wire == std::string("protocol\0postdrop_protocol\0queue_id\0ABC\0\0", 41));
    CHECK(encode_plain_attributes({}) == std::string(1, '\0'));
    REQUIRE(find_plain_attribute(list, "queue_id") != nullptr);
    CHECK(*find_plain_attribute(list, "queue_id") == "ABC");
    CHECK(find_plain_attribute(list, "status") == nullptr);
}

TEST_CASE("plain attribute lists are read from a pipe, one at a time", "[maildrop]") {
    Pipe pipe;
    std::string wire = encode_plain_attributes({{"protocol", "postdrop_protocol"}}) +
                       encode_plain_attributes({{"status", "0"}, {"reason", ""}});
    REQUIRE(write_all(pipe.write_end.get(), wire));
    pipe.write_end.reset();
    std::string buffer;
    auto first = read_plain_attributes(pipe.read_end.get(), buffer);
    REQUIRE(first);
    REQUIRE(first->size() == 1);
    CHECK((*first)[0].second == "postdrop_protocol");
    auto second = read_plain_attributes(pipe.read_end.get(), buffer);
    REQUIRE(second);
    REQUIRE(second->size() == 2);
    CHECK((*second)[1].first == "reason");
    CHECK((*second)[1].second.empty());
    auto end = read_plain_attributes(pipe.read_end.get(), buffer);
    REQUIRE_FALSE(end);
    CHECK(end.error().kind() == ErrorKind::io);
}

TEST_CASE("a truncated or oversized attribute list is a protocol error", "[maildrop]") {
    SECTION("truncated") {
        Pipe pipe;
        REQUIRE(write_all(pipe.write_end.get(), std::string("status\0"
                                                            "0",
                                                            8)));
        pipe.write_end.reset();
        std::string buffer;
        auto list = read_plain_attributes(pipe.read_end.get(), buffer);
        REQUIRE_FALSE(list);
        CHECK(list.error().kind() == ErrorKind::protocol);
    }
    SECTION("oversized") {
        Pipe pipe;
        REQUIRE(write_all(pipe.write_end.get(), std::string(2000, 'x')));
        pipe.write_end.reset();
        std::string buffer;
        auto list = read_plain_attributes(pipe.read_end.get(), buffer, 1000);
        REQUIRE_FALSE(list);
        CHECK(list.error().kind() == ErrorKind::protocol);
    }
}

TEST_CASE("maildrop files are created under their queue ID with the mode asked for", "[maildrop]") {
    char pattern[] = "/tmp/postern-maildrop-test.XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    std::string root = pattern;
    std::filesystem::create_directory(root + "/maildrop");
    ::umask(022);
    QueueFileOptions options;
    auto first = create_queue_file(root, kMaildropQueue, options, kMaildropModeWriting);
    auto second = create_queue_file(root, kMaildropQueue, options, kMaildropModeWriting);
    REQUIRE(first);
    REQUIRE(second);
    CHECK(first->queue_id != second->queue_id);
    CHECK(queue_id_form(first->queue_id) == QueueIdForm::short_form);
    CHECK(first->path == root + "/maildrop/" + first->queue_id);
    struct stat status {};
    REQUIRE(::stat(first->path.c_str(), &status) == 0);
    CHECK((status.st_mode & 07777) == kMaildropModeWriting);
    CHECK(status.st_size == 0);
    options.id_form = QueueIdForm::long_form;
    auto long_id = create_queue_file(root, kMaildropQueue, options, kMaildropModeWriting);
    REQUIRE(long_id);
    CHECK(queue_id_form(long_id->queue_id) == QueueIdForm::long_form);
    // No temporary file is left behind: every name is a queue ID.
    for (const auto& entry : std::filesystem::directory_iterator(root + "/maildrop"))
        CHECK(queue_id_ok(entry.path().filename().string()));
    CHECK_FALSE(create_queue_file(root, "no/such", options));
    std::filesystem::remove_all(root);
}
