// The queue file format (lib/queue/queue_file): writer and reader round trips, byte-exact
// equality with files real Postfix 3.7.11 wrote, the durable commit, done-marking, and a
// reader that turns every truncation and every garbled byte into a corrupt error.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "queue/queue_file.hpp"
#include "util/file.hpp"

using namespace postern;

namespace {

// Written by Postfix 3.7.11's cleanup (sendmail submission, one recipient delivered by
// discard and marked done by qmgr, the other deferred): deferred/8/9/4jZJ3R3zhqz1bgKb.
const std::string kPostfixDeferred(
    "C_            265             357               2               0             265"
    "               0T\0211795607603 555771A\026create_time=1795607603A\025rewrite_con"
    "text=localF\004rootS\015a@example.comA(dsn_orig_rcpt=rfc822;done@remote.exampleO\023"
    "done@remote.exampleD\023done@remote.exampleA)dsn_orig_rcpt=rfc822;later@remote.ex"
    "ampleO\024later@remote.exampleR\024later@remote.exampleM\000N4Received: by mx.exa"
    "mple.com (Postfix, from userid 0)N;\tid 4jZJ3R3zhqz1bgKb; Wed, 25 Nov 2026 11:53:"
    "23 +0000 (UTC)N\024Subject: partly doneN-Message-Id: <4jZJ3R3zhqz1bgKb@mx.example"
    ".com>N+Date: Wed, 25 Nov 2026 11:53:23 +0000 (UTC)N\032From: root <a@example.com>"
    "N\000N\004bodyX\000E\000",
    626);

// Written by Postfix 3.7.11's cleanup for `sendmail -N success,delay -R hdrs -V envid-456`.
const std::string kPostfixDsn(
    "C_            275             327               1              20             275"
    "               0T\0211795607401 980077A\026create_time=1795607402A\025envelope_id"
    "=envid-456A\013ret_flags=2A\025rewrite_context=localF\004rootS\021henry@example.c"
    "omA\017notify_flags=10A(dsn_orig_rcpt=rfc822;ivan@remote.exampleO\023ivan@remote."
    "exampleR\023ivan@remote.exampleM\000N4Received: by mx.example.com (Postfix, from "
    "userid 0)N6\tid F1310A7634A; Wed, 25 Nov 2026 11:50:01 +0000 (UTC)N\025Subject: s"
    "endmail dsnN7Message-Id: <20261125115002.F1310A7634A@mx.example.com>N+Date: Wed, "
    "25 Nov 2026 11:50:01 +0000 (UTC)N\036From: root <henry@example.com>N\000N\004body"
    "X\000E\000",
    606);

class TemporaryQueue {
  public:
    TemporaryQueue() {
        char pattern[] = "/tmp/postern-queue-file-test.XXXXXX";
        REQUIRE(::mkdtemp(pattern) != nullptr);
        root = pattern;
        for (const char* name : {"incoming", "active", "deferred", "corrupt", "hold"})
            std::filesystem::create_directory(root + "/" + name);
    }
    ~TemporaryQueue() { std::filesystem::remove_all(root); }
    std::string root;
};

QueueFileOptions fixed_clock_options(QueueTime when = {1795607603, 555771}) {
    QueueFileOptions options;
    options.clock = [when] { return when; };
    return options;
}

std::string file_bytes(const std::string& path) {
    auto bytes = read_file(path);
    REQUIRE(bytes);
    return *bytes;
}

mode_t file_mode(const std::string& path) {
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    return info.st_mode & 07777;
}

QueueRecipient make_recipient(std::string address, std::string original = {},
                              std::string orcpt = {}, int notify = 0) {
    QueueRecipient recipient;
    recipient.address = std::move(address);
    recipient.original = std::move(original);
    recipient.dsn_orcpt = std::move(orcpt);
    recipient.dsn_notify = notify;
    return recipient;
}

// Content bytes a mail system must carry unchanged: 8-bit text and a NUL.
std::string eight_bit_line() {
    static constexpr char kLine[] = "8bit \xe9\xe8 and NUL \0 here";
    return std::string(kLine, sizeof kLine - 1);
}

// The lines of the message both Postfix samples and several tests use.
std::vector<std::string> deferred_sample_lines() {
    return {"Received: by mx.example.com (Postfix, from userid 0)",
            "\tid 4jZJ3R3zhqz1bgKb; Wed, 25 Nov 2026 11:53:23 +0000 (UTC)",
            "Subject: partly done",
            "Message-Id: <4jZJ3R3zhqz1bgKb@mx.example.com>",
            "Date: Wed, 25 Nov 2026 11:53:23 +0000 (UTC)",
            "From: root <a@example.com>",
            "",
            "body"};
}

Result<QueueFileContents> parse(std::string_view bytes,
                                size_t max_record = kDefaultMaxRecordLength) {
    QueueFileReader reader = QueueFileReader::from_memory(bytes, "test", max_record);
    return read_queue_file(reader);
}

// A file with a bit of everything: DSN, a long line, 8-bit and NUL bytes, extracted records.
std::string write_varied_file(TemporaryQueue& queue, std::string* id = nullptr) {
    QueueFileOptions options = fixed_clock_options();
    options.buffer_size = 100;  // many small writes
    auto writer = QueueFileWriter::create(queue.root, "incoming", options);
    REQUIRE(writer);
    writer->arrival_time({1795607603, 555771});
    writer->attribute("create_time", "1795607603");
    writer->dsn_envelope("env-123", dsn::ret_hdrs);
    writer->sender("dave@example.com");
    writer->recipient(make_recipient("erin@remote.example", "erin@remote.example",
                                     "rfc822;erin-orig@remote.example",
                                     dsn::notify_success | dsn::notify_delay));
    writer->recipient(make_recipient("frank@remote.example", "", "", dsn::notify_never));
    writer->content_line("Subject: varied");
    writer->content_line("");
    writer->content_line(std::string(5000, 'x'));
    writer->content_line(eight_bit_line());
    writer->content_line("last");
    writer->begin_extracted();
    writer->attribute("encoding", "8bit");
    REQUIRE(writer->commit());
    if (id)
        *id = writer->queue_id();
    return file_bytes(writer->path());
}

}  // namespace

