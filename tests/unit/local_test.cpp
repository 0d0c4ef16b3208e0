// local(8)'s modules one by one: the message copy with its envelope headers, the Maildir
// and mbox writers, mailbox locking, destination lists, Delivered-To: loop detection,
// per-recipient expansion, command outcomes and settings. Real files in a temporary
// folder, real queue files written with QueueFileWriter, real child processes for locks.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <filesystem>
#include <string>
#include <vector>

#include "local/command.hpp"
#include "local/delivered_to.hpp"
#include "local/destinations.hpp"
#include "local/local_expand.hpp"
#include "local/local_settings.hpp"
#include "local/maildir.hpp"
#include "local/mbox.hpp"
#include "local/message_copy.hpp"
#include "queue/queue_file.hpp"
#include "util/file.hpp"

using namespace postern;
using namespace postern::local;

namespace {

struct TempFolder {
    TempFolder() {
        char pattern[] = "/tmp/postern-local-test.XXXXXX";
        REQUIRE(::mkdtemp(pattern) != nullptr);
        path = pattern;
    }
    ~TempFolder() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    std::string operator/(const std::string& name) const { return path + "/" + name; }
    std::string path;
};

// A committed queue file holding `lines` as its content; returns its path.
std::string queue_file_with(const TempFolder& folder, const std::vector<std::string>& lines,
                            size_t line_length_limit = 2048) {
    std::string queue = folder / "queue";
    ::mkdir(queue.c_str(), 0700);
    ::mkdir((queue + "/active").c_str(), 0700);
    QueueFileOptions options;
    options.line_length_limit = line_length_limit;
    auto writer = QueueFileWriter::create(queue, "active", options);
    REQUIRE(writer.ok());
    writer->arrival_time({1700000000, 0});
    writer->sender("sender@example.org");
    QueueRecipient recipient;
    recipient.address = "user@example.com";
    writer->recipient(recipient);
    for (const std::string& line : lines)
        writer->content_line(line);
    REQUIRE(writer->commit().ok());
    return writer->path();
}

std::string contents(const std::string& path) {
    auto text = read_file(path);
    REQUIRE(text.ok());
    return *text;
}

CopyOptions maildir_options() {
    CopyOptions options;
    options.sender = "sender@example.org";
    options.original = "alias";
    options.delivered = "User@Example.COM";
    options.delivered_to = true;
    return options;
}

CopyOptions mbox_options() {
    CopyOptions options = maildir_options();
    options.from_line = true;
    options.quote_from = true;
    options.blank_line = true;
    options.now = 1796289320;  // Thu Dec  3 09:15:20 2026 UTC
    return options;
}

std::vector<std::string> files_in(const std::string& directory) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(directory))
        names.push_back(entry.path().filename().string());
    return names;
}

struct UtcZone {
    UtcZone() {
        ::setenv("TZ", "UTC", 1);
        ::tzset();
    }
};

}  // namespace

TEST_CASE("local: envelope headers as Postfix writes them", "[local]") {
    UtcZone utc;
    CHECK(envelope_headers(maildir_options()) ==
          "Return-Path: <sender@example.org>\n"
          "X-Original-To: alias\n"
          "Delivered-To: user@example.com\n");
    CHECK(envelope_headers(mbox_options()) ==
          "From sender@example.org  Thu Dec  3 09:15:20 2026\n"
          "Return-Path: <sender@example.org>\n"
          "X-Original-To: alias\n"
          "Delivered-To: user@example.com\n");
    CopyOptions null_sender = mbox_options();
    null_sender.sender.clear();
    null_sender.original.clear();
    null_sender.delivered_to = false;
    CHECK(envelope_headers(null_sender) ==
          "From MAILER-DAEMON  Thu Dec  3 09:15:20 2026\nReturn-Path: <>\n");
    CopyOptions quoted = maildir_options();
    quoted.sender = "a b@example.org";
    CHECK(envelope_headers(quoted).rfind("Return-Path: <\"a b\"@example.org>\n", 0) == 0);
}

