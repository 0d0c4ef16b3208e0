// Local submission's modules: sendmail's reading of the message (tools/sendmail/
// message_input), its option values and -t header recipients, and postdrop's record
// reader, submission checks and local_login_sender_maps patterns (tools/postdrop). The
// expected records are what Postfix 3.7.11's sendmail and postdrop produce for the same
// input (captured with the real programs; see docs/submission.md).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "queue/cleanup_protocol.hpp"
#include "queue/maildrop.hpp"
#include "queue/queue_file.hpp"
#include "tools/postdrop/login_sender.hpp"
#include "tools/postdrop/maildrop_file.hpp"
#include "tools/postdrop/record_stream.hpp"
#include "tools/postdrop/submission.hpp"
#include "tools/sendmail/command_line.hpp"
#include "tools/sendmail/enqueue.hpp"
#include "tools/sendmail/header_recipients.hpp"
#include "tools/sendmail/message_input.hpp"
#include "util/file.hpp"

using namespace postern;

namespace {

using Records = std::vector<std::pair<char, std::string>>;

// A pipe whose write end already holds `bytes` and is closed: a reader sees them, then EOF.
Fd pipe_with(const std::string& bytes) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    Fd read_end(fds[0]);
    Fd write_end(fds[1]);
    REQUIRE(bytes.size() < 60000);  // fits the pipe buffer
    REQUIRE(write_all(write_end.get(), bytes));
    return read_end;
}

Records read_message(const std::string& input, bool dot_ends_input = true,
                     sendmail::LineEndings endings = sendmail::LineEndings::always,
                     size_t limit = 2048) {
    Fd fd = pipe_with(input);
    sendmail::MessageInput reader(fd.get(), limit, dot_ends_input, endings);
    Records records;
    for (;;) {
        auto record = reader.next();
        REQUIRE(record);
        if (!record->has_value())
            return records;
        records.emplace_back((*record)->type, std::string((*record)->data));
    }
}

std::string record(char type, std::string_view data) {
    std::string out;
    append_record(out, type, data);
    return out;
}

struct TemporaryQueue {
    TemporaryQueue() {
        char pattern[] = "/tmp/postern-submission-test.XXXXXX";
        REQUIRE(::mkdtemp(pattern) != nullptr);
        root = pattern;
        std::filesystem::create_directory(root + "/maildrop");
    }
    ~TemporaryQueue() { std::filesystem::remove_all(root); }
    size_t files() const {
        size_t count = 0;
        for ([[maybe_unused]] const auto& entry :
             std::filesystem::directory_iterator(root + "/maildrop"))
            ++count;
        return count;
    }
    std::string root;
};

}  // namespace

TEST_CASE("sendmail cuts the message into records as Postfix's sendmail", "[submission]") {
    using R = Records;
    CHECK(read_message("a\nb\n") == R{{'N', "a"}, {'N', "b"}});
    CHECK(read_message("") == R{});
    CHECK(read_message("noeol") == R{{'L', "noeol"}});
    CHECK(read_message(std::string("a\nb\x00\xe9\n", 6) + std::string(1, '\0') + "\n") ==
          R{{'N', "a"}, {'N', std::string("b\0\xe9", 3)}, {'N', std::string(1, '\0')}});
    // A line of exactly the limit is an L and an empty N.
    CHECK(read_message(std::string(10, 'x') + "\n", true, sendmail::LineEndings::always, 10) ==
          R{{'L', std::string(10, 'x')}, {'N', ""}});
    CHECK(read_message(std::string(25, 'y') + "\n", true, sendmail::LineEndings::always, 10) ==
          R{{'L', std::string(10, 'y')}, {'L', std::string(10, 'y')}, {'N', "yyyyy"}});
}

TEST_CASE("sendmail ends input at a lone dot unless -i", "[submission]") {
    using R = Records;
    CHECK(read_message("a\n.\nb\n") == R{{'N', "a"}});
    CHECK(read_message("a\n.\r\nb\n") == R{{'N', "a"}});
    CHECK(read_message("a\n..\nb\n") == R{{'N', "a"}, {'N', ".."}, {'N', "b"}});
    CHECK(read_message("a\n.\nb\n", false) == R{{'N', "a"}, {'N', "."}, {'N', "b"}});
    // The tail of a long line is not a line of its own.
    CHECK(read_message("xxxx.\nz\n", true, sendmail::LineEndings::always, 4) ==
          R{{'L', "xxxx"}, {'N', "."}, {'N', "z"}});
}

