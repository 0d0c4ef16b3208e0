// The bounce daemon's notices (bounce/): the composition of whole notices against golden
// text (a fixed clock and fixed queue IDs, TZ=UTC), the text helpers that keep untrusted
// reasons from breaking a notice, bounce(5) templates, and the service's decisions (who
// gets which notice, what happens to the log) with an in-memory submitter in place of
// cleanup. The queue files are real ones, written with lib/queue's writer; the logs are
// written with lib/queue's bounce log writer.
//
// The golden notice below has the structure and machine-readable fields of the notice
// real Postfix 3.7.11's bounce daemon made for the same queue file and log (captured with
// tests/system/bounce_golden/capture.py); only the template text is Postern's own.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bounce/bounce_service.hpp"
#include "bounce/bounce_template.hpp"
#include "bounce/notice.hpp"
#include "bounce/notice_text.hpp"
#include "config/config.hpp"
#include "queue/bounce_log.hpp"
#include "queue/queue_file.hpp"
#include "util/log.hpp"

using namespace postern;

namespace {

// Dates in the golden text are UTC.
struct UtcClock {
    UtcClock() {
        ::setenv("TZ", "UTC", 1);
        ::tzset();
    }
};
const UtcClock utc_clock;

class StringSink final : public NoticeSink {
  public:
    void line(std::string_view text) override {
        text_.append(text);
        text_.push_back('\n');
        ++lines_;
    }
    void piece(std::string_view text) override {
        text_.append(text);
        ++pieces_;
    }
    const std::string& text() const { return text_; }
    size_t pieces() const { return pieces_; }

  private:
    std::string text_;
    size_t lines_ = 0;
    size_t pieces_ = 0;
};

// A queue directory in a fresh folder, with a maillog_file for the service's log lines.
struct BounceFixture {
    BounceFixture() {
        char pattern[] = "/tmp/postern-bounce-test.XXXXXX";
        REQUIRE(::mkdtemp(pattern) != nullptr);
        root = pattern;
        queue = root + "/queue";
        for (const char* sub : {"", "/hold", "/active", "/defer", "/bounce", "/trace"})
            REQUIRE(::mkdir((queue + sub).c_str(), 0700) == 0);
        LogSettings log;
        log.program = "bounce";
        log.hostname = "test";
        log.maillog_file = root + "/maillog";
        REQUIRE(log_init(log).ok());
        settings.myhostname = "test.example";
        settings.notify = NotifyClasses{};
        templates = builtin_bounce_templates(false);
        Config config = Config::defaults_only();
        config.set_override("myhostname", "test.example");
        std::vector<std::string> warnings;
        auto expanded = expand_templates(templates, config, settings, warnings);
        REQUIRE(expanded.ok());
        texts = std::move(*expanded);
    }
    ~BounceFixture() {
        LogSettings quiet;
        quiet.maillog_file = "/dev/null";
        (void)log_init(quiet);
        std::error_code ignored;
        std::filesystem::remove_all(root, ignored);
    }

    std::string maillog() const {
        auto text = read_file(root + "/maillog");
        return text ? *text : std::string();
    }