TEST_CASE("local: the content is copied byte for byte; mbox quotes From lines", "[local]") {
    UtcZone utc;
    TempFolder folder;
    std::string long_line(5000, 'x');
    long_line[4000] = 'y';
    std::string eight_bit = "caf\xc3\xa9 \xff\x80 with NUL ";
    eight_bit.push_back('\0');
    eight_bit += "end";
    std::string queue = queue_file_with(folder, {"Subject: test", "", "From the start",
                                                 ">From quoted", long_line, eight_bit, "From"});
    std::string body = "Subject: test\n\nFrom the start\n>From quoted\n" + long_line + "\n" +
                       eight_bit + "\nFrom\n";

    SECTION("maildir style: no quoting, no blank line") {
        std::string out = folder / "plain";
        Fd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600));
        FdSink sink(fd.get());
        auto copied = copy_message(queue, sink, maildir_options());
        REQUIRE(copied.ok());
        std::string expected = envelope_headers(maildir_options()) + body;
        CHECK(contents(out) == expected);
        CHECK(*copied == static_cast<int64_t>(expected.size()));
    }
    SECTION("mbox style") {
        std::string out = folder / "mbox";
        Fd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600));
        FdSink sink(fd.get());
        REQUIRE(copy_message(queue, sink, mbox_options()).ok());
        std::string quoted = "Subject: test\n\n>From the start\n>From quoted\n" + long_line + "\n" +
                             eight_bit + "\nFrom\n";
        CHECK(contents(out) == envelope_headers(mbox_options()) + quoted + "\n");
    }
    SECTION("a piece of a long line that starts with From is not a line start") {
        std::string tricky(2048, 'a');
        tricky += "From here";
        std::string queue2 = queue_file_with(folder, {tricky}, 2048);
        std::string out = folder / "tricky";
        Fd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600));
        FdSink sink(fd.get());
        REQUIRE(copy_message(queue2, sink, mbox_options()).ok());
        CHECK(contents(out) == envelope_headers(mbox_options()) + tricky + "\n\n");
    }
}

TEST_CASE("local: mailbox_size_limit fails the copy with 5.2.2", "[local]") {
    TempFolder folder;
    std::string queue = queue_file_with(folder, {"Subject: x", "", std::string(3000, 'b')});
    std::string out = folder / "limited";
    Fd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600));
    FdSink sink(fd.get());
    CopyOptions options = maildir_options();
    options.size_limit = 2000;
    auto copied = copy_message(queue, sink, options);
    REQUIRE(!copied.ok());
    CHECK(copied.error().message() == "error writing message: File too large");
    CHECK(copied.error().enhanced_status() == "5.2.2");
    options.size_limit = 4000;
    options.existing_size = 1500;  // an mbox that already holds 1500 bytes
    CHECK(!copy_message(queue, sink, options).ok());
    options.existing_size = 0;
    CHECK(copy_message(queue, sink, options).ok());
}

TEST_CASE("local: mailbox_status_for_errno follows Postfix's mbox_dsn", "[local]") {
    CHECK(std::string(mailbox_status_for_errno(ENOSPC, "5.2.0")) == "4.3.0");
    CHECK(std::string(mailbox_status_for_errno(EAGAIN, "5.2.0")) == "4.2.0");
    CHECK(std::string(mailbox_status_for_errno(ESTALE, "5.2.0")) == "4.2.0");
    CHECK(std::string(mailbox_status_for_errno(EDQUOT, "5.2.0")) == "5.2.2");
    CHECK(std::string(mailbox_status_for_errno(EFBIG, "5.2.0")) == "5.2.2");
    CHECK(std::string(mailbox_status_for_errno(EACCES, "5.2.0")) == "5.2.0");
    Error error = mailbox_error("create maildir file /x", EACCES);
    CHECK(error.message() == "create maildir file /x: Permission denied");
    CHECK(error.kind() == ErrorKind::permanent);
    CHECK(mailbox_error("x", ENOSPC).kind() == ErrorKind::temporary);
}