TEST_CASE("sendmail strips CRs per sendmail_fix_line_endings", "[submission]") {
    using R = Records;
    CHECK(read_message("a\r\nb\nc\r\r\n") == R{{'N', "a"}, {'N', "b"}, {'N', "c"}});
    CHECK(read_message("a\nb\r\n") == R{{'N', "a"}, {'N', "b"}});
    CHECK(read_message("a\rb\n") == R{{'N', "a\rb"}});
    CHECK(read_message("x\r") == R{{'L', "x\r"}});
    CHECK(read_message("a\nb\r\n", true, sendmail::LineEndings::strict) ==
          R{{'N', "a"}, {'N', "b\r"}});
    CHECK(read_message("a\r\nb\r\n", true, sendmail::LineEndings::strict) ==
          R{{'N', "a"}, {'N', "b"}});
    CHECK(read_message("a\r\n", true, sendmail::LineEndings::never) == R{{'N', "a\r"}});
    CHECK(sendmail::parse_line_endings("strict") == sendmail::LineEndings::strict);
    CHECK_FALSE(sendmail::parse_line_endings("sometimes"));
}

TEST_CASE("sendmail drops a mailbox From_ line at the start only", "[submission]") {
    using R = Records;
    CHECK(read_message("From a Mon Jan 1\nSubject: x\n\nFrom here\n") ==
          R{{'N', "Subject: x"}, {'N', ""}, {'N', "From here"}});
    CHECK(read_message("From: a\n") == R{{'N', "From: a"}});
    CHECK(read_message("x\nFrom a\n") == R{{'N', "x"}, {'N', "From a"}});
}

TEST_CASE("sendmail -N, -C and the GECOS full name", "[submission]") {
    CHECK(sendmail::parse_dsn_notify("never") == dsn::notify_never);
    CHECK(sendmail::parse_dsn_notify("success,delay") == (dsn::notify_success | dsn::notify_delay));
    CHECK(sendmail::parse_dsn_notify("SUCCESS, Failure") ==
          (dsn::notify_success | dsn::notify_failure));
    CHECK(sendmail::parse_dsn_notify("failure,,failure") == dsn::notify_failure);
    CHECK(sendmail::parse_dsn_notify("never,success") == 0);
    CHECK(sendmail::parse_dsn_notify("bogus") == 0);
    CHECK(sendmail::parse_dsn_notify("") == 0);
    CHECK(sendmail::config_directory_from_argument("/etc/postfix") == "/etc/postfix");
    CHECK(sendmail::config_directory_from_argument("/etc/postfix/main.cf") == "/etc/postfix");
    CHECK(sendmail::config_directory_from_argument("/x/other.cf") == "/x");
    CHECK(sendmail::config_directory_from_argument("main.cf") == ".");
    CHECK(sendmail::full_name_from_gecos("Amp &er,room 1,phone", "ampuser") == "Amp Ampuserer");
    CHECK(sendmail::full_name_from_gecos("Joe User;x", "joe") == "Joe User");
    CHECK(sendmail::full_name_from_gecos("", "joe").empty());
}

namespace {

struct Extraction {
    Records output;
    std::vector<std::string> recipients;
};

Extraction extract(const std::string& message, size_t limit = 2048) {
    Extraction result;
    sendmail::HeaderRecipients headers(102400, 10240, limit, [&](char type, std::string_view data) {
        result.output.emplace_back(type, std::string(data));
    });
    for (auto& [type, data] : read_message(message, true, sendmail::LineEndings::always, limit))
        headers.add(type, data);
    result.recipients = headers.finish();
    return result;
}

}  // namespace

