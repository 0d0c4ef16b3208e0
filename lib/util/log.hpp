// Logging: every line a Postern program writes about its work, in Postfix's shape.
//
// Where it sits: util, below everything; every program calls log_init() once at start-up,
// before chroot and before dropping privileges (the syslog socket and maillog_file are
// opened there and kept). Log lines are an interface (STYLE.md habit 12): existing log
// tools parse them, so the text is byte-compatible with Postfix 3.7:
//
//   syslog:        "postfix/smtpd[123]: warning: 4Yk2Lq1x2Fz9Q: text"  (ident[pid] from openlog)
//   maillog_file:  "Nov 25 10:11:12 myhost postfix/smtpd[123]: warning: 4Yk2Lq1x2Fz9Q: text"
//   stderr:        "postconf: fatal: text"                (command-line tools)
//   journald:      the same MESSAGE, plus QUEUE_ID, POSTERN_SEVERITY... as separate fields
//
// Each call makes one LogEvent (severity, queue id, text, time) and renders it per
// destination in this module only. Text may come from the network (addresses, HELO names):
// control characters and malformed UTF-8 become '?' as Postfix does, so a peer cannot forge
// a second log line. Lines are built in per-thread buffers that keep their capacity: no
// allocation per line once warmed up, one write() per line.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdarg>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

#define POSTERN_PRINTF(format_index, first_arg) \
    __attribute__((format(printf, format_index, first_arg)))

namespace postern {

enum class Severity { debug, info, warning, error, fatal, panic };

// "info", "warning"... as in POSTERN_SEVERITY.
const char* severity_name(Severity severity);
// The prefix Postfix puts before the text: "" for info and debug, "warning: "...
std::string_view severity_prefix(Severity severity);
// The syslog(3) priority: LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT (fatal and panic).
// Debug lines are LOG_INFO, as Postfix's verbose logging.
int severity_syslog_priority(Severity severity);

// When journald is used instead of syslog(3). Ignored when maillog_file is set.
enum class JournalMode {
    automatic,  // only when stderr is the journal stream (JOURNAL_STREAM matches)
    always,     // whenever the system was booted with systemd (sd_booted)
    never,
};

struct LogSettings {
    // The syslog_name parameter; the identifier is "syslog_name/program".
    std::string syslog_name = "postfix";
    // The program's short name ("smtpd", "postconf"); empty: the identifier is syslog_name.
    std::string program;
    // The syslog_facility parameter: mail, daemon, local0..local7...
    std::string facility = "mail";
    // The maillog_file parameter: when set, lines go to this file instead of syslog.
    std::string maillog_file;
    // The host name in maillog_file lines: the first label of myhostname.
    std::string hostname;
    // Also "program: text" lines on stderr (command-line tools, interactive use).
    bool also_stderr = false;
    // -v count: log_debug(level, ...) lines appear when verbose >= level.
    int verbose = 0;
    // smtputf8_enable: keep well-formed UTF-8 in log text; else every non-ASCII byte is '?'.
    bool allow_utf8 = true;
    JournalMode journal = JournalMode::automatic;