TEST_CASE("local: Maildir delivery: tmp, then new with a unique name, mode 0600", "[local]") {
    TempFolder folder;
    std::string queue = queue_file_with(folder, {"Subject: maildir", "", "body"});
    std::string maildir = folder / "home/Maildir/";  // missing: created, as Postfix does
    REQUIRE(make_directories(folder / "home").ok());
    REQUIRE(deliver_to_maildir(maildir, queue, maildir_options(), "host/a:b").ok());
    REQUIRE(deliver_to_maildir(maildir, queue, maildir_options(), "host/a:b").ok());
    for (const char* sub : {"tmp", "new", "cur"}) {
        struct stat info {};
        REQUIRE(::stat((maildir + sub).c_str(), &info) == 0);
        CHECK((info.st_mode & 07777) == 0700);
    }
    CHECK(files_in(maildir + "tmp").empty());
    CHECK(files_in(maildir + "cur").empty());
    std::vector<std::string> names = files_in(maildir + "new");
    REQUIRE(names.size() == 2);
    CHECK(names[0] != names[1]);
    for (const std::string& name : names) {
        // SECONDS.VdevIinodeMmicroseconds.HOST, the host with / and : escaped.
        INFO(name);
        CHECK(name.find(".V") != std::string::npos);
        CHECK(name.find("I") != std::string::npos);
        CHECK(name.find("M") != std::string::npos);
        CHECK(name.size() > 18);
        CHECK(name.substr(name.size() - 15) == ".host\\057a\\072b");
        std::string path = maildir + "new/" + name;
        struct stat info {};
        REQUIRE(::stat(path.c_str(), &info) == 0);
        CHECK((info.st_mode & 07777) == 0600);
        char inode[32];
        std::snprintf(inode, sizeof inode, "I%lxM", static_cast<unsigned long>(info.st_ino));
        CHECK(name.find(inode) != std::string::npos);
        CHECK(contents(path) == envelope_headers(maildir_options()) + "Subject: maildir\n\nbody\n");
    }
}

TEST_CASE("local: a Maildir that cannot be written fails with Postfix's words", "[local]") {
    TempFolder folder;
    std::string queue = queue_file_with(folder, {"x"});
    std::string maildir = folder / "Maildir/";
    REQUIRE(make_directories(maildir + "tmp").ok());
    // A file where tmp/ should be a directory: the create fails.
    std::filesystem::remove(maildir + "tmp");
    REQUIRE(replace_file_atomically(maildir + "tmp", "not a directory").ok());
    Status status = deliver_to_maildir(maildir, queue, maildir_options(), "host");
    REQUIRE(!status.ok());
    CHECK(status.error().message().rfind("create maildir file " + maildir + "tmp/", 0) == 0);
    CHECK(status.error().message().find(": Not a directory") != std::string::npos);
    CHECK(status.error().enhanced_status() == "5.2.0");
}

TEST_CASE("local: Maildir size limit leaves nothing behind", "[local]") {
    TempFolder folder;
    std::string queue = queue_file_with(folder, {std::string(5000, 'z')});
    std::string maildir = folder / "Maildir/";
    CopyOptions options = maildir_options();
    options.size_limit = 1000;
    Status status = deliver_to_maildir(maildir, queue, options, "host");
    REQUIRE(!status.ok());
    CHECK(status.error().enhanced_status() == "5.2.2");
    CHECK(files_in(maildir + "tmp").empty());
    CHECK((!std::filesystem::exists(maildir + "new") || files_in(maildir + "new").empty()));
}

TEST_CASE("local: mbox append with locks, truncated back on failure", "[local]") {
    UtcZone utc;
    TempFolder folder;
    std::string queue = queue_file_with(folder, {"Subject: one", "", "From me"});
    std::string path = folder / "mbox";
    LockSettings locks;
    locks.methods = {LockMethod::fcntl, LockMethod::flock, LockMethod::dotlock};
    locks.attempts = 1;
    locks.delay = std::chrono::milliseconds(0);
    {
        auto mailbox = LockedMailbox::open(path, locks);
        REQUIRE(mailbox.ok());
        CHECK(std::filesystem::exists(path + ".lock"));
        CHECK(S_ISREG(mailbox->info().st_mode));
        REQUIRE(append_to_mailbox(*mailbox, queue, mbox_options()).ok());
    }
    CHECK(!std::filesystem::exists(path + ".lock"));  // the dot lock went with the mailbox
    std::string first = contents(path);
    CHECK(first == envelope_headers(mbox_options()) + "Subject: one\n\n>From me\n\n");
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    CHECK((info.st_mode & 07777) == 0600);

    // A second message appends; one over the size limit leaves the file as it was.
    {
        auto mailbox = LockedMailbox::open(path, locks);
        REQUIRE(mailbox.ok());
        REQUIRE(append_to_mailbox(*mailbox, queue, mbox_options()).ok());
    }
    std::string two = contents(path);
    CHECK(two == first + first);
    std::string big = queue_file_with(folder, {std::string(5000, 'q')});
    {
        auto mailbox = LockedMailbox::open(path, locks);
        REQUIRE(mailbox.ok());
        CopyOptions options = mbox_options();
        options.size_limit = static_cast<int64_t>(two.size()) + 1000;
        Status status = append_to_mailbox(*mailbox, big, options);
        REQUIRE(!status.ok());
        CHECK(status.error().enhanced_status() == "5.2.2");
    }
    CHECK(contents(path) == two);
}