TEST_CASE("sendmail -t takes To, Cc and Bcc, or only the Resent- ones", "[submission]") {
    using V = std::vector<std::string>;
    CHECK(extract("To: a@b, \"Joe\" <joe@c>\nCc: cc@d\nBcc: bcc@e\nSubject: x\n\nTo: no@x\n")
              .recipients == V{"a@b", "joe@c", "cc@d", "bcc@e"});
    CHECK(extract("To: a@b\nResent-To: r1@x\nCc: c@d\nResent-Cc: r2@x,\n  r3@x\n\n").recipients ==
          V{"r1@x", "r2@x", "r3@x"});
    CHECK(extract("Resent-From: z@z\nTo: a@b\n\n").recipients == V{"a@b"});
    CHECK(extract("to : a@b\nApparently-To: ap@x\nX-To: q@q\n\n").recipients == V{"a@b"});
    CHECK(extract("To: undisclosed-recipients:;\nCc: list: a@b, e@f (C);\n\n").recipients ==
          V{"a@b", "e@f"});
    CHECK(extract("Subject: x\nno header\nTo: late@x\n\n").recipients.empty());
    CHECK(extract("To: a@b, a@b\n\n").recipients == V{"a@b", "a@b"});
}

TEST_CASE("sendmail -t passes the content on as Postfix's sendmail does", "[submission]") {
    using R = Records;
    // White space before the colon goes, the value stays as it was.
    CHECK(extract("To  :  a@b\nX-Bar\t:\tw\n\nbody\n").output ==
          R{{'N', "To:  a@b"}, {'N', "X-Bar:\tw"}, {'N', ""}, {'N', "body"}});
    // A body right after the headers gets its blank line; one without a newline an end.
    CHECK(extract("To: a@b\nbody\n").output == R{{'N', "To: a@b"}, {'N', ""}, {'N', "body"}});
    CHECK(extract("To: a@b\n\nno eol").output ==
          R{{'N', "To: a@b"}, {'N', ""}, {'L', "no eol"}, {'N', ""}});
    CHECK(extract("To: a@b").output == R{{'N', "To: a@b"}});
    CHECK(extract("body only\n").output == R{{'N', ""}, {'N', "body only"}});
    CHECK(extract("To: a@b\n\tfolded\n\n").output ==
          R{{'N', "To: a@b"}, {'N', "\tfolded"}, {'N', ""}});
    CHECK(extract("X: " + std::string(12, 'y') + "\n\n", 10).output ==
          R{{'L', "X: yyyyyyy"}, {'N', "yyyyy"}, {'N', ""}});
}

TEST_CASE("postdrop reads records from a pipe and words errors as Postfix", "[submission]") {
    auto first_error = [](const std::string& bytes, size_t limit = 2048) {
        Fd fd = pipe_with(bytes);
        postdrop::RecordStreamReader reader(fd.get(), "stdin", limit);
        for (;;) {
            auto next = reader.next();
            if (!next)
                return next.error().message();
            if (!next->has_value())
                return std::string("EOF");
        }
    };
    CHECK(first_error(record('S', "a@x") + record('E', "")) == "EOF");
    CHECK(first_error("") == "EOF");
    CHECK(first_error("hello world\n") ==
          "stdin: unexpected EOF in data, record type 104 length 101");
    CHECK(first_error(record('S', "a@x").substr(0, 3)) ==
          "stdin: unexpected EOF in data, record type 83 length 3");
    CHECK(first_error(record('N', std::string(3000, 'x'))) ==
          "stdin: illegal length 3000, record type 78");
    CHECK(first_error(std::string("S\xff\xff\xff\xff\xff\x01", 7)) ==
          "stdin: too many length bits, record type 83");
    CHECK(first_error(std::string("S\x80", 2)) ==
          "stdin: unexpected EOF reading length, record type 83");
    CHECK(first_error(record('N', std::string(2048, 'x'))) == "EOF");
}

namespace {

struct Submitted {
    std::optional<postdrop::SubmissionVerdict> verdict;
    std::string error;
    std::string file;  // the maildrop file's bytes after commit
};

Submitted submit(const std::string& input, std::function<bool(std::string_view)> sender_ok = {}) {
    TemporaryQueue queue;
    Submitted result;
    auto file = postdrop::MaildropFile::create(queue.root, QueueFileOptions{});
    REQUIRE(file);
    Fd fd = pipe_with(input);
    postdrop::RecordStreamReader reader(fd.get(), "stdin", 2048);
    postdrop::SubmissionPolicy policy;
    policy.uid = 1001;
    if (sender_ok)
        policy.sender_allowed = [&](std::string_view s) -> Result<bool> { return sender_ok(s); };
    auto copied = postdrop::copy_submission(reader, *file, policy);
    if (!copied) {
        result.error = copied.error().message();
        return result;
    }
    result.verdict = std::move(*copied);
    if (result.verdict && result.verdict->status == 0) {
        std::string path = file->path();
        REQUIRE(file->commit());
        struct stat status {};
        REQUIRE(::stat(path.c_str(), &status) == 0);
        CHECK((status.st_mode & 07777) == kMaildropModeReady);
        auto bytes = read_file(path);
        REQUIRE(bytes);
        result.file = *bytes;
    }
    return result;
}

const std::string kTail = record('M', "") + record('N', "hi") + record('X', "") + record('E', "");

}  // namespace