TEST_CASE("the writer produces Postfix's bytes for the same message", "[queue]") {
    TemporaryQueue queue;
    auto writer = QueueFileWriter::create(queue.root, "incoming", fixed_clock_options());
    REQUIRE(writer);
    writer->arrival_time({1795607603, 555771});
    writer->attribute("create_time", "1795607603");
    writer->attribute("rewrite_context", "local");
    writer->full_name("root");
    writer->sender("a@example.com");
    QueueRecipient done =
        make_recipient("done@remote.example", "done@remote.example", "rfc822;done@remote.example");
    done.status = RecipientStatus::done;
    CHECK(writer->recipient(done) == 247);  // postcat -o shows the D record at 247
    CHECK(writer->recipient(make_recipient("later@remote.example", "later@remote.example",
                                           "rfc822;later@remote.example")) == 333);
    writer->begin_content();
    for (const std::string& line : deferred_sample_lines())
        writer->content_line(line);
    REQUIRE(writer->commit());
    CHECK(file_bytes(writer->path()) == kPostfixDeferred);
}

TEST_CASE("the writer produces Postfix's bytes for DSN fields", "[queue]") {
    TemporaryQueue queue;
    auto writer = QueueFileWriter::create(queue.root, "incoming", fixed_clock_options());
    REQUIRE(writer);
    writer->arrival_time({1795607401, 980077});
    writer->attribute("create_time", "1795607402");
    writer->dsn_envelope("envid-456", dsn::ret_hdrs);
    writer->attribute("rewrite_context", "local");
    writer->full_name("root");
    writer->sender("henry@example.com");
    writer->recipient(make_recipient("ivan@remote.example", "ivan@remote.example",
                                     "rfc822;ivan@remote.example",
                                     dsn::notify_success | dsn::notify_delay));
    writer->begin_content();
    for (const char* line :
         {"Received: by mx.example.com (Postfix, from userid 0)",
          "\tid F1310A7634A; Wed, 25 Nov 2026 11:50:01 +0000 (UTC)", "Subject: sendmail dsn",
          "Message-Id: <20261125115002.F1310A7634A@mx.example.com>",
          "Date: Wed, 25 Nov 2026 11:50:01 +0000 (UTC)", "From: root <henry@example.com>", "",
          "body"})
        writer->content_line(line);
    REQUIRE(writer->commit());
    CHECK(file_bytes(writer->path()) == kPostfixDsn);
}

