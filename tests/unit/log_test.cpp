#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>

#include "config/config.hpp"
#include "config/log_settings.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

using namespace postern;

namespace {

std::string make_temporary_directory() {
    char pattern[] = "/tmp/postern-log-test.XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    return pattern;
}

// A maillog_file in a fresh directory; the logger goes back to /dev/null afterwards so
// that later tests do not write into a removed file or to syslog.
struct TemporaryLog {
    TemporaryLog() : directory(make_temporary_directory()), path(directory + "/maillog") {}
    ~TemporaryLog() {
        LogSettings quiet;
        quiet.maillog_file = "/dev/null";
        (void)log_init(quiet);
        ::unlink(path.c_str());
        ::rmdir(directory.c_str());
    }
    LogSettings settings() const {
        LogSettings settings;
        settings.syslog_name = "postfix";
        settings.program = "test";
        settings.hostname = "myhost";
        settings.maillog_file = path;
        return settings;
    }
    std::vector<std::string> lines() const {
        auto content = read_file(path);
        REQUIRE(content.ok());
        std::vector<std::string> result;
        std::istringstream stream(*content);
        for (std::string line; std::getline(stream, line);)
            result.push_back(line);
        return result;
    }
    std::string directory;
    std::string path;
};

// The shape of a Postfix 3.7 maillog_file line.
const std::regex kMaillogLine(
    R"(^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-3][0-9]) ([0-2][0-9]):([0-5][0-9]):([0-6][0-9]) (\S+) (\S+)\[([0-9]+)\]: (.*)$)");

// Runs `child` in a forked process and returns its wait status.
template <typename Function>
int run_in_child(Function child) {
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        child();
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    return status;
}

LogEvent event_at(Severity severity, std::string_view queue_id, std::string_view text) {
    struct tm local {};
    local.tm_year = 2024 - 1900;
    local.tm_mon = 0;
    local.tm_mday = 5;
    local.tm_hour = 10;
    local.tm_min = 11;
    local.tm_sec = 12;
    local.tm_isdst = -1;
    return {severity, queue_id, text, std::chrono::system_clock::from_time_t(::mktime(&local))};
}

LogIdentity test_identity() {
    LogIdentity identity;
    identity.identifier = "postfix/smtpd";
    identity.program = "smtpd";
    identity.hostname = "myhost";
    identity.facility = LOG_MAIL;
    identity.pid = 123;
    return identity;
}

}  // namespace

TEST_CASE("severity prefixes are Postfix's") {
    auto [severity, expected] = GENERATE(table<Severity, std::string>({
        {Severity::debug, "text"},
        {Severity::info, "text"},
        {Severity::warning, "warning: text"},
        {Severity::error, "error: text"},
        {Severity::fatal, "fatal: text"},
        {Severity::panic, "panic: text"},
    }));
    std::string out;
    render_message(event_at(severity, {}, "text"), out);
    CHECK(out == expected);
    out.clear();
    render_message(event_at(severity, "4Yk2Lq1x2Fz9Q", "text"), out);
    std::string prefix(severity_prefix(severity));
    CHECK(out == prefix + "4Yk2Lq1x2Fz9Q: text");
}

TEST_CASE("syslog priorities follow Postfix") {
    CHECK(severity_syslog_priority(Severity::debug) == LOG_INFO);
    CHECK(severity_syslog_priority(Severity::info) == LOG_INFO);
    CHECK(severity_syslog_priority(Severity::warning) == LOG_WARNING);
    CHECK(severity_syslog_priority(Severity::error) == LOG_ERR);
    CHECK(severity_syslog_priority(Severity::fatal) == LOG_CRIT);
    CHECK(severity_syslog_priority(Severity::panic) == LOG_CRIT);
}

TEST_CASE("a maillog_file line is rendered byte for byte as Postfix 3.7 writes it") {
    std::string out;
    render_maillog_line(event_at(Severity::warning, "4Yk2Lq1x2Fz9Q", "lost connection"),
                        test_identity(), out);
    CHECK(out ==
          "Jan 05 10:11:12 myhost postfix/smtpd[123]: warning: 4Yk2Lq1x2Fz9Q: "
          "lost connection\n");
}

TEST_CASE("a stderr line is program: message") {
    std::string out;
    render_stderr_line(event_at(Severity::fatal, {}, "open /etc/postfix/main.cf: denied"),
                       test_identity(), out);
    CHECK(out == "smtpd: fatal: open /etc/postfix/main.cf: denied\n");
}