    std::string root;
    std::string queue;
    BounceSettings settings;
    BounceTemplates templates;
    ExpandedTemplates texts;
};

struct WrittenMessage {
    std::string path;
    std::string queue_id;
    std::vector<int64_t> offsets;
};

// The queue file of the golden case: two recipients, one of them expanded from an alias.
WrittenMessage write_message(const std::string& queue,
                             const std::string& sender = "alice@example.org",
                             const std::vector<std::string>& body = {}) {
    auto writer = QueueFileWriter::create(queue, "hold", QueueFileOptions{});
    REQUIRE(writer.ok());
    writer->arrival_time({1700000000, 123456});
    writer->attribute("create_time", "1700000000");
    writer->attribute("rewrite_context", "local");
    writer->full_name("Alice Sender");
    writer->sender(sender);
    WrittenMessage message;
    QueueRecipient bob;
    bob.address = "bob@remote.example";
    bob.original = "bobby@remote.example";
    message.offsets.push_back(writer->recipient(bob));
    QueueRecipient carol;
    carol.address = "carol@remote.example";
    message.offsets.push_back(writer->recipient(carol));
    std::vector<std::string> lines = {"From: Alice <alice@example.org>",
                                      "To: bob@remote.example",
                                      "Subject: hello",
                                      "Message-Id: <m1@example.org>",
                                      "",
                                      "body line 1",
                                      "body line 2"};
    if (!body.empty())
        lines = body;
    for (const std::string& line : lines)
        writer->content_line(line);
    REQUIRE(writer->commit().ok());
    message.path = writer->path();
    message.queue_id = writer->queue_id();
    return message;
}

BounceLogRecord bob_record(int64_t offset) {
    BounceLogRecord record;
    record.recipient = "bob@remote.example";
    record.original_recipient = "bobby@remote.example";
    record.offset = offset;
    record.status.status = "5.1.1";
    record.status.action = "failed";
    record.status.diagnostic_type = "smtp";
    record.status.diagnostic_text =
        "550 5.1.1 <bob@remote.example>: Recipient address rejected: User unknown in virtual "
        "mailbox table";
    record.status.mta_type = "dns";
    record.status.mta_name = "mx.remote.example";
    record.status.reason =
        "host mx.remote.example[192.0.2.1] said: 550 5.1.1 <bob@remote.example>: Recipient "
        "address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)";
    return record;
}

BounceLogRecord carol_record(int64_t offset) {
    BounceLogRecord record;
    record.recipient = "carol@remote.example";
    record.offset = offset;
    record.status.status = "5.4.6";
    record.status.action = "failed";
    record.status.reason = "mail for remote.example loops back to myself";
    return record;
}

std::vector<NoticeRecipient> shown(const std::vector<BounceLogRecord>& records) {
    std::vector<NoticeRecipient> recipients;
    for (const BounceLogRecord& record : records)
        recipients.push_back(
            notice_recipient(parse_bounce_log(format_bounce_log_record(record)).at(0), true));
    return recipients;
}

const char* const kGoldenFailure = R"(Received: by test.example (Postfix)
	id 5E139A740C2; Thu,  3 Dec 2026 09:17:09 +0000 (UTC)
Date: Thu,  3 Dec 2026 09:17:09 +0000 (UTC)
From: Mail Delivery System <MAILER-DAEMON>
Subject: Undelivered Mail Returned to Sender
To: alice@example.org
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="61968A7407A.1796289429/test.example"
Content-Transfer-Encoding: 8bit
Message-Id: <20261203091709.5E139A740C2@test.example>

This is a MIME-encapsulated message.

--61968A7407A.1796289429/test.example
Content-Description: Notification
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This is the mail system at host test.example.

Your message could not be delivered to one or more of its recipients.
The reasons are given below, and your message is attached.

If you need help, write to the postmaster of this system and include
this report; you may remove your own text from the attached message.

                   The mail system

<bob@remote.example> (expanded from <bobby@remote.example>): host
    mx.remote.example[192.0.2.1] said: 550 5.1.1 <bob@remote.example>:
    Recipient address rejected: User unknown in virtual mailbox table (in reply
    to RCPT TO command)

<carol@remote.example>: mail for remote.example loops back to myself

--61968A7407A.1796289429/test.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; test.example
X-Postfix-Queue-ID: 61968A7407A
X-Postfix-Sender: rfc822; alice@example.org
Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000 (UTC)

Final-Recipient: rfc822; bob@remote.example
Original-Recipient: rfc822; bobby@remote.example
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.remote.example
Diagnostic-Code: smtp; 550 5.1.1 <bob@remote.example>: Recipient address
    rejected: User unknown in virtual mailbox table

Final-Recipient: rfc822; carol@remote.example
Action: failed
Status: 5.4.6
Diagnostic-Code: X-Postfix; mail for remote.example loops back to myself

--61968A7407A.1796289429/test.example
Content-Description: Undelivered Message
Content-Type: message/rfc822
Content-Transfer-Encoding: 8bit

Return-Path: <alice@example.org>
From: Alice <alice@example.org>
To: bob@remote.example
Subject: hello
Message-Id: <m1@example.org>

body line 1
body line 2

--61968A7407A.1796289429/test.example--
)";

constexpr int64_t kEventTime = 1796289429;  // Thu Dec  3 09:17:09 2026 UTC

std::string compose(const BounceSettings& settings, const BounceTemplate& notice_template,
                    const std::vector<std::string>& text, const std::string& path,
                    const NoticeSpec& spec, NoticeOrigin origin = {"61968A7407A", "7bit", 0, ""}) {
    std::string warning;
    OriginalMessage original = OriginalMessage::open(path, settings.threaded_bounces, warning);
    NoticeComposer composer(settings, notice_template, text, std::move(origin), original,
                            kEventTime);
    StringSink sink;
    composer.compose(spec, "5E139A740C2", kEventTime, sink);
    return sink.text();
}