TEST_CASE("local: a held lock makes delivery wait, then fail temporarily", "[local]") {
    TempFolder folder;
    std::string path = folder / "mbox";
    REQUIRE(replace_file_atomically(path, "", 0600).ok());
    LockSettings locks;
    locks.attempts = 2;
    locks.delay = std::chrono::milliseconds(10);
    auto method = GENERATE(LockMethod::fcntl, LockMethod::flock, LockMethod::dotlock);
    locks.methods = {method};
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    pid_t holder = ::fork();
    REQUIRE(holder >= 0);
    if (holder == 0) {
        // Another process (a mail reader) holds the lock for a while.
        int fd = ::open(path.c_str(), O_RDWR);
        struct flock lock {};
        lock.l_type = F_WRLCK;
        bool held = method == LockMethod::fcntl ? ::fcntl(fd, F_SETLK, &lock) == 0
                    : method == LockMethod::flock
                        ? ::flock(fd, LOCK_EX) == 0
                        : ::open((path + ".lock").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0) >= 0;
        (void)!::write(ready[1], held ? "y" : "n", 1);
        ::sleep(2);
        if (method == LockMethod::dotlock)
            ::unlink((path + ".lock").c_str());
        ::_exit(0);
    }
    char answer = 0;
    REQUIRE(::read(ready[0], &answer, 1) == 1);
    REQUIRE(answer == 'y');
    auto mailbox = LockedMailbox::open(path, locks);
    REQUIRE(!mailbox.ok());
    CHECK(mailbox.error().enhanced_status() == "4.2.0");
    if (method == LockMethod::dotlock)
        CHECK(mailbox.error().message() ==
              "unable to create lock file " + path + ".lock: File exists");
    else
        CHECK(mailbox.error().message() ==
              "unable to lock for exclusive access: Resource temporarily unavailable");
    ::kill(holder, SIGKILL);
    ::waitpid(holder, nullptr, 0);
    ::unlink((path + ".lock").c_str());
    ::close(ready[0]);
    ::close(ready[1]);
    CHECK(LockedMailbox::open(path, locks).ok());
}

TEST_CASE("local: a stale dot lock is removed", "[local]") {
    TempFolder folder;
    std::string path = folder / "mbox";
    REQUIRE(replace_file_atomically(path + ".lock", "", 0600).ok());
    LockSettings locks;
    locks.methods = {LockMethod::dotlock};
    locks.attempts = 1;
    locks.stale = std::chrono::seconds(0);
    ::sleep(1);  // older than stale_lock_time (0s) by a second
    auto mailbox = LockedMailbox::open(path, locks);
    CHECK(mailbox.ok());
}