TEST_CASE("log text is sanitized as Postfix does") {
    auto [input, allow_utf8, expected] = GENERATE(table<std::string, bool, std::string>({
        {"plain text", true, "plain text"},
        {"tab\there", true, "tab?here"},
        {"new\nline\r", true, "new?line?"},
        {"del\x7fx", true, "del?x"},
        {"utf8 \xc3\xa9 ok", true, "utf8 \xc3\xa9 ok"},
        {"emoji \xf0\x9f\x98\x80", true, "emoji \xf0\x9f\x98\x80"},
        {"stray \x80\xff", true, "stray ??"},
        {"bad \xc3"
         "A",
         true, "bad ?A"},
        {"overlong \xc0\xaf", true, "overlong ??"},
        {"cut \xe1", true, "cut ?"},
        {"utf8 \xc3\xa9 off", false, "utf8 ?? off"},
    }));
    std::string out;
    append_sanitized(out, input, allow_utf8);
    CHECK(out == expected);
}

TEST_CASE("syslog_facility names") {
    auto [name, facility] = GENERATE(table<std::string, int>({
        {"mail", LOG_MAIL},
        {"daemon", LOG_DAEMON},
        {"auth", LOG_AUTH},
        {"authpriv", LOG_AUTHPRIV},
        {"user", LOG_USER},
        {"local0", LOG_LOCAL0},
        {"local7", LOG_LOCAL7},
    }));
    auto parsed = parse_syslog_facility(name);
    REQUIRE(parsed.ok());
    CHECK(*parsed == facility);
}

TEST_CASE("unknown syslog_facility names are configuration errors") {
    auto name = GENERATE(as<std::string>{}, "MAIL", "bogus", "local8", "security", "");
    auto parsed = parse_syslog_facility(name);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().kind() == ErrorKind::config);
    CHECK_THAT(parsed.error().message(), Catch::Contains("syslog_facility"));
}

TEST_CASE("log_init reports a bad facility and keeps logging") {
    TemporaryLog log;
    LogSettings settings = log.settings();
    settings.facility = "bogus";
    Status status = log_init(settings);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind() == ErrorKind::config);
    log_info("still here");
    auto lines = log.lines();
    REQUIRE(lines.size() == 1);
    CHECK_THAT(lines[0], Catch::EndsWith(": still here"));
}

TEST_CASE("log_init reports a maillog_file it cannot open") {
    LogSettings settings;
    settings.maillog_file = "/nonexistent/postern/maillog";
    settings.journal = JournalMode::never;
    Status status = log_init(settings);
    REQUIRE_FALSE(status.ok());
    CHECK_THAT(status.error().message(), Catch::Contains("/nonexistent/postern/maillog"));
    settings.maillog_file = "/dev/null";
    CHECK(log_init(settings).ok());
}

TEST_CASE("maillog_file lines have Postfix's shape") {
    TemporaryLog log;
    REQUIRE(log_init(log.settings()).ok());
    log_warning("%s: %d recipients", "4Yk2Lq1x2Fz9Q", 3);
    log_message_info("4Yk2Lq1x2Fz9Q", "from=<%s>, size=%d", "a@example.com", 1234);
    log_error("plain error");
    auto lines = log.lines();
    REQUIRE(lines.size() == 3);
    std::vector<std::string> texts;
    for (const auto& line : lines) {
        std::smatch match;
        REQUIRE(std::regex_match(line, match, kMaillogLine));
        CHECK(match[6] == "myhost");
        CHECK(match[7] == "postfix/test");
        CHECK(std::stol(match[8]) == ::getpid());
        texts.push_back(match[9]);
    }
    CHECK(texts[0] == "warning: 4Yk2Lq1x2Fz9Q: 3 recipients");
    CHECK(texts[1] == "4Yk2Lq1x2Fz9Q: from=<a@example.com>, size=1234");
    CHECK(texts[2] == "error: plain error");
}

TEST_CASE("long log text is formatted whole") {
    TemporaryLog log;
    REQUIRE(log_init(log.settings()).ok());
    std::string long_text(3000, 'x');
    log_info("start %s end", long_text.c_str());
    auto lines = log.lines();
    REQUIRE(lines.size() == 1);
    CHECK_THAT(lines[0], Catch::EndsWith(": start " + long_text + " end"));
}