TEST_CASE("the reader reads Postfix's queue files", "[queue]") {
    auto contents = parse(kPostfixDeferred);
    REQUIRE(contents);
    const QueueEnvelope& envelope = contents->envelope;
    CHECK(envelope.size.content_size == 265);
    CHECK(envelope.size.content_offset == 357);
    CHECK(envelope.size.recipient_count == 2);
    CHECK(envelope.arrival == QueueTime{1795607603, 555771});
    CHECK(envelope.create_time == 1795607603);
    CHECK(envelope.full_name == "root");
    CHECK(envelope.sender == "a@example.com");
    REQUIRE(envelope.attributes.size() == 2);
    CHECK(envelope.attributes[1] ==
          std::make_pair(std::string("rewrite_context"), std::string("local")));
    REQUIRE(envelope.recipients.size() == 2);
    CHECK(envelope.recipients[0].address == "done@remote.example");
    CHECK(envelope.recipients[0].status == RecipientStatus::done);
    CHECK(envelope.recipients[0].offset == 247);
    CHECK(envelope.recipients[0].dsn_orcpt == "rfc822;done@remote.example");
    CHECK(envelope.recipients[1].address == "later@remote.example");
    CHECK(envelope.recipients[1].original == "later@remote.example");
    CHECK(envelope.recipients[1].status == RecipientStatus::pending);
    CHECK(envelope.recipients[1].offset == 333);
    CHECK(contents->lines == deferred_sample_lines());

    auto dsn = parse(kPostfixDsn);
    REQUIRE(dsn);
    CHECK(dsn->envelope.envelope_id == "envid-456");
    CHECK(dsn->envelope.dsn_ret == dsn::ret_hdrs);
    CHECK(dsn->envelope.size.qmgr_flags == 20);
    REQUIRE(dsn->envelope.recipients.size() == 1);
    CHECK(dsn->envelope.recipients[0].dsn_notify == (dsn::notify_success | dsn::notify_delay));
}

TEST_CASE("a written file reads back the same", "[queue]") {
    TemporaryQueue queue;
    std::string id;
    std::string bytes = write_varied_file(queue, &id);
    auto reader = QueueFileReader::open(queue.root + "/incoming/" + id);
    REQUIRE(reader);
    auto contents = read_queue_file(*reader);
    REQUIRE(contents);
    const QueueEnvelope& envelope = contents->envelope;
    CHECK(envelope.sender == "dave@example.com");
    CHECK(envelope.envelope_id == "env-123");
    CHECK(envelope.dsn_ret == dsn::ret_hdrs);
    CHECK(envelope.size.recipient_count == 2);
    // Union of the notify bits, shifted, as Postfix's cleanup computes it.
    CHECK(envelope.size.qmgr_flags ==
          ((dsn::notify_success | dsn::notify_delay | dsn::notify_never) << 1));
    CHECK(envelope.size.content_length == envelope.size.content_size);
    REQUIRE(envelope.recipients.size() == 2);
    CHECK(envelope.recipients[0].dsn_orcpt == "rfc822;erin-orig@remote.example");
    CHECK(envelope.recipients[0].original == "erin@remote.example");
    CHECK(envelope.recipients[1].original.empty());
    CHECK(envelope.recipients[1].dsn_notify == dsn::notify_never);
    REQUIRE(envelope.attributes.size() == 2);
    CHECK(envelope.attributes[1].first == "encoding");  // from the extracted segment
    REQUIRE(contents->lines.size() == 5);
    CHECK(contents->lines[2] == std::string(5000, 'x'));
    CHECK(contents->lines[3] == eight_bit_line());
    CHECK(contents->lines[4] == "last");
    // Reading the same bytes from memory gives the same answer.
    auto again = parse(bytes);
    REQUIRE(again);
    CHECK(again->lines == contents->lines);
}