TEST_CASE("local: mailbox files are opened safely", "[local]") {
    TempFolder folder;
    LockSettings locks;
    locks.methods = {LockMethod::fcntl};
    locks.attempts = 1;
    std::string target = folder / "target";
    REQUIRE(replace_file_atomically(target, "", 0600).ok());

    SECTION("a second hard link is refused") {
        REQUIRE(::link(target.c_str(), (folder / "linked").c_str()) == 0);
        auto opened = LockedMailbox::open(folder / "linked", locks);
        REQUIRE(!opened.ok());
        CHECK(opened.error().message() == "file has 2 hard links");
    }
    SECTION("a symbolic link not owned by root is refused") {
        REQUIRE(::symlink(target.c_str(), (folder / "symlink").c_str()) == 0);
        REQUIRE(::lchown((folder / "symlink").c_str(), 65534, 65534) == 0);
        auto opened = LockedMailbox::open(folder / "symlink", locks);
        REQUIRE(!opened.ok());
        CHECK(opened.error().message().rfind("file is a symbolic link", 0) == 0);
    }
    SECTION("a missing file is created 0600 and given to its owner") {
        MailboxOpen how;
        how.chown_uid = 65534;
        how.chown_gid = 65534;
        auto opened = LockedMailbox::open(folder / "new", locks, how);
        REQUIRE(opened.ok());
        CHECK(opened->info().st_uid == 65534);
        struct stat info {};
        REQUIRE(::stat((folder / "new").c_str(), &info) == 0);
        CHECK(info.st_uid == 65534);
        CHECK((info.st_mode & 07777) == 0600);
    }
    SECTION("a directory is opened but is no regular file") {
        auto opened = LockedMailbox::open(folder.path, locks);
        CHECK(!opened.ok());
    }
}

TEST_CASE("local: destination lists as aliases(5) reads them", "[local]") {
    using K = DestinationKind;
    struct Case {
        const char* list;
        std::vector<Destination> expected;
    };
    auto c = GENERATE(values<Case>({
        {"user", {{K::address, "user"}}},
        {"a, b@example.com", {{K::address, "a"}, {K::address, "b@example.com"}}},
        {"\"|/usr/bin/cmd arg, with comma\"", {{K::command, "/usr/bin/cmd arg, with comma"}}},
        {"|/bin/true", {{K::command, "/bin/true"}}},
        {"/var/log/file", {{K::file, "/var/log/file"}}},
        {"~/mbox", {{K::file, "~/mbox"}}},
        {"/var/mail/dir/", {{K::file, "/var/mail/dir/"}}},
        {":include:/etc/list", {{K::include, "/etc/list"}}},
        {":INCLUDE: /etc/list, user", {{K::include, "/etc/list"}, {K::address, "user"}}},
        {"user, :include:/x, \"|cat\"",
         {{K::address, "user"}, {K::include, "/x"}, {K::command, "cat"}}},
        {"\"a b\"@example.com", {{K::address, "a b@example.com"}}},
        {"Some One <one@example.com>", {{K::address, "one@example.com"}}},
        {"", {}},
        {" , ,", {}},
    }));
    INFO(c.list);
    CHECK(parse_destinations(c.list) == c.expected);
}

TEST_CASE("local: .forward lines skip comments and blank lines", "[local]") {
    std::vector<std::string> lines =
        destination_lines("# comment\nuser\n\n   \n  # indented comment\r\n\"|cmd\"\r\n", 2048);
    CHECK(lines == std::vector<std::string>{"user", "\"|cmd\""});
    CHECK(destination_lines(std::string(10, 'a'), 4) ==
          std::vector<std::string>{"aaaa", "aaaa", "aa"});
}

TEST_CASE("local: Delivered-To headers find loops", "[local]") {
    DeliveredToHeaders headers = DeliveredToHeaders::from_header_lines(
        "Received: from x\n\tby y\nDelivered-To: User@Example.COM\nDELIVERED-TO:  "
        "\"a b\"@example.com \nSubject: Delivered-To: not@header\n\nDelivered-To: body@x\n");
    CHECK(headers.size() == 2);
    CHECK(headers.contains("user@example.com"));
    CHECK(headers.contains("USER@example.com"));
    CHECK(headers.contains("a b@example.com"));
    CHECK(!headers.contains("body@x"));
    CHECK(!headers.contains("not@header"));
    CHECK(!headers.contains("other@example.com"));
}

TEST_CASE("local: Delivered-To headers are read from the queue file", "[local]") {
    TempFolder folder;
    std::string queue = queue_file_with(
        folder, {"Delivered-To: first@example.com", "Subject: x",
                 "Delivered-To: second@example.com", "", "Delivered-To: in-body@example.com"});
    auto headers = DeliveredToHeaders::read(queue);
    REQUIRE(headers.ok());
    CHECK(headers->contains("first@example.com"));
    CHECK(headers->contains("second@example.com"));
    CHECK(!headers->contains("in-body@example.com"));
}