TEST_CASE("%m names errno, and logging keeps errno") {
    TemporaryLog log;
    REQUIRE(log_init(log.settings()).ok());
    errno = ENOENT;
    log_warning("open x: %m");
    CHECK(errno == ENOENT);
    auto lines = log.lines();
    REQUIRE(lines.size() == 1);
    CHECK_THAT(lines[0], Catch::EndsWith("warning: open x: No such file or directory"));
}

TEST_CASE("log_debug lines appear only at enough verbosity") {
    TemporaryLog log;
    LogSettings settings = log.settings();
    settings.verbose = 1;
    REQUIRE(log_init(settings).ok());
    CHECK(log_verbosity() == 1);
    log_debug(1, "level one");
    log_debug(2, "level two");
    log_info("info");
    auto lines = log.lines();
    REQUIRE(lines.size() == 2);
    CHECK_THAT(lines[0],
               Catch::EndsWith("postfix/test[" + std::to_string(::getpid()) + "]: level one"));
    CHECK_THAT(lines[1], Catch::EndsWith(": info"));
}

TEST_CASE("concurrent writers produce whole lines") {
    TemporaryLog log;
    REQUIRE(log_init(log.settings()).ok());
    constexpr int kWriters = 8;
    constexpr int kLinesEach = 300;
    std::string padding(400, 'p');
    std::vector<pid_t> children;
    std::cout.flush();
    std::fflush(nullptr);
    for (int writer = 0; writer < kWriters; ++writer) {
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            // Half share the parent's descriptor, half open the file themselves.
            if (writer % 2 == 1 && !log_init(log.settings()).ok())
                ::_exit(2);
            for (int line = 0; line < kLinesEach; ++line)
                log_info("writer %d line %d %s", writer, line, padding.c_str());
            ::_exit(0);
        }
        children.push_back(pid);
    }
    for (pid_t child : children) {
        int status = 0;
        REQUIRE(::waitpid(child, &status, 0) == child);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    auto lines = log.lines();
    REQUIRE(lines.size() == size_t{kWriters * kLinesEach});
    const std::regex text(R"(^writer ([0-9]+) line ([0-9]+) (p+)$)");
    std::map<int, int> next_line;
    for (const auto& line : lines) {
        std::smatch match;
        REQUIRE(std::regex_match(line, match, kMaillogLine));
        std::string message = match[9];
        std::smatch parts;
        REQUIRE(std::regex_match(message, parts, text));
        CHECK(parts[3].length() == 400);
        int writer = std::stoi(parts[1]);
        CHECK(std::stol(match[8]) == children[static_cast<size_t>(writer)]);  // pid after fork
        CHECK(std::stoi(parts[2]) == next_line[writer]++);  // each writer's lines in order
    }
    CHECK(next_line.size() == size_t{kWriters});
}

TEST_CASE("log_fatal logs and exits 1") {
    TemporaryLog log;
    int status = run_in_child([&] {
        if (!log_init(log.settings()).ok())
            ::_exit(2);
        log_fatal("bad configuration: %s", "main.cf");
    });
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    auto lines = log.lines();
    REQUIRE(lines.size() == 1);
    CHECK_THAT(lines[0], Catch::EndsWith("]: fatal: bad configuration: main.cf"));
}

TEST_CASE("log_fatal with an Error logs its message") {
    TemporaryLog log;
    int status = run_in_child([&] {
        if (!log_init(log.settings()).ok())
            ::_exit(2);
        log_fatal(Error(ErrorKind::config, "open /etc/postfix/main.cf: denied"));
    });
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    auto lines = log.lines();
    REQUIRE(lines.size() == 1);
    CHECK_THAT(lines[0], Catch::EndsWith("]: fatal: open /etc/postfix/main.cf: denied"));
}

TEST_CASE("log_panic logs and aborts") {
    TemporaryLog log;
    int status = run_in_child([&] {
        struct rlimit no_core = {0, 0};
        ::setrlimit(RLIMIT_CORE, &no_core);
        ::signal(SIGABRT, SIG_DFL);  // not Catch's handler, which would report a failure
        if (!log_init(log.settings()).ok())
            ::_exit(2);
        log_panic("queue file %s vanished", "ABC");
    });
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGABRT);
    auto lines = log.lines();
    REQUIRE(lines.size() == 1);
    CHECK_THAT(lines[0], Catch::EndsWith("]: panic: queue file ABC vanished"));
}