TEST_CASE("long lines are split into L records of line_length_limit", "[queue]") {
    TemporaryQueue queue;
    QueueFileOptions options = fixed_clock_options();
    options.line_length_limit = 2048;
    auto writer = QueueFileWriter::create(queue.root, "incoming", options);
    REQUIRE(writer);
    writer->arrival_time({1, 0});
    writer->sender("");
    writer->recipient(make_recipient("r@example.com"));
    writer->begin_content();
    writer->content_line(std::string(5000, 'a'));  // L 2048, L 2048, N 904 (as Postfix)
    writer->content_line(std::string(2048, 'b'));  // N 2048
    writer->content_continued(std::string(3000, 'c'));
    writer->content_line("d");  // one line "ccc...cd": L 2048, L 952, N 1
    REQUIRE(writer->commit());

    std::string bytes = file_bytes(writer->path());
    RecordReader records = RecordReader::from_memory(bytes, "test");
    std::vector<std::pair<char, size_t>> content;
    bool in_content = false;
    for (;;) {
        auto record = records.next();
        REQUIRE(record);
        if (!*record)
            break;
        if ((*record)->type == 'M')
            in_content = true;
        else if ((*record)->type == 'X')
            in_content = false;
        else if (in_content)
            content.emplace_back((*record)->type, (*record)->data.size());
    }
    std::vector<std::pair<char, size_t>> expected{{'L', 2048}, {'L', 2048}, {'N', 904}, {'N', 2048},
                                                  {'L', 2048}, {'L', 952},  {'N', 1}};
    CHECK(content == expected);

    auto contents = parse(bytes);
    REQUIRE(contents);
    CHECK(contents->envelope.sender.empty());  // the null sender
    REQUIRE(contents->lines.size() == 3);
    CHECK(contents->lines[0] == std::string(5000, 'a'));
    CHECK(contents->lines[1] == std::string(2048, 'b'));
    CHECK(contents->lines[2] == std::string(3000, 'c') + "d");
}

TEST_CASE("every truncation of a valid file is a corrupt error", "[queue]") {
    TemporaryQueue queue;
    std::string bytes = write_varied_file(queue);
    REQUIRE(parse(bytes));
    for (size_t length = 0; length < bytes.size(); ++length) {
        auto contents = parse(std::string_view(bytes).substr(0, length));
        CAPTURE(length);
        REQUIRE_FALSE(contents);
        CHECK(contents.error().kind() == ErrorKind::corrupt);
        CHECK(contents.error().message().rfind("test: ", 0) == 0);  // names the file
    }
    // The same through a real file, at a few places.
    for (size_t length : {size_t{0}, size_t{1}, size_t{50}, bytes.size() / 2, bytes.size() - 1}) {
        std::string path = queue.root + "/active/truncated";
        REQUIRE(replace_file_atomically(path, std::string_view(bytes).substr(0, length)));
        auto reader = QueueFileReader::open(path);
        REQUIRE(reader);
        auto contents = read_queue_file(*reader);
        CAPTURE(length);
        REQUIRE_FALSE(contents);
        CHECK(contents.error().kind() == ErrorKind::corrupt);
        CHECK(contents.error().message().find(path) != std::string::npos);
    }
}

TEST_CASE("garbled files are corrupt errors, never crashes", "[queue]") {
    TemporaryQueue queue;
    std::string bytes = write_varied_file(queue);
    std::mt19937 random(12345);
    // Every byte changed to a few different values.
    for (size_t at = 0; at < bytes.size(); at += 3) {
        for (int value : {0x00, 0x7f, 0x80, 0xff, int{'p'}, int{'E'}}) {
            std::string changed = bytes;
            changed[at] = static_cast<char>(value);
            auto contents = parse(changed);
            if (!contents)
                CHECK(contents.error().kind() == ErrorKind::corrupt);
        }
    }
    // Random files.
    for (int round = 0; round < 2000; ++round) {
        std::string noise(random() % 300, '\0');
        for (char& c : noise)
            c = static_cast<char>(random());
        if (round % 2 == 0)
            noise = bytes.substr(0, random() % bytes.size()) + noise;
        auto contents = parse(noise);
        if (!contents)
            CHECK(contents.error().kind() == ErrorKind::corrupt);
    }
}