    // "postfix/smtpd", or syslog_name alone when program is empty.
    std::string identifier() const;
};

// The host name a maillog_file line shows: the first label of `myhostname`, or of the
// system's host name when `myhostname` is empty.
std::string log_hostname(std::string_view myhostname);

// Configures the process-wide logger; may be called again (the previous file is closed).
// Must run before chroot/privilege drop. On error (unknown facility, maillog_file cannot be
// opened) the logger still works, sending to syslog (and stderr when asked), so the caller
// can report the error with log_fatal. Not thread-safe against concurrent log calls.
// Before the first log_init, lines go to stderr only, as "program: text".
Status log_init(const LogSettings& settings);
// Reopens maillog_file after it was renamed away (log rotation).
Status log_reopen();

int log_verbosity();

// The exit status of log_fatal (1 unless set): postqueue exits with EX_UNAVAILABLE (69) on
// every fatal error, as Postfix's does.
void set_fatal_exit_status(int status);

// The printf-style entry points. `queue_id` variants are for lines about one message:
// the id opens the text ("QUEUEID: text") and is a separate journald field.
void log_debug(int level, const char* format, ...) POSTERN_PRINTF(2, 3);
void log_info(const char* format, ...) POSTERN_PRINTF(1, 2);
void log_warning(const char* format, ...) POSTERN_PRINTF(1, 2);
void log_error(const char* format, ...) POSTERN_PRINTF(1, 2);
[[noreturn]] void log_fatal(const char* format, ...) POSTERN_PRINTF(1, 2);
[[noreturn]] void log_panic(const char* format, ...) POSTERN_PRINTF(1, 2);
// "fatal: " + the error's message, exit 1: the usual end of a tool that got an Error.
[[noreturn]] void log_fatal(const Error& error);

// The value, or log_fatal with the error: for tools and start-up code, where an error ends
// the program.
template <typename T>
T or_fatal(Result<T> result) {
    if (!result)
        log_fatal(result.error());
    return std::move(*result);
}
inline void or_fatal(const Status& status) {
    if (!status)
        log_fatal(status.error());
}

void log_message_info(std::string_view queue_id, const char* format, ...) POSTERN_PRINTF(2, 3);
void log_message_warning(std::string_view queue_id, const char* format, ...) POSTERN_PRINTF(2, 3);
void log_message_error(std::string_view queue_id, const char* format, ...) POSTERN_PRINTF(2, 3);

// The general form. Fatal exits 1 after logging, panic aborts; debug is not filtered here.
void log_text(Severity severity, std::string_view queue_id, std::string_view text);
void log_vprintf(Severity severity, std::string_view queue_id, const char* format,
                 va_list arguments) POSTERN_PRINTF(3, 0);

// ---- The pieces below are the renderers, public so that tests can check them. ----

// One thing worth logging. `text` is already sanitized; views live as long as the call.
struct LogEvent {
    Severity severity = Severity::info;
    std::string_view queue_id;  // empty: not about one message
    std::string_view text;
    std::chrono::system_clock::time_point when;
};

// Who logs: fixed at log_init, except pid (refreshed per line: fork() changes it).
struct LogIdentity {
    std::string identifier;  // "postfix/smtpd"
    std::string program;     // "smtpd", for stderr
    std::string hostname;    // "myhost"
    int facility = 0;        // LOG_MAIL...
    pid_t pid = 0;
};

// Postfix's facility names (lowercase, as Postfix accepts them) to LOG_MAIL etc.
Result<int> parse_syslog_facility(std::string_view name);

// Appends `text` to `out`, control characters and (per allow_utf8) malformed or any
// non-ASCII bytes replaced with '?', as Postfix's logging does.
void append_sanitized(std::string& out, std::string_view text, bool allow_utf8);

// The syslog message: "warning: QUEUEID: text" (no newline).
void render_message(const LogEvent& event, std::string& out);
// "Mon DD HH:MM:SS host ident[pid]: message\n", local time, C-locale month names.
void render_maillog_line(const LogEvent& event, const LogIdentity& identity, std::string& out);
// "program: message\n".
void render_stderr_line(const LogEvent& event, const LogIdentity& identity, std::string& out);
// "KEY=value" strings for sd_journal_sendv: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER,
// SYSLOG_FACILITY, SYSLOG_PID, POSTERN_SEVERITY and QUEUE_ID when there is one.
// `fields` keeps its capacity between calls.
void build_journal_fields(const LogEvent& event, const LogIdentity& identity,
                          std::vector<std::string>& fields);

// JOURNAL_STREAM is "device:inode" of the journal's stream; true when it names the
// descriptor whose fstat gave `device` and `inode` (so that descriptor goes to journald).
bool journal_stream_matches(const char* journal_stream, dev_t device, ino_t inode);

}  // namespace postern