TEST_CASE("postdrop copies a good submission, normalizing attributes", "[submission]") {
    std::string input = record('A', " envelope_id = abc ") + record('A', "log_ident=x") +
                        record('A', "bad") + record('F', "Full") + record('S', "a@x") +
                        record('A', "notify_flags=6") + record('R', "b@y") + kTail;
    Submitted done = submit(input);
    REQUIRE(done.verdict);
    CHECK(done.verdict->status == 0);
    CHECK(done.file == record('A', "envelope_id=abc") + record('F', "Full") + record('S', "a@x") +
                           record('A', "notify_flags=6") + record('R', "b@y") + kTail);
}

TEST_CASE("postdrop refuses what Postfix's postdrop refuses", "[submission]") {
    CHECK(submit(record('T', "1 2") + record('S', "a") + record('R', "b") + kTail).error ==
          "uid=1001: unexpected record type: 84");
    CHECK(submit(record('S', "a") + record('R', "b") + record('M', "") + record('S', "x") +
                 record('X', "") + record('E', ""))
              .error == "uid=1001: unexpected record type: 83");
    CHECK(submit("garbage").error == "stdin: unexpected EOF in data, record type 103 length 97");
    auto no_sender = submit(record('R', "b") + kTail);
    REQUIRE(no_sender.verdict);
    CHECK(no_sender.verdict->status == cleanup_status::bad);
    auto no_recipient = submit(record('S', "a") + kTail);
    REQUIRE(no_recipient.verdict);
    CHECK(no_recipient.verdict->status == cleanup_status::bad);
    // Input that stops before E is a cancelled submission.
    CHECK_FALSE(submit(record('S', "a") + record('R', "b")).verdict.has_value());
    CHECK(submit(record('S', "a") + record('R', "b")).error.empty());
}

TEST_CASE("postdrop applies local_login_sender_maps to every sender", "[submission]") {
    auto only_a = [](std::string_view sender) { return sender == "a@x"; };
    auto allowed = submit(record('S', "a@x") + record('R', "b") + kTail, only_a);
    REQUIRE(allowed.verdict);
    CHECK(allowed.verdict->status == 0);
    auto refused =
        submit(record('S', "a@x") + record('S', "c@x") + record('R', "b") + kTail, only_a);
    REQUIRE(refused.verdict);
    CHECK(refused.verdict->status == cleanup_status::noperm);
    CHECK(refused.verdict->reason == "not authorized to use sender='c@x'");
    CHECK(cleanup_status::noperm == 512);  // Postfix's CLEANUP_STAT_NOPERM on the pipe
}

TEST_CASE("local_login_sender_maps patterns", "[submission]") {
    using postdrop::sender_patterns_allow;
    CHECK(sender_patterns_allow("*", "anything@x", "anything@x"));
    CHECK(sender_patterns_allow("a@x, @dom.example", "z@dom.example", "z@dom.example"));
    CHECK_FALSE(sender_patterns_allow("@dom.example", "z@sub.dom.example", "z@sub.dom.example"));
    CHECK(sender_patterns_allow("a@x", "A@X", "A@X"));
    CHECK(sender_patterns_allow("a@x", "a+ext@x", "a@x"));
    CHECK_FALSE(sender_patterns_allow("a@x", "b@x", "b@x"));
    CHECK(sender_patterns_allow("<>", "<>", "<>"));
    CHECK_FALSE(sender_patterns_allow("a@x", "<>", "<>"));
    CHECK_FALSE(sender_patterns_allow("", "a@x", "a@x"));
}