TEST_CASE("specific damage gets a clear message", "[queue]") {
    auto expect_corrupt = [](const std::string& bytes, const std::string& words) {
        auto contents = parse(bytes, 4096);
        REQUIRE_FALSE(contents);
        CHECK(contents.error().kind() == ErrorKind::corrupt);
        CHECK_THAT(contents.error().message(), Catch::Contains(words));
    };
    std::string good = kPostfixDeferred;
    REQUIRE(parse(good));
    // Keeps a damaged file long enough for its size record, so the damage itself is found.
    const std::string filler(700, 'w');

    SECTION("no size record") {
        expect_corrupt(good.substr(97), "missing size record");
    }
    SECTION("empty file") {
        expect_corrupt("", "missing size record");
    }
    SECTION("size record not numeric") {
        std::string bad = good;
        bad[20] = 'x';
        expect_corrupt(bad, "bad size record");
    }
    SECTION("content size wrong") {
        std::string bad = good;
        bad[15] = '5';
        bad[16] = '9';  // 265 -> 259: the last content record instead of X
        expect_corrupt(bad, "no extracted-segment record there (record type 78)");
    }
    SECTION("content offset wrong") {
        std::string bad = good;
        bad[32] = '8';  // 357 -> 358
        expect_corrupt(bad, "it starts at 357");
    }
    SECTION("content beyond the file") {
        std::string bad = good;
        bad[13] = '9';  // 265 -> 9265
        expect_corrupt(bad, "file size is 626");
    }
    SECTION("unknown record type in the envelope") {
        std::string bad = good;
        bad[97] = 'Z';  // the T record
        expect_corrupt(bad, "unexpected record type 90 in envelope");
    }
    SECTION("content record in the envelope") {
        std::string bad = good;
        bad[97] = 'N';
        expect_corrupt(bad, "unexpected record type 78 in envelope");
    }
    SECTION("envelope record in the content") {
        std::string bad = good;
        bad[357] = 'S';
        expect_corrupt(bad, "unexpected record type 83 in message content");
    }
    SECTION("length beyond the file") {
        expect_corrupt(good.substr(0, 97) + "T\xe8\x07" + filler,
                       "unexpected EOF in data, record type 84 length 1000");
    }
    SECTION("length beyond the limit") {
        std::string bad = good.substr(0, 97);
        bad += "T\xff\xff\x03" + filler;  // 65535 > 4096
        expect_corrupt(bad, "illegal length 65535, record type 84");
    }
    SECTION("too many length bytes") {
        std::string bad = good.substr(0, 97) + "T\xff\xff\xff\xff\xff\x01" + filler;
        expect_corrupt(bad, "too many length bits, record type 84");
    }
    SECTION("length cut short") {
        // At the very end: the filler would supply length bytes.
        std::string bad = good.substr(0, 97);
        char size_text[128];
        std::snprintf(size_text, sizeof size_text, "%15d %15d %15d %15d %15d %15d", 0, 5, 1, 0, 0,
                      0);
        bad.replace(2, 95, size_text);
        expect_corrupt(bad + "T\x80", "unexpected EOF reading length");
    }
    SECTION("missing end record") {
        expect_corrupt(good.substr(0, good.size() - 2), "unexpected end of file");
    }
    SECTION("attribute without a value") {
        std::string bad = good;
        bad[169] = 'A';  // S a@example.com -> A a@example.com: no '='
        expect_corrupt(bad, "malformed attribute record at offset 169");
    }
    SECTION("missing sender") {
        std::string bad = good;
        bad[169] = 'F';  // S a@example.com -> F a@example.com
        expect_corrupt(bad, "missing sender record");
    }
    SECTION("two senders") {
        std::string bad = good;
        bad[163] = 'S';  // F root -> S root
        expect_corrupt(bad, "duplicate sender record at offset 169");
    }
    SECTION("malformed time") {
        std::string bad = good;
        bad[99] = 'x';
        expect_corrupt(bad, "malformed time record");
    }
}