TEST_CASE("local: per-recipient expansion with the filter", "[local]") {
    RecipientAttributes a;
    a.user = "joe";
    a.home = "/home/joe";
    a.shell = "/bin/sh";
    a.recipient = "joe+foo@example.com";
    a.extension = "foo";
    a.domain = "example.com";
    a.local = "joe+foo";
    a.recipient_delimiter = "+";
    const std::string filter =
        "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const std::string forward_path =
        "$home/.forward${recipient_delimiter}${extension}, $home/.forward";
    auto expanded = expand_for_recipient(forward_path, a, filter);
    REQUIRE(expanded.ok());
    CHECK(*expanded == "/home/joe/.forward+foo, /home/joe/.forward");
    a.extension.clear();
    a.recipient_delimiter.clear();
    expanded = expand_for_recipient(forward_path, a, filter);
    REQUIRE(expanded.ok());
    CHECK(*expanded == "/home/joe/.forward, /home/joe/.forward");
    // A value from the network cannot smuggle characters the filter does not allow.
    a.extension = "x;rm -rf ~`id`";
    expanded = expand_for_recipient("${extension?ext=$extension}${user:none}", a, filter);
    REQUIRE(expanded.ok());
    CHECK(*expanded == "ext=x_rm_-rf___id_");
    CHECK(!expand_for_recipient("${unclosed", a, filter).ok());
}

namespace {
constexpr int exited(int code) {
    return code << 8;
}  // a wait status for exit(code)
}  // namespace

TEST_CASE("local: command outcomes in Postfix's words", "[local]") {
    struct Case {
        int wait_status;
        bool timed_out;
        const char* output;
        ReportKind kind;
        const char* status;
        const char* reason;
    };
    auto c = GENERATE(values<Case>({
        {0, false, "", ReportKind::sent, "2.0.0", "delivered to command: cmd x"},
        {0, false, "5.1.1 ignored on success", ReportKind::sent, "2.0.0",
         "delivered to command: cmd x"},
        {exited(67), false, "hello there\n", ReportKind::bounced, "5.1.1",
         "user unknown. Command output: hello there "},
        {exited(67), false, "", ReportKind::bounced, "5.1.1", "user unknown"},
        {exited(75), false, "", ReportKind::deferred, "4.3.0", "temporary failure"},
        {exited(67), false, "5.7.1 nope\n", ReportKind::bounced, "5.7.1", "nope "},
        {exited(1), false, "4.2.2 mailbox full\n", ReportKind::deferred, "4.2.2", "mailbox full "},
        {exited(2), false, "sh: 1: cannot create x\n", ReportKind::bounced, "5.3.0",
         "Command died with status 2: \"cmd x\". Command output: sh: 1: cannot create x "},
        {exited(2), false, "", ReportKind::bounced, "5.3.0",
         "Command died with status 2: \"cmd x\""},
        {9, false, "", ReportKind::deferred, "4.3.0", "Command died with signal 9: \"cmd x\""},
        {9, true, "", ReportKind::bounced, "5.3.0", "Command time limit exceeded: \"cmd x\""},
        {exited(78), false, "", ReportKind::bounced, "5.3.5", "local configuration error"},
    }));
    CommandOutcome outcome = command_outcome("cmd x", c.wait_status, c.timed_out, c.output);
    CHECK(outcome.kind == c.kind);
    CHECK(outcome.status.status == c.status);
    CHECK(outcome.status.reason == c.reason);
}

TEST_CASE("local: commands get a shell only when they need one", "[local]") {
    CHECK(!needs_shell("/usr/bin/procmail -a foo"));
    CHECK(!needs_shell("procmail"));
    CHECK(needs_shell("cat > /tmp/x"));
    CHECK(needs_shell("echo $HOME"));
    CHECK(needs_shell("exit 75"));
    CHECK(needs_shell("a; b"));
    CHECK(needs_shell(""));
}