TEST_CASE("command-line tools also log to stderr as program: text") {
    TemporaryLog log;
    std::string stderr_path = log.directory + "/stderr";
    int status = run_in_child([&] {
        Fd capture(::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        if (!capture.valid() || ::dup2(capture.get(), STDERR_FILENO) < 0)
            ::_exit(2);
        LogSettings settings = log.settings();
        settings.program = "postconf";
        settings.also_stderr = true;
        if (!log_init(settings).ok())
            ::_exit(2);
        log_warning("unused parameter: foo=bar");
        log_fatal("no such file");
    });
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    auto captured = read_file(stderr_path);
    REQUIRE(captured.ok());
    CHECK(*captured ==
          "postconf: warning: unused parameter: foo=bar\npostconf: fatal: no such file\n");
    auto lines = log.lines();
    REQUIRE(lines.size() == 2);
    CHECK_THAT(lines[1], Catch::Contains(" postfix/postconf["));
    ::unlink(stderr_path.c_str());
}

TEST_CASE("journald fields come from the same event") {
    std::vector<std::string> fields;
    build_journal_fields(event_at(Severity::warning, "4Yk2Lq1x2Fz9Q", "lost connection"),
                         test_identity(), fields);
    CHECK(fields == std::vector<std::string>{
                        "MESSAGE=warning: 4Yk2Lq1x2Fz9Q: lost connection",
                        "PRIORITY=4",
                        "SYSLOG_IDENTIFIER=postfix/smtpd",
                        "SYSLOG_FACILITY=2",
                        "SYSLOG_PID=123",
                        "POSTERN_SEVERITY=warning",
                        "QUEUE_ID=4Yk2Lq1x2Fz9Q",
                    });
    // Reused for a line that concerns no message: no QUEUE_ID left over.
    build_journal_fields(event_at(Severity::debug, {}, "verbose"), test_identity(), fields);
    CHECK(fields == std::vector<std::string>{
                        "MESSAGE=verbose",
                        "PRIORITY=7",
                        "SYSLOG_IDENTIFIER=postfix/smtpd",
                        "SYSLOG_FACILITY=2",
                        "SYSLOG_PID=123",
                        "POSTERN_SEVERITY=debug",
                    });
}

TEST_CASE("JOURNAL_STREAM is matched against device and inode") {
    CHECK(journal_stream_matches("8:12345", 8, 12345));
    CHECK_FALSE(journal_stream_matches("8:12345", 8, 12346));
    CHECK_FALSE(journal_stream_matches("9:12345", 8, 12345));
    CHECK_FALSE(journal_stream_matches(nullptr, 8, 12345));
    CHECK_FALSE(journal_stream_matches("", 8, 12345));
    CHECK_FALSE(journal_stream_matches("8:", 8, 0));
    CHECK_FALSE(journal_stream_matches(":12345", 0, 12345));
    CHECK_FALSE(journal_stream_matches("8:12345x", 8, 12345));
    CHECK_FALSE(journal_stream_matches("812345", 8, 12345));
}

TEST_CASE("log settings from a configuration with defaults only") {
    Config config = Config::defaults_only();
    LogSettings settings = log_settings_from_config(config, "smtpd");
    CHECK(settings.syslog_name == "postfix");
    CHECK(settings.facility == "mail");
    CHECK(settings.maillog_file.empty());
    CHECK(settings.identifier() == "postfix/smtpd");
    CHECK_FALSE(settings.hostname.empty());
    CHECK(settings.hostname.find('.') == std::string::npos);
}

TEST_CASE("log settings follow main.cf overrides") {
    Config config = Config::defaults_only();
    config.set_override("multi_instance_name", "postfix-out");
    config.set_override("syslog_facility", "local3");
    config.set_override("maillog_file", "/var/log/postern.log");
    config.set_override("myhostname", "mx1.example.com");
    LogSettings settings = log_settings_from_config(config, "qmgr");
    CHECK(settings.syslog_name == "postfix-out");
    CHECK(settings.identifier() == "postfix-out/qmgr");
    CHECK(settings.facility == "local3");
    CHECK(settings.maillog_file == "/var/log/postern.log");
    CHECK(settings.hostname == "mx1");
    config.set_override("syslog_name", "edge");
    CHECK(log_settings_from_config(config, "qmgr").identifier() == "edge/qmgr");
}