TEST_CASE("pointer records are followed within bounds", "[queue]") {
    // Envelope edited the Postfix way: a pointer to a record after the end, then back.
    std::string body;
    append_record(body, 'T', "1 2");
    std::string prefix;
    std::string size_placeholder(95, ' ');
    append_record(prefix, 'C', size_placeholder);
    prefix += body;
    int64_t pointer_offset = static_cast<int64_t>(prefix.size());
    std::string pointer_placeholder(15, ' ');
    append_record(prefix, 'p', pointer_placeholder);
    int64_t back = static_cast<int64_t>(prefix.size());
    append_record(prefix, 'p', std::string(14, ' ') + "0");  // a dummy: ignored
    append_record(prefix, 'R', "r@example.com");
    append_record(prefix, 'M', "");
    int64_t content_offset = static_cast<int64_t>(prefix.size());
    append_record(prefix, 'N', "line");
    int64_t extracted = static_cast<int64_t>(prefix.size());
    append_record(prefix, 'X', "");
    append_record(prefix, 'E', "");
    int64_t heap = static_cast<int64_t>(prefix.size());
    append_record(prefix, 'S', "moved@example.com");
    char pointer_text[32];
    std::snprintf(pointer_text, sizeof pointer_text, "%15lld", static_cast<long long>(back));
    append_record(prefix, 'p', pointer_text);
    // Patch the size record and the pointer to the heap.
    char size_text[128];
    std::snprintf(size_text, sizeof size_text, "%15lld %15lld %15d %15d %15lld %15d",
                  static_cast<long long>(extracted - content_offset),
                  static_cast<long long>(content_offset), 1, 0,
                  static_cast<long long>(extracted - content_offset), 0);
    prefix.replace(2, 95, size_text);
    std::snprintf(pointer_text, sizeof pointer_text, "%15lld", static_cast<long long>(heap));
    prefix.replace(static_cast<size_t>(pointer_offset) + 2, 15, pointer_text);

    auto contents = parse(prefix);
    REQUIRE(contents);
    CHECK(contents->envelope.sender == "moved@example.com");
    REQUIRE(contents->envelope.recipients.size() == 1);
    CHECK(contents->lines == std::vector<std::string>{"line"});

    SECTION("a pointer beyond the file") {
        std::string bad = prefix;
        std::snprintf(pointer_text, sizeof pointer_text, "%15d", 99999);
        bad.replace(static_cast<size_t>(pointer_offset) + 2, 15, pointer_text);
        auto result = parse(bad);
        REQUIRE_FALSE(result);
        CHECK_THAT(result.error().message(), Catch::Contains("malformed pointer record"));
    }
    SECTION("a pointer loop") {
        std::string bad = prefix;
        std::snprintf(pointer_text, sizeof pointer_text, "%15lld",
                      static_cast<long long>(pointer_offset));
        bad.replace(static_cast<size_t>(pointer_offset) + 2, 15, pointer_text);
        auto result = parse(bad);
        REQUIRE_FALSE(result);
        CHECK_THAT(result.error().message(), Catch::Contains("too many pointer records"));
    }
}