TEST_CASE("local: a command gets the message, its environment and a time limit", "[local]") {
    TempFolder folder;
    std::string queue = queue_file_with(folder, {"Subject: cmd", "", "From line kept"});
    CommandSpec spec;
    spec.uid = ::geteuid();
    spec.gid = ::getegid();
    spec.environment = {"PATH=/usr/bin:/bin", "RECIPIENT=user@example.com"};
    CopyOptions options = maildir_options();
    options.from_line = true;
    options.now = 1796289320;

    SECTION("input and environment") {
        spec.command = "cat > " + (folder / "out") + "; echo $RECIPIENT > " + (folder / "env");
        CommandOutcome outcome = deliver_to_command(spec, queue, options);
        CHECK(outcome.kind == ReportKind::sent);
        CHECK(outcome.status.reason == "delivered to command: " + spec.command);
        CHECK(contents(folder / "out") ==
              envelope_headers(options) + "Subject: cmd\n\nFrom line kept\n");
        CHECK(contents(folder / "env") == "user@example.com\n");
    }
    SECTION("a command that does not read its input still reports by its exit status") {
        ::signal(SIGPIPE, SIG_IGN);  // as local's main() does: a closed pipe is EPIPE
        std::string big =
            queue_file_with(folder, std::vector<std::string>(20000, std::string(100, 'm')));
        spec.command = "exit 0";
        CHECK(deliver_to_command(spec, big, options).kind == ReportKind::sent);
        spec.command = "echo 4.2.1 try later; exit 1";
        CommandOutcome outcome = deliver_to_command(spec, big, options);
        CHECK(outcome.kind == ReportKind::deferred);
        CHECK(outcome.status.status == "4.2.1");
    }
    SECTION("a command that cannot be executed is tried again later") {
        spec.command = "/nonexistent/program arg";
        CommandOutcome outcome = deliver_to_command(spec, queue, options);
        CHECK(outcome.kind == ReportKind::deferred);
        CHECK(outcome.status.status == "4.3.0");
        CHECK(outcome.status.reason ==
              "temporary failure. Command output: local: fatal: execvp /nonexistent/program: "
              "No such file or directory ");
    }
    SECTION("command_time_limit kills the command and its children") {
        spec.command = "sleep 30; echo late > " + (folder / "late");
        spec.time_limit = std::chrono::seconds(1);
        auto started = std::chrono::steady_clock::now();
        CommandOutcome outcome = deliver_to_command(spec, queue, options);
        CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
        CHECK(outcome.kind == ReportKind::bounced);
        CHECK(outcome.status.reason == "Command time limit exceeded: \"" + spec.command + "\"");
        CHECK(!std::filesystem::exists(folder / "late"));
    }
}

TEST_CASE("local: settings and their checks", "[local]") {
    Config config = Config::defaults_only();
    auto settings = LocalSettings::from_config(config);
    REQUIRE(settings.ok());
    CHECK(settings->mailbox_locks ==
          std::vector<LockMethod>{LockMethod::fcntl, LockMethod::dotlock});
    CHECK(settings->allow_commands ==
          (static_cast<int>(ExpansionKind::alias) | static_cast<int>(ExpansionKind::forward)));
    CHECK(settings->command_time_limit == std::chrono::seconds(1000));
    CHECK(settings->forward_path ==
          "$home/.forward${recipient_delimiter}${extension}, $home/.forward");
    config.set_override("mailbox_size_limit", "1000");
    config.set_override("message_size_limit", "2000");
    auto small = LocalSettings::from_config(config);
    REQUIRE(!small.ok());
    CHECK(small.error().message() ==
          "configuration error: mailbox_size_limit is smaller than message_size_limit");
    CHECK(parse_expansion_classes("allow_mail_to_files", "alias, include").value() ==
          (static_cast<int>(ExpansionKind::alias) | static_cast<int>(ExpansionKind::include)));
    auto bad = parse_expansion_classes("allow_mail_to_files", "alias, bogus");
    REQUIRE(!bad.ok());
    CHECK(bad.error().message() ==
          "unknown allow_mail_to_files value \"bogus\" in \"alias, bogus\"");
    CHECK(!parse_lock_methods("fcntl, nfs").ok());
    CHECK(parse_delivered_header_classes("command").value() == delivered_header::command);
    // propagate_unmatched_extensions: Postfix's default names no local class; the other
    // programs' classes are accepted and left out.
    CHECK(settings->propagate_extensions == 0);
    CHECK(parse_propagation_classes("canonical, virtual, alias, generic, include").value() ==
          (static_cast<int>(ExpansionKind::alias) | static_cast<int>(ExpansionKind::include)));
    CHECK(!parse_propagation_classes("canonical, bogus").ok());
}