// The part of `text` from the line that starts with `from` up to (without) the line that
// starts with `to`.
std::string section(const std::string& text, const std::string& from, const std::string& to) {
    size_t start = text.find("\n" + from);
    REQUIRE(start != std::string::npos);
    size_t end = text.find("\n" + to, start + 1);
    return text.substr(start + 1, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

TEST_CASE("notice text: wrapping as Postfix's line_wrap", "[bounce]") {
    std::vector<std::string> lines = wrap_text(
        "<bob@remote.example> (expanded from <bobby@remote.example>): host "
        "mx.remote.example[192.0.2.1] said: 550 5.1.1 <bob@remote.example>: Recipient address "
        "rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)");
    REQUIRE(lines == std::vector<std::string>{
                         "<bob@remote.example> (expanded from <bobby@remote.example>): host",
                         "    mx.remote.example[192.0.2.1] said: 550 5.1.1 <bob@remote.example>:",
                         "    Recipient address rejected: User unknown in virtual mailbox table "
                         "(in reply",
                         "    to RCPT TO command)"});
    CHECK(wrap_text("") == std::vector<std::string>{""});
    CHECK(wrap_text("short  text   ") == std::vector<std::string>{"short  text"});
    // One word longer than a line stays whole (up to the bound below).
    std::string word(100, 'x');
    CHECK(wrap_text("a " + word + " b") == std::vector<std::string>{"a", "    " + word, "    b"});
}

TEST_CASE("notice text: no line is longer than the bound, and none starts a header", "[bounce]") {
    std::string hostile(3000, 'y');
    std::vector<std::string> lines = wrap_text("Diagnostic-Code: smtp; " + hostile);
    REQUIRE(lines.size() == 5);
    for (size_t i = 0; i < lines.size(); ++i) {
        CHECK(lines[i].size() <= kMaxNoticeLineLength);
        if (i > 0)
            CHECK(lines[i].starts_with("    "));
    }
    std::string joined;
    for (size_t i = 1; i < lines.size(); ++i)
        joined += lines[i].substr(4);
    CHECK(joined == hostile);
}

TEST_CASE("notice text: control characters and bad UTF-8 become '?'", "[bounce]") {
    CHECK(sanitized("550 bad\r\nBcc: victim@example.com", true) ==
          "550 bad??Bcc: victim@example.com");
    CHECK(sanitized("tab\there\x01", true) == "tab?here?");
    CHECK(sanitized("caf\xc3\xa9", true) == "caf\xc3\xa9");
    CHECK(sanitized("caf\xc3\xa9", false) == "caf??");
    CHECK(sanitized("bad \xc3(", true) == "bad ?(");
    CHECK(mail_name_atom("My Mail (v2)") == "My-Mail--v2-");
}

TEST_CASE("notice: a non-delivery notice as Postfix composes it", "[bounce]") {
    BounceFixture fixture;
    WrittenMessage message = write_message(fixture.queue);
    NoticeSpec spec{NoticeKind::failure, false, "alice@example.org", dsn::ret_full,
                    shown({bob_record(message.offsets[0]), carol_record(message.offsets[1])})};
    std::string notice = compose(fixture.settings, fixture.templates.failure, fixture.texts.failure,
                                 message.path, spec);
    CHECK(notice == kGoldenFailure);
}

TEST_CASE("notice: postmaster copy, headers only, 7-bit", "[bounce]") {
    BounceFixture fixture;
    fixture.settings.smtputf8_enable = false;
    WrittenMessage message = write_message(fixture.queue);
    NoticeSpec spec{NoticeKind::failure, true, "postmaster", dsn::ret_hdrs,
                    shown({carol_record(message.offsets[1])})};
    std::string notice = compose(fixture.settings, fixture.templates.failure, fixture.texts.failure,
                                 message.path, spec);
    CHECK(section(notice, "Subject:", "Auto-Submitted:") ==
          "Subject: Postmaster Copy: Undelivered Mail\nTo: postmaster\n");
    CHECK(notice.find("Auto-Submitted: auto-generated\n") != std::string::npos);
    CHECK(notice.find("Content-Transfer-Encoding: 7bit\n") != std::string::npos);
    CHECK(notice.find("Content-Transfer-Encoding: 8bit") == std::string::npos);
    // No template text in a postmaster copy: the recipient follows the part's header.
    CHECK(notice.find("charset=us-ascii\n\n\n<carol@remote.example>: mail for") !=
          std::string::npos);
    CHECK(notice.find("This is the mail system") == std::string::npos);
    CHECK(section(notice, "Content-Description: Undelivered Message Headers", "--61968") ==
          "Content-Description: Undelivered Message Headers\n"
          "Content-Type: text/rfc822-headers\n\n"
          "Return-Path: <alice@example.org>\n"
          "From: Alice <alice@example.org>\n"
          "To: bob@remote.example\n"
          "Subject: hello\n"
          "Message-Id: <m1@example.org>\n\n");
}

TEST_CASE("notice: a message over bounce_size_limit returns its headers only", "[bounce]") {
    BounceFixture fixture;
    fixture.settings.bounce_size_limit = 20;
    WrittenMessage message = write_message(fixture.queue);
    NoticeSpec spec{NoticeKind::failure, false, "alice@example.org", dsn::ret_full,
                    shown({carol_record(message.offsets[1])})};
    std::string notice = compose(fixture.settings, fixture.templates.failure, fixture.texts.failure,
                                 message.path, spec);
    CHECK(notice.find("Content-Description: Undelivered Message Headers\n"
                      "Content-Type: text/rfc822-headers\n") != std::string::npos);
    CHECK(notice.find("body line 1") == std::string::npos);
    fixture.settings.bounce_size_limit = 0;  // no limit
    notice = compose(fixture.settings, fixture.templates.failure, fixture.texts.failure,
                     message.path, spec);
    CHECK(notice.find("body line 1") != std::string::npos);
}

TEST_CASE("notice: the queue file gone, and the log gone", "[bounce]") {
    BounceFixture fixture;
    NoticeSpec spec{NoticeKind::failure, false, "alice@example.org", dsn::ret_full, std::nullopt};
    std::string notice = compose(fixture.settings, fixture.templates.failure, fixture.texts.failure,
                                 fixture.queue + "/hold/NOSUCHFILE", spec);
    CHECK(notice.find("\n\t--- Delivery report unavailable ---\n") != std::string::npos);
    CHECK(section(notice, "Reporting-MTA:", "--61968") ==
          "Reporting-MTA: dns; test.example\nX-Postfix-Queue-ID: 61968A7407A\n\n");
    CHECK(notice.find("Content-Description: Undelivered Message\n"
                      "Content-Type: message/rfc822\n"
                      "Content-Transfer-Encoding: 8bit\n\n"
                      "\t--- Undelivered message unavailable ---\n\n"
                      "--61968A7407A.1796289429/test.example--\n") != std::string::npos);
}

TEST_CASE("notice: a damaged queue file gives what it can", "[bounce]") {
    BounceFixture fixture;
    std::vector<std::string> body = {"Subject: cut short", "", std::string(5000, 'L'), "tail"};
    WrittenMessage message = write_message(fixture.queue, "alice@example.org", body);
    auto bytes = read_file(message.path);
    REQUIRE(bytes.ok());
    // Cut inside the long line's second piece: the envelope and the start of the content
    // are still there; the size record no longer fits the file.
    size_t cut = bytes->find(std::string(2048, 'L')) + 2048 + 100;
    REQUIRE(::truncate(message.path.c_str(), static_cast<off_t>(cut)) == 0);
    NoticeSpec spec{NoticeKind::failure, false, "alice@example.org", dsn::ret_full,
                    shown({carol_record(message.offsets[1])})};
    fixture.settings.bounce_size_limit = 0;
    StringSink sink;
    std::string warning;
    OriginalMessage original = OriginalMessage::open(message.path, false, warning);
    CHECK(original.envelope().sender == std::string("alice@example.org"));
    CHECK(original.envelope().arrival_time == 1700000000);
    NoticeComposer composer(fixture.settings, fixture.templates.failure, fixture.texts.failure,
                            NoticeOrigin{"61968A7407A", "8bit", 0, ""}, original, kEventTime);
    composer.compose(spec, "5E139A740C2", kEventTime, sink);
    const std::string& notice = sink.text();
    CHECK(sink.pieces() == 1);  // the first 2048-byte piece of the long line
    CHECK(notice.find("Return-Path: <alice@example.org>\nSubject: cut short\n\n" +
                      std::string(2048, 'L') + "\n\n--61968A7407A.1796289429/test.example--\n") !=
          std::string::npos);
    CHECK(notice.find("tail") == std::string::npos);
}

TEST_CASE("notice: SMTPUTF8 originals get message/global parts and utf-8 addresses", "[bounce]") {
    BounceFixture fixture;
    WrittenMessage message = write_message(fixture.queue, "j\xc3\xb6rg@ex\xc3\xa4mple.org");
    BounceLogRecord record = carol_record(message.offsets[1]);
    record.recipient = "\xce\xb4@\xcf\x80.example";
    NoticeSpec spec{NoticeKind::failure, false, "j\xc3\xb6rg@ex\xc3\xa4mple.org", dsn::ret_full,
                    shown({record})};
    std::string notice = compose(fixture.settings, fixture.templates.failure, fixture.texts.failure,
                                 message.path, spec, NoticeOrigin{"61968A7407A", "8bit", 1, ""});
    CHECK(notice.find("To: j\xc3\xb6rg@ex\xc3\xa4mple.org\n") != std::string::npos);
    CHECK(notice.find("Content-Type: message/global-delivery-status\n"
                      "Content-Transfer-Encoding: 8bit\n") != std::string::npos);
    CHECK(notice.find("X-Postfix-Sender: utf-8; j\xc3\xb6rg@ex\xc3\xa4mple.org\n") !=
          std::string::npos);
    CHECK(notice.find("Final-Recipient: utf-8; \xce\xb4@\xcf\x80.example\n") != std::string::npos);
    CHECK(notice.find("Content-Type: message/global\n") != std::string::npos);
}

TEST_CASE("notice: delay warnings and success notices", "[bounce]") {
    BounceFixture fixture;
    fixture.settings.maximal_queue_lifetime = 5 * 86400;
    WrittenMessage message = write_message(fixture.queue);
    BounceLogRecord delayed = carol_record(message.offsets[1]);
    delayed.status.status = "4.4.1";
    delayed.status.action = "delayed";
    delayed.status.reason = "connect to mx.remote.example[192.0.2.1]:25: Connection refused";
    NoticeSpec spec{NoticeKind::delay, false, "alice@example.org", dsn::ret_hdrs, shown({delayed})};
    std::string notice =
        compose(fixture.settings, fixture.templates.delay, fixture.texts.delay, message.path, spec,
                NoticeOrigin{"61968A7407A", "7bit", 0, "env-1"});
    CHECK(notice.find("Subject: Delayed Mail (still being retried)\n") != std::string::npos);
    CHECK(section(notice, "Reporting-MTA:", "X-Postfix-Queue-ID:") ==
          "Reporting-MTA: dns; test.example\nOriginal-Envelope-Id: env-1\n");
    CHECK(section(notice, "Final-Recipient:", "--61968") ==
          "Final-Recipient: rfc822; carol@remote.example\n"
          "Action: delayed\n"
          "Status: 4.4.1\n"
          "Diagnostic-Code: X-Postfix; connect to mx.remote.example[192.0.2.1]:25:\n"
          "    Connection refused\n"
          "Will-Retry-Until: Sun, 19 Nov 2023 22:13:20 +0000 (UTC)\n\n");
    CHECK(notice.find("Content-Description: Undelivered Message Headers\n") != std::string::npos);

    BounceLogRecord relayed = bob_record(message.offsets[0]);
    relayed.status.status = "2.0.0";
    relayed.status.action = "relayed";
    relayed.dsn_notify = dsn::notify_success;
    NoticeSpec success{NoticeKind::success, false, "alice@example.org", dsn::ret_hdrs,
                       shown({relayed})};
    notice = compose(fixture.settings, fixture.templates.success, fixture.texts.success,
                     message.path, success);
    CHECK(notice.find("Subject: Successful Mail Delivery Report\n") != std::string::npos);
    CHECK(notice.find("Action: relayed\nStatus: 2.0.0\n") != std::string::npos);
    CHECK(notice.find("Content-Description: Message Headers\n") != std::string::npos);
}

TEST_CASE("notice: hostile log text stays inside its field", "[bounce]") {
    BounceFixture fixture;
    WrittenMessage message = write_message(fixture.queue);
    BounceLogRecord record = carol_record(message.offsets[1]);
    record.status.reason = "550 no\r\n--61968A7407A.1796289429/test.example\r\nBcc: x@y";
    record.status.diagnostic_type = "smtp";
    record.status.diagnostic_text = record.status.reason + " " + std::string(2000, 'z');
    NoticeSpec spec{NoticeKind::failure, false, "alice@example.org\r\nBcc: victim@example.com",
                    dsn::ret_full, std::vector<NoticeRecipient>{notice_recipient(record, true)}};
    std::string notice = compose(fixture.settings, fixture.templates.failure, fixture.texts.failure,
                                 message.path, spec);
    CHECK(notice.find("\nBcc:") == std::string::npos);
    std::string to_line = section(notice, "To:", "Auto-Submitted:");
    CHECK(to_line == "To: \"alice@example.org\\??Bcc: victim\"@example.com\n");
    CHECK(notice.find("\n--61968A7407A.1796289429/test.example\n"
                      "Content-Description: Delivery report") != std::string::npos);
    size_t boundaries = 0;
    for (size_t at = notice.find("\n--61968"); at != std::string::npos;
         at = notice.find("\n--61968", at + 1))
        ++boundaries;
    CHECK(boundaries == 4);  // three parts and the end: none from the reason
    size_t start = 0;
    while (start < notice.size()) {
        size_t end = notice.find('\n', start);
        CHECK(end - start <= kMaxNoticeLineLength);
        start = end + 1;
    }
}

TEST_CASE("notice: threaded bounces refer to the original Message-ID", "[bounce]") {
    BounceFixture fixture;
    fixture.settings.threaded_bounces = true;
    WrittenMessage message = write_message(fixture.queue);
    NoticeSpec spec{NoticeKind::failure, false, "alice@example.org", dsn::ret_full,
                    shown({carol_record(message.offsets[1])})};
    std::string notice = compose(fixture.settings, fixture.templates.failure, fixture.texts.failure,
                                 message.path, spec);
    CHECK(section(notice, "To:", "Auto-Submitted:") ==
          "To: alice@example.org\nReferences: <m1@example.org>\nIn-Reply-To: <m1@example.org>\n");
}

TEST_CASE("templates: a bounce(5) file replaces what it defines", "[bounce]") {
    BounceTemplates templates = builtin_bounce_templates(true);
    CHECK(templates.failure.from == "MAILER-DAEMON (Mail Delivery System)");
    std::vector<std::string> warnings;
    std::string file =
        "# comment\n"
        "\n"
        "failure_template = <<EOF\n"
        "Charset: iso-8859-1\n"
        "From: bounces@mx.example (Bounce Robot)\n"
        "Subject: Custom failure\n"
        "Postmaster-Subject: Custom postmaster\n"
        "\n"
        "Hello from $myhostname ($mail_name), \xe9t\xe9.\n"
        "Kept ${maximal_queue_lifetime_days} days, warned after $delay_warning_time_hours h; $$5.\n"
        "EOF\n"
        "success_template = <<END\n"
        "Postmaster-Subject: not for success\n"
        "\n"
        "text\n"
        "END\n"
        "mystery_template = <<EOF\n"
        "x\n"
        "EOF\n";
    REQUIRE(load_bounce_templates(file, "/etc/bounce.cf", templates, warnings).ok());
    CHECK(templates.failure.from == "bounces@mx.example (Bounce Robot)");
    CHECK(templates.failure.subject == "Custom failure");
    CHECK(templates.failure.postmaster_subject == "Custom postmaster");
    CHECK(templates.failure.charset == "iso-8859-1");
    CHECK(templates.failure.eight_bit);
    CHECK(templates.success.subject == "Successful Mail Delivery Report");  // left as built in
    REQUIRE(warnings.size() == 2);
    CHECK(warnings[0] ==
          "/etc/bounce.cf: inapplicable \"Postmaster-Subject\" header label in success template "
          "-- ignoring this template");
    CHECK(warnings[1] ==
          "/etc/bounce.cf, line 17: unknown template name: mystery_template -- "
          "ignoring this template");

    Config config = Config::defaults_only();
    config.set_override("myhostname", "mx.example");
    warnings.clear();
    auto text = expand_template_text(templates.failure, config, TemplateTimes{4 * 3600, 5 * 86400},
                                     warnings);
    REQUIRE(text.ok());
    CHECK(*text == std::vector<std::string>{"Hello from mx.example (Postfix), \xe9t\xe9.",
                                            "Kept 5 days, warned after 4 h; $5."});
}

TEST_CASE("templates: errors and unusable templates", "[bounce]") {
    std::vector<std::string> warnings;
    BounceTemplates templates = builtin_bounce_templates(false);
    Status status = load_bounce_templates("failure_template <<EOF\n", "f", templates, warnings);
    REQUIRE(!status.ok());
    CHECK(status.error().message() ==
          "f, line 1: missing '=' after attribute name: \"failure_template <<EOF\"");
    status = load_bounce_templates("failure_template = <<\n", "f", templates, warnings);
    REQUIRE(!status.ok());
    CHECK(status.error().message() == "f, line 1: missing end marker after <<");

    warnings.clear();
    REQUIRE(load_bounce_templates("delay_template = <<EOF\nSubject: x\n\n8-bit \xe9\nEOF\n"
                                  "failure_template = <<EOF\nX-Unknown: y\n\ntext\n",
                                  "f", templates, warnings)
                .ok());
    CHECK(templates.delay.subject == "Delayed Mail (still being retried)");
    CHECK(templates.failure.subject == "Undelivered Mail Returned to Sender");
    REQUIRE(warnings.size() == 5);
    CHECK(warnings[0] == "f: 8-bit message text in delay template");
    CHECK(warnings[3] == "f, line 6: missing \"EOF\" end marker");
    CHECK(warnings[4] ==
          "f: unknown \"X-Unknown\" header label in failure template -- ignoring "
          "this template");

    Config config = Config::defaults_only();
    BounceTemplate broken = templates.failure;
    broken.text = {"see $no_such_parameter_here"};
    auto text = expand_template_text(broken, config, TemplateTimes{}, warnings);
    REQUIRE(!text.ok());
    CHECK(text.error().message() ==
          "[built-in]: undefined $name in failure template: see $no_such_parameter_here");
    broken.text = {"$maximal_queue_lifetime_fortnights"};
    text = expand_template_text(broken, config, TemplateTimes{}, warnings);
    REQUIRE(!text.ok());
    CHECK(text.error().message() ==
          "[built-in]: unrecognized suffix \"fortnights\" in parameter "
          "\"maximal_queue_lifetime_fortnights\"");
}

namespace {

// Cleanup's stand-in: keeps every notice, or refuses them all.
class MemorySubmitter final : public NoticeSubmitter {
  public:
    struct Notice {
        NoticeEnvelope envelope;
        std::string id;
        std::string text;
    };

    Result<std::string> submit(const NoticeEnvelope& envelope, const Compose& compose) override {
        if (refuse)
            return Error(ErrorKind::temporary, "cleanup: queue file write error");
        std::string id = "NOTICE" + std::to_string(notices.size() + 1);
        StringSink sink;
        compose(id, sink);
        notices.push_back(Notice{envelope, id, sink.text()});
        return id;
    }

    bool refuse = false;
    std::vector<Notice> notices;
};

struct ServiceFixture : BounceFixture {
    ServiceFixture() : message(write_message(queue)) {}

    BounceService service() {
        return BounceService(settings, templates, texts, submitter, queue,
                             [] { return kEventTime; });
    }

    void write_log(const std::string& log, const std::vector<BounceLogRecord>& records) {
        for (const BounceLogRecord& record : records)
            REQUIRE(append_bounce_log(queue, settings.hashing, log, message.queue_id, record).ok());
    }

    bool log_exists(const std::string& log) const {
        return read_bounce_log(queue, settings.hashing, log, message.queue_id).ok();
    }

    BounceRequest request(std::string word, std::string log, std::string sender) const {
        BounceRequest request;
        request.request = std::move(word);
        request.queue_name = "hold";
        request.queue_id = message.queue_id;
        request.log = std::move(log);
        request.sender = std::move(sender);
        request.encoding = "7bit";
        return request;
    }

    std::vector<RecipientStatus> recipient_states() const {
        auto reader = QueueFileReader::open(message.path);
        REQUIRE(reader.ok());
        auto envelope = reader->read_envelope();
        REQUIRE(envelope.ok());
        std::vector<RecipientStatus> states;
        for (const QueueRecipient& recipient : envelope->recipients)
            states.push_back(recipient.status);
        return states;
    }

    MemorySubmitter submitter;
    WrittenMessage message;
};

}  // namespace

TEST_CASE("service: flush to the sender, postmaster copy per notify_classes", "[bounce]") {
    ServiceFixture fixture;
    fixture.settings.notify.bounce = true;
    fixture.write_log("bounce", {bob_record(fixture.message.offsets[0]),
                                 carol_record(fixture.message.offsets[1])});
    BounceService service = fixture.service();
    BounceReply reply = service.handle(fixture.request("flush", "bounce", "alice@example.org"));
    CHECK(reply.status == 0);
    REQUIRE(fixture.submitter.notices.size() == 2);
    const auto& sender_notice = fixture.submitter.notices[0];
    CHECK(sender_notice.envelope.sender.empty());
    CHECK(sender_notice.envelope.recipient == "alice@example.org");
    CHECK(sender_notice.text.find("Subject: Undelivered Mail Returned to Sender\n") !=
          std::string::npos);
    const auto& copy = fixture.submitter.notices[1];
    CHECK(copy.envelope.sender == "double-bounce@test.example");
    CHECK(copy.envelope.recipient == "postmaster");
    CHECK(copy.text.find("Subject: Postmaster Copy: Undelivered Mail\n") != std::string::npos);
    CHECK(copy.text.find("Content-Type: text/rfc822-headers\n") != std::string::npos);
    CHECK(!fixture.log_exists("bounce"));
    CHECK(fixture.recipient_states() ==
          std::vector<RecipientStatus>{RecipientStatus::done, RecipientStatus::done});
    std::string maillog = fixture.maillog();
    CHECK(maillog.find(fixture.message.queue_id +
                       ": sender non-delivery notification: NOTICE1\n") != std::string::npos);
    CHECK(maillog.find(fixture.message.queue_id +
                       ": postmaster non-delivery notification: NOTICE2\n") != std::string::npos);
}

TEST_CASE("service: DSN NOTIFY decides who is reported", "[bounce]") {
    ServiceFixture fixture;
    BounceLogRecord never = bob_record(fixture.message.offsets[0]);
    never.dsn_notify = dsn::notify_never;
    BounceLogRecord failure = carol_record(fixture.message.offsets[1]);
    failure.dsn_notify = dsn::notify_failure | dsn::notify_delay;
    fixture.write_log("bounce", {never, failure});
    BounceService service = fixture.service();
    CHECK(service.handle(fixture.request("flush", "bounce", "alice@example.org")).status == 0);
    REQUIRE(fixture.submitter.notices.size() == 1);
    const std::string& text = fixture.submitter.notices[0].text;
    CHECK(text.find("carol@remote.example") != std::string::npos);
    CHECK(text.find("Final-Recipient: rfc822; bob@remote.example") == std::string::npos);

    // Nobody left to tell: no notice, and the request is done (the log goes).
    ServiceFixture silent;
    silent.write_log("bounce", {never});
    BounceService quiet = silent.service();
    CHECK(quiet.handle(silent.request("flush", "bounce", "alice@example.org")).status == 0);
    CHECK(silent.submitter.notices.empty());
    CHECK(!silent.log_exists("bounce"));
}

TEST_CASE("service: bounces of bounces", "[bounce]") {
    ServiceFixture fixture;
    fixture.write_log("bounce", {carol_record(fixture.message.offsets[1])});
    BounceService service = fixture.service();
    // notify_classes without bounce or 2bounce: nothing is sent, the log goes.
    CHECK(service.handle(fixture.request("flush", "bounce", "")).status == 0);
    CHECK(fixture.submitter.notices.empty());
    CHECK(!fixture.log_exists("bounce"));

    fixture.settings.notify.double_bounce = true;
    fixture.write_log("bounce", {carol_record(fixture.message.offsets[1])});
    CHECK(service.handle(fixture.request("flush", "bounce", "")).status == 0);
    REQUIRE(fixture.submitter.notices.size() == 1);
    const auto& notice = fixture.submitter.notices[0];
    CHECK(notice.envelope.sender == "double-bounce@test.example");
    CHECK(notice.envelope.recipient == "postmaster");
    CHECK(notice.text.find("Auto-Submitted: auto-generated\n") != std::string::npos);
    CHECK(notice.text.find("Content-Description: Undelivered Message\n"
                           "Content-Type: message/rfc822\n") != std::string::npos);

    // A notice to the double-bounce address is never answered.
    fixture.write_log("bounce", {carol_record(fixture.message.offsets[1])});
    CHECK(service.handle(fixture.request("flush", "bounce", "Double-Bounce@test.example")).status ==
          0);
    CHECK(fixture.submitter.notices.size() == 1);
    CHECK(!fixture.log_exists("bounce"));
    CHECK(fixture.maillog().find("warning: " + fixture.message.queue_id +
                                 ": undeliverable postmaster notification discarded") !=
          std::string::npos);
}

TEST_CASE("service: cleanup refuses, the request is retried and nothing is lost", "[bounce]") {
    ServiceFixture fixture;
    fixture.write_log("bounce", {carol_record(fixture.message.offsets[1])});
    fixture.submitter.refuse = true;
    BounceService service = fixture.service();
    BounceReply reply = service.handle(fixture.request("flush", "bounce", "alice@example.org"));
    CHECK(reply.status == 1);
    CHECK(!reply.reason.empty());
    CHECK(fixture.log_exists("bounce"));
    CHECK(fixture.recipient_states() ==
          std::vector<RecipientStatus>{RecipientStatus::pending, RecipientStatus::pending});
    CHECK(fixture.maillog().find("sender non-delivery notification failed: cleanup: queue file "
                                 "write error") != std::string::npos);
}

TEST_CASE("service: delay warnings keep the log, success notices remove it", "[bounce]") {
    ServiceFixture fixture;
    fixture.settings.notify.delay = true;
    BounceLogRecord delayed = carol_record(fixture.message.offsets[1]);
    delayed.status.status = "4.4.1";
    delayed.status.action = "delayed";
    fixture.write_log("defer", {delayed});
    BounceService service = fixture.service();
    CHECK(service.handle(fixture.request("warn", "defer", "alice@example.org")).status == 0);
    REQUIRE(fixture.submitter.notices.size() == 2);
    CHECK(fixture.submitter.notices[1].envelope.sender == "double-bounce@test.example");
    CHECK(fixture.submitter.notices[1].text.find("Subject: Postmaster Warning: Delayed Mail\n") !=
          std::string::npos);
    CHECK(fixture.log_exists("defer"));
    CHECK(fixture.maillog().find(": sender delay notification: NOTICE1") != std::string::npos);
    CHECK(fixture.maillog().find(": postmaster delay notification: NOTICE2") != std::string::npos);

    // A delay of a notice itself: the postmaster gets the whole message.
    CHECK(service.handle(fixture.request("warn", "defer", "")).status == 0);
    REQUIRE(fixture.submitter.notices.size() == 3);
    CHECK(fixture.submitter.notices[2].envelope.recipient == "postmaster");
    CHECK(fixture.submitter.notices[2].text.find("Content-Type: message/rfc822\n") !=
          std::string::npos);
    fixture.submitter.notices.pop_back();

    // No trace log: nobody asked for a success notice.
    CHECK(service.handle(fixture.request("trace", "trace", "alice@example.org")).status == 0);
    CHECK(fixture.submitter.notices.size() == 2);
    BounceLogRecord relayed = bob_record(fixture.message.offsets[0]);
    relayed.status.status = "2.0.0";
    relayed.status.action = "relayed";
    relayed.dsn_notify = dsn::notify_success;
    fixture.write_log("trace", {relayed});
    CHECK(service.handle(fixture.request("trace", "trace", "alice@example.org")).status == 0);
    REQUIRE(fixture.submitter.notices.size() == 3);
    CHECK(fixture.submitter.notices[2].text.find("Action: relayed\n") != std::string::npos);
    CHECK(!fixture.log_exists("trace"));
    CHECK(fixture.recipient_states() ==
          std::vector<RecipientStatus>{RecipientStatus::pending, RecipientStatus::pending});
    CHECK(fixture.maillog().find(": sender delivery status notification: NOTICE3") !=
          std::string::npos);
}