TEST_CASE("the commit makes the file ready and durable", "[queue]") {
    TemporaryQueue queue;
    auto writer = QueueFileWriter::create(queue.root, "incoming", fixed_clock_options());
    REQUIRE(writer);
    std::string path = writer->path();
    CHECK(path == queue.root + "/incoming/" + writer->queue_id());
    CHECK(queue_id_form(writer->queue_id()) == QueueIdForm::short_form);
    CHECK(file_mode(path) == 0600);  // being written: qmgr leaves it alone
    writer->arrival_time({1, 0});
    writer->sender("s@example.com");
    writer->recipient(make_recipient("r@example.com"));
    REQUIRE(writer->finish());
    CHECK(file_mode(path) == 0600);
    REQUIRE(writer->commit());
    CHECK(file_mode(path) == 0700);
    CHECK(writer->directory() == queue.root + "/incoming");
    // Nothing else was left in the directory (no temporary name).
    CHECK(std::distance(std::filesystem::directory_iterator(queue.root + "/incoming"),
                        std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("an uncommitted file disappears", "[queue]") {
    TemporaryQueue queue;
    std::string path;
    {
        auto writer = QueueFileWriter::create(queue.root, "incoming", fixed_clock_options());
        REQUIRE(writer);
        path = writer->path();
        writer->sender("s@example.com");
        CHECK(::access(path.c_str(), F_OK) == 0);
    }
    CHECK(::access(path.c_str(), F_OK) != 0);

    auto writer = QueueFileWriter::create(queue.root, "incoming", fixed_clock_options());
    REQUIRE(writer);
    path = writer->path();
    writer->abandon();
    CHECK(::access(path.c_str(), F_OK) != 0);
}

TEST_CASE("IDs are unique under concurrency", "[queue]") {
    TemporaryQueue queue;
    // Same clock for all: only the inode tells the files apart, as in Postfix.
    std::vector<QueueFileWriter> writers;
    std::set<std::string> ids;
    for (int i = 0; i < 50; ++i) {
        auto writer = QueueFileWriter::create(queue.root, "incoming", fixed_clock_options());
        REQUIRE(writer);
        ids.insert(writer->queue_id());
        writers.push_back(std::move(*writer));
    }
    CHECK(ids.size() == 50);
    QueueFileOptions long_ids = fixed_clock_options();
    long_ids.id_form = QueueIdForm::long_form;
    auto writer = QueueFileWriter::create(queue.root, "incoming", long_ids);
    REQUIRE(writer);
    CHECK(queue_id_form(writer->queue_id()) == QueueIdForm::long_form);
    CHECK(long_queue_id_time(writer->queue_id()) == QueueTime{1795607603, 555771});
    struct stat info {};
    REQUIRE(::stat(writer->path().c_str(), &info) == 0);
    CHECK(queue_id_inode(writer->queue_id()) == static_cast<uint64_t>(info.st_ino));
}

TEST_CASE("a hashed queue gets its subdirectories", "[queue]") {
    TemporaryQueue queue;
    QueueFileOptions options = fixed_clock_options();
    options.hashing.depth = 2;
    options.id_form = QueueIdForm::long_form;
    auto writer = QueueFileWriter::create(queue.root, "deferred", options);
    REQUIRE(writer);
    // 555771 = 0x87AFB: deferred/8/7/.
    CHECK(writer->path() == queue.root + "/deferred/8/7/" + writer->queue_id());
    writer->arrival_time({1, 0});
    writer->sender("s@example.com");
    REQUIRE(writer->commit());
    CHECK(file_mode(queue.root + "/deferred/8/7") == 0700);
    CHECK(file_mode(writer->path()) == 0700);
}

TEST_CASE("a replacement is renamed over the old file at commit", "[queue]") {
    TemporaryQueue queue;
    std::string id;
    std::string original = write_varied_file(queue, &id);
    std::string path = queue.root + "/incoming/" + id;
    auto writer = QueueFileWriter::create_replacement(path, fixed_clock_options());
    REQUIRE(writer);
    CHECK(writer->queue_id() == id);
    writer->arrival_time({2, 0});
    writer->sender("new@example.com");
    writer->recipient(make_recipient("r@example.com"));
    REQUIRE(writer->finish());
    CHECK(file_bytes(path) == original);  // not yet in place
    REQUIRE(writer->commit());
    auto contents = parse(file_bytes(path));
    REQUIRE(contents);
    CHECK(contents->envelope.sender == "new@example.com");
    CHECK(file_mode(path) == 0700);
    CHECK(std::distance(std::filesystem::directory_iterator(queue.root + "/incoming"),
                        std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("recipients are marked done in place", "[queue]") {
    TemporaryQueue queue;
    auto writer = QueueFileWriter::create(queue.root, "active", fixed_clock_options());
    REQUIRE(writer);
    writer->arrival_time({1, 0});
    writer->sender("s@example.com");
    for (const char* address : {"a@example.com", "b@example.com", "c@example.com"})
        writer->recipient(make_recipient(address, address, std::string("rfc822;") + address));
    writer->content_line("x");
    REQUIRE(writer->commit());
    std::string before = file_bytes(writer->path());

    auto reader = QueueFileReader::open(writer->path(), true);
    REQUIRE(reader);
    auto envelope = reader->read_envelope();
    REQUIRE(envelope);
    REQUIRE(envelope->recipients.size() == 3);
    REQUIRE(mark_recipient_done(reader->fd(), envelope->recipients[1].offset, "test"));
    // Marking again is harmless.
    REQUIRE(mark_recipient_done(reader->fd(), envelope->recipients[1].offset, "test"));

    std::string after = file_bytes(writer->path());
    REQUIRE(after.size() == before.size());
    size_t differences = 0;
    for (size_t i = 0; i < after.size(); ++i)
        differences += after[i] != before[i];
    CHECK(differences == 1);
    auto contents = parse(after);
    REQUIRE(contents);
    CHECK(contents->envelope.recipients[0].status == RecipientStatus::pending);
    CHECK(contents->envelope.recipients[1].status == RecipientStatus::done);
    CHECK(contents->envelope.recipients[2].status == RecipientStatus::pending);

    // An offset that is not a recipient record changes nothing.
    int64_t offsets[] = {envelope->recipients[2].offset, envelope->recipients[2].offset + 1};
    auto wrong = mark_recipients_done(reader->fd(), offsets, "test");
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().kind() == ErrorKind::corrupt);
    CHECK(file_bytes(writer->path()) == after);
}

TEST_CASE("qmgr's mixed-recipients hint", "[queue]") {
    TemporaryQueue queue;
    auto write = [&](bool attribute_after_recipient) {
        auto writer = QueueFileWriter::create(queue.root, "incoming", fixed_clock_options());
        REQUIRE(writer);
        writer->arrival_time({1, 0});
        writer->sender("s@example.com");
        writer->recipient(make_recipient("r@example.com", "", "", dsn::notify_failure));
        if (attribute_after_recipient)
            writer->attribute("log_ident", "x");
        REQUIRE(writer->commit());
        auto contents = parse(file_bytes(writer->path()));
        REQUIRE(contents);
        return contents->envelope.size.qmgr_flags;
    };
    CHECK(write(false) == (dsn::notify_failure << 1));
    CHECK(write(true) == ((dsn::notify_failure << 1) | kQmgrFlagMixedRecipients));
}

TEST_CASE("a corrupt file is moved to corrupt/", "[queue]") {
    TemporaryQueue queue;
    std::string id;
    std::string bytes = write_varied_file(queue, &id);
    std::string active = queue.root + "/active/" + id;
    REQUIRE(replace_file_atomically(active, bytes.substr(0, bytes.size() / 2)));
    auto reader = QueueFileReader::open(active);
    REQUIRE(reader);
    auto envelope = reader->read_envelope();
    REQUIRE_FALSE(envelope);
    QueueHashing hashing;
    REQUIRE(quarantine_corrupt_queue_file(queue.root, hashing, "active", id, envelope.error()));
    CHECK(::access(active.c_str(), F_OK) != 0);
    CHECK(file_bytes(queue.root + "/corrupt/" + id) == bytes.substr(0, bytes.size() / 2));
    // Gone already: nothing to do, no error.
    CHECK(quarantine_corrupt_queue_file(queue.root, hashing, "active", id, envelope.error()));
    // Names from outside are checked.
    CHECK_FALSE(
        quarantine_corrupt_queue_file(queue.root, hashing, "active", "../x", envelope.error()));
}

TEST_CASE("the reader refuses what is not a plain queue file", "[queue]") {
    TemporaryQueue queue;
    std::string id;
    write_varied_file(queue, &id);
    std::string link = queue.root + "/active/link";
    REQUIRE(::symlink((queue.root + "/incoming/" + id).c_str(), link.c_str()) == 0);
    auto through_link = QueueFileReader::open(link);
    REQUIRE_FALSE(through_link);
    CHECK(through_link.error().kind() == ErrorKind::corrupt);
    auto missing = QueueFileReader::open(queue.root + "/active/none");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind() == ErrorKind::not_found);
    auto directory = QueueFileReader::open(queue.root + "/active");
    REQUIRE_FALSE(directory);
}

TEST_CASE("large messages stream through the buffer", "[queue]") {
    TemporaryQueue queue;
    auto writer = QueueFileWriter::create(queue.root, "incoming", fixed_clock_options());
    REQUIRE(writer);
    writer->arrival_time({1, 0});
    writer->sender("s@example.com");
    writer->recipient(make_recipient("r@example.com"));
    writer->begin_content();
    for (int i = 0; i < 20000; ++i)
        writer->content_line("line " + std::to_string(i) + std::string(i % 100, '.'));
    REQUIRE(writer->commit());
    auto reader = QueueFileReader::open(writer->path());
    REQUIRE(reader);
    REQUIRE(reader->read_envelope());
    int count = 0;
    for (;;) {
        auto piece = reader->next_content();
        REQUIRE(piece);
        if (!*piece)
            break;
        REQUIRE((*piece)->data == "line " + std::to_string(count) + std::string(count % 100, '.'));
        ++count;
    }
    CHECK(count == 20000);
}
