#include "util/log.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "util/file.hpp"
#include "util/strings.hpp"

namespace postern {

// ---- Severities and facilities --------------------------------------------------------

const char* severity_name(Severity severity) {
    switch (severity) {
        case Severity::debug:
            return "debug";
        case Severity::info:
            return "info";
        case Severity::warning:
            return "warning";
        case Severity::error:
            return "error";
        case Severity::fatal:
            return "fatal";
        case Severity::panic:
            return "panic";
    }
    return "info";
}

std::string_view severity_prefix(Severity severity) {
    switch (severity) {
        case Severity::debug:
        case Severity::info:
            return "";
        case Severity::warning:
            return "warning: ";
        case Severity::error:
            return "error: ";
        case Severity::fatal:
            return "fatal: ";
        case Severity::panic:
            return "panic: ";
    }
    return "";
}

int severity_syslog_priority(Severity severity) {
    switch (severity) {
        case Severity::debug:
        case Severity::info:
            return LOG_INFO;
        case Severity::warning:
            return LOG_WARNING;
        case Severity::error:
            return LOG_ERR;
        case Severity::fatal:
        case Severity::panic:
            return LOG_CRIT;
    }
    return LOG_INFO;
}

namespace {

struct FacilityName {
    std::string_view name;
    int facility;
};

// The names Postfix 3.7 accepts for syslog_facility (case matters, as in Postfix).
constexpr std::array kFacilities = {
    FacilityName{"auth", LOG_AUTH},     FacilityName{"authpriv", LOG_AUTHPRIV},
    FacilityName{"cron", LOG_CRON},     FacilityName{"daemon", LOG_DAEMON},
    FacilityName{"ftp", LOG_FTP},       FacilityName{"kern", LOG_KERN},
    FacilityName{"lpr", LOG_LPR},       FacilityName{"mail", LOG_MAIL},
    FacilityName{"news", LOG_NEWS},     FacilityName{"syslog", LOG_SYSLOG},
    FacilityName{"user", LOG_USER},     FacilityName{"uucp", LOG_UUCP},
    FacilityName{"local0", LOG_LOCAL0}, FacilityName{"local1", LOG_LOCAL1},
    FacilityName{"local2", LOG_LOCAL2}, FacilityName{"local3", LOG_LOCAL3},
    FacilityName{"local4", LOG_LOCAL4}, FacilityName{"local5", LOG_LOCAL5},
    FacilityName{"local6", LOG_LOCAL6}, FacilityName{"local7", LOG_LOCAL7},
};

constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Longer text is cut: a hostile %s must not make a line of unbounded size.
constexpr size_t kMaxTextBytes = 16 * 1024;

}  // namespace

Result<int> parse_syslog_facility(std::string_view name) {
    for (const auto& entry : kFacilities) {
        if (entry.name == name)
            return entry.facility;
    }
    return Error(ErrorKind::config, "unknown syslog_facility value: \"" + std::string(name) + "\"");
}

// ---- Sanitizing -----------------------------------------------------------------------

namespace {

bool is_continuation(unsigned char byte) {
    return byte >= 0x80 && byte <= 0xbf;
}

// Postfix 3.7's observed rule: a byte from 0xc2 to 0xfe followed by at least one
// continuation byte starts a sequence kept whole with all the continuation bytes that
// follow; any other byte above 0x7f is replaced. Loose, but byte-compatible.
size_t utf8_sequence_length(std::string_view text, size_t at) {
    auto lead = static_cast<unsigned char>(text[at]);
    if (lead < 0xc2 || lead > 0xfe)
        return 0;
    size_t end = at + 1;
    while (end < text.size() && is_continuation(static_cast<unsigned char>(text[end])))
        ++end;
    return end - at > 1 ? end - at : 0;
}

}  // namespace

void append_sanitized(std::string& out, std::string_view text, bool allow_utf8) {
    size_t at = 0;
    while (at < text.size()) {
        auto byte = static_cast<unsigned char>(text[at]);
        if (byte >= 0x20 && byte < 0x7f) {
            out.push_back(static_cast<char>(byte));
            ++at;
            continue;
        }
        size_t length = (allow_utf8 && byte >= 0x80) ? utf8_sequence_length(text, at) : 0;
        if (length == 0) {
            out.push_back('?');
            ++at;
            continue;
        }
        out.append(text.substr(at, length));
        at += length;
    }
}

// ---- Rendering ------------------------------------------------------------------------

void render_message(const LogEvent& event, std::string& out) {
    out += severity_prefix(event.severity);
    if (!event.queue_id.empty()) {
        out += event.queue_id;
        out += ": ";
    }
    out += event.text;
}

namespace {

void append_number(std::string& out, long value, int min_digits = 1) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
    (void)ec;
    for (long width = end - digits; width < min_digits; ++width)
        out.push_back('0');
    out.append(digits, end);
}

// "Nov 25 10:11:12": Postfix pads the day with a zero, unlike syslogd.
void append_timestamp(std::string& out, std::chrono::system_clock::time_point when) {
    time_t seconds = std::chrono::system_clock::to_time_t(when);
    struct tm local {};
    ::localtime_r(&seconds, &local);
    out += kMonths[static_cast<size_t>(local.tm_mon) % kMonths.size()];
    out.push_back(' ');
    append_number(out, local.tm_mday, 2);
    out.push_back(' ');
    append_number(out, local.tm_hour, 2);
    out.push_back(':');
    append_number(out, local.tm_min, 2);
    out.push_back(':');
    append_number(out, local.tm_sec, 2);
}

}  // namespace

void render_maillog_line(const LogEvent& event, const LogIdentity& identity, std::string& out) {
    append_timestamp(out, event.when);
    out.push_back(' ');
    out += identity.hostname;
    out.push_back(' ');
    out += identity.identifier;
    out.push_back('[');
    append_number(out, identity.pid);
    out += "]: ";
    render_message(event, out);
    out.push_back('\n');
}

void render_stderr_line(const LogEvent& event, const LogIdentity& identity, std::string& out) {
    out += identity.program;
    out += ": ";
    render_message(event, out);
    out.push_back('\n');
}

namespace {

// Reuses the string at `index` (keeping its capacity) for "NAME=".
std::string& next_field(std::vector<std::string>& fields, size_t& index, std::string_view name) {
    if (index == fields.size())
        fields.emplace_back();
    std::string& field = fields[index++];
    field.clear();
    field += name;
    field.push_back('=');
    return field;
}

}  // namespace

void build_journal_fields(const LogEvent& event, const LogIdentity& identity,
                          std::vector<std::string>& fields) {
    size_t count = 0;
    render_message(event, next_field(fields, count, "MESSAGE"));
    int priority =
        event.severity == Severity::debug ? LOG_DEBUG : severity_syslog_priority(event.severity);
    append_number(next_field(fields, count, "PRIORITY"), priority);
    next_field(fields, count, "SYSLOG_IDENTIFIER") += identity.identifier;
    append_number(next_field(fields, count, "SYSLOG_FACILITY"), identity.facility >> 3);
    append_number(next_field(fields, count, "SYSLOG_PID"), identity.pid);
    next_field(fields, count, "POSTERN_SEVERITY") += severity_name(event.severity);
    if (!event.queue_id.empty())
        next_field(fields, count, "QUEUE_ID") += event.queue_id;
    fields.resize(count);
}

bool journal_stream_matches(const char* journal_stream, dev_t device, ino_t inode) {
    if (journal_stream == nullptr)
        return false;
    std::string_view text(journal_stream);
    size_t colon = text.find(':');
    if (colon == std::string_view::npos)
        return false;
    unsigned long long want_device = 0;
    unsigned long long want_inode = 0;
    auto device_end = text.data() + colon;
    auto [device_stop, device_ec] = std::from_chars(text.data(), device_end, want_device);
    auto [inode_stop, inode_ec] =
        std::from_chars(device_end + 1, text.data() + text.size(), want_inode);
    if (device_ec != std::errc() || device_stop != device_end || colon == 0 ||
        inode_ec != std::errc() || inode_stop != text.data() + text.size() ||
        colon + 1 == text.size())
        return false;
    return want_device == static_cast<unsigned long long>(device) &&
           want_inode == static_cast<unsigned long long>(inode);
}

// ---- Settings -------------------------------------------------------------------------

std::string LogSettings::identifier() const {
    if (program.empty())
        return syslog_name;
    return syslog_name + "/" + program;
}

namespace {

std::string first_label(std::string_view host) {
    return std::string(host.substr(0, host.find('.')));
}

std::string system_short_hostname() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0')
        return "localhost";
    return first_label(name);
}

}  // namespace

std::string log_hostname(std::string_view myhostname) {
    return myhostname.empty() ? system_short_hostname() : first_label(myhostname);
}

// ---- The process-wide logger ----------------------------------------------------------

namespace {

enum class Sink { none, syslog, journald, file };

struct Logger {
    Logger() {
        identity.program = program_invocation_short_name;
        identity.identifier = identity.program;
        identity.hostname = system_short_hostname();
        identity.facility = LOG_MAIL;
        identity.pid = ::getpid();
        settings.also_stderr = true;
    }

    LogSettings settings;
    LogIdentity identity;
    Sink sink = Sink::none;
    bool syslog_open = false;
    bool stderr_is_journal = false;
    Fd file;
};

void refresh_pid();

Logger& logger() {
    // Never destroyed: static destructors may log.
    static Logger* instance = [] {
        auto* created = new Logger;
        ::pthread_atfork(nullptr, nullptr, refresh_pid);
        return created;
    }();
    return *instance;
}

// The pid in every line is cached, and refreshed in the child after each fork().
void refresh_pid() {
    logger().identity.pid = ::getpid();
}

// Per-thread buffers that keep their capacity: no allocation per line once warm.
struct LineBuffers {
    std::string raw;
    std::string text;
    std::string queue_id;
    std::string line;
    std::vector<std::string> fields;
};

// Freed when its thread ends, so threads that come and go do not leak them. Logging from a
// destructor that runs after that (the main thread's late static destructors) gets a new
// set, leaked on purpose: the process is ending.
struct ThreadLineBuffers {
    LineBuffers* buffers = new LineBuffers;
    ~ThreadLineBuffers() {
        delete buffers;
        buffers = nullptr;
    }
};

LineBuffers& line_buffers() {
    thread_local ThreadLineBuffers owner;
    if (owner.buffers == nullptr)
        owner.buffers = new LineBuffers;
    return *owner.buffers;
}

std::atomic<bool> exiting{false};
// The status a fatal error exits with (set_fatal_exit_status).
std::atomic<int> fatal_exit_status{1};

Result<Fd> open_maillog(const std::string& path) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640));
    if (!fd.valid())
        return Error(ErrorKind::config, system_error("open maillog_file " + path, errno).message());
    return fd;
}

bool stderr_is_journal_stream() {
    struct stat info {};
    if (::fstat(STDERR_FILENO, &info) != 0)
        return false;
    return journal_stream_matches(::getenv("JOURNAL_STREAM"), info.st_dev, info.st_ino);
}

Sink choose_sink(Logger& log) {
    if (log.file.valid())
        return Sink::file;
    bool journal = false;
    switch (log.settings.journal) {
        case JournalMode::automatic:
            journal = log.stderr_is_journal;
            break;
        case JournalMode::always:
            journal = ::sd_booted() > 0;
            break;
        case JournalMode::never:
            break;
    }
    return journal ? Sink::journald : Sink::syslog;
}

void write_line(int fd, std::string_view line) {
    (void)write_all(fd, line);
}

void send_to_journal(const LogEvent& event, LineBuffers& buffers) {
    Logger& log = logger();
    build_journal_fields(event, log.identity, buffers.fields);
    std::array<struct iovec, 8> vectors{};
    size_t count = 0;
    for (auto& field : buffers.fields) {
        if (count == vectors.size())
            break;
        vectors[count++] = {field.data(), field.size()};
    }
    (void)::sd_journal_sendv(vectors.data(), static_cast<int>(count));
}

void dispatch(const LogEvent& event, LineBuffers& buffers) {
    Logger& log = logger();
    switch (log.sink) {
        case Sink::none:
            break;
        case Sink::syslog:
            buffers.line.clear();
            render_message(event, buffers.line);
            ::syslog(severity_syslog_priority(event.severity), "%s", buffers.line.c_str());
            break;
        case Sink::journald:
            send_to_journal(event, buffers);
            break;
        case Sink::file:
            buffers.line.clear();
            render_maillog_line(event, log.identity, buffers.line);
            write_line(log.file.get(), buffers.line);
            break;
    }
    bool journal_has_stderr = log.sink == Sink::journald && log.stderr_is_journal;
    if (log.settings.also_stderr && !journal_has_stderr) {
        buffers.line.clear();
        render_stderr_line(event, log.identity, buffers.line);
        write_line(STDERR_FILENO, buffers.line);
    }
}

void finish(Severity severity) {
    if (severity == Severity::panic)
        std::abort();
    if (severity == Severity::fatal) {
        if (exiting.exchange(true))
            ::_exit(fatal_exit_status.load());  // while exiting: do not run the exit handlers twice
        std::exit(fatal_exit_status.load());
    }
}

void emit(Severity severity, std::string_view queue_id, std::string_view raw_text) {
    LineBuffers& buffers = line_buffers();
    bool utf8 = logger().settings.allow_utf8;
    buffers.text.clear();
    append_sanitized(buffers.text, raw_text.substr(0, kMaxTextBytes), utf8);
    buffers.queue_id.clear();
    append_sanitized(buffers.queue_id, queue_id, false);
    LogEvent event{severity, buffers.queue_id, buffers.text, std::chrono::system_clock::now()};
    dispatch(event, buffers);
}

// vsnprintf into `out`, growing it only when the text does not fit its capacity.
void format_into(std::string& out, const char* format, va_list arguments) {
    if (out.capacity() < 256)
        out.reserve(256);
    out.resize(out.capacity());
    va_list copy;
    va_copy(copy, arguments);
    int length = std::vsnprintf(out.data(), out.size(), format, copy);
    va_end(copy);
    if (length < 0) {
        out.clear();
        return;
    }
    auto needed = static_cast<size_t>(length);
    if (needed >= out.size()) {
        out.resize(needed + 1);
        std::vsnprintf(out.data(), out.size(), format, arguments);
    }
    out.resize(needed);
}

}  // namespace

Status log_init(const LogSettings& settings) {
    Logger& log = logger();
    if (log.syslog_open) {
        ::closelog();
        log.syslog_open = false;
    }
    log.file.reset();
    log.settings = settings;
    log.identity.identifier = settings.identifier();
    log.identity.program = settings.program.empty() ? settings.syslog_name : settings.program;
    log.identity.hostname = settings.hostname.empty() ? system_short_hostname() : settings.hostname;
    log.stderr_is_journal = stderr_is_journal_stream();

    Status status;
    auto facility = parse_syslog_facility(settings.facility);
    log.identity.facility = facility ? *facility : LOG_MAIL;
    if (!facility)
        status = facility.error();
    if (!settings.maillog_file.empty()) {
        auto file = open_maillog(settings.maillog_file);
        if (file)
            log.file = std::move(*file);
        else if (status.ok())
            status = file.error();
    }
    log.sink = choose_sink(log);
    if (log.sink == Sink::syslog) {
        // LOG_NDELAY: connect now, before a chroot hides /dev/log.
        ::openlog(log.identity.identifier.c_str(), LOG_PID | LOG_NDELAY, log.identity.facility);
        log.syslog_open = true;
    }
    return status;
}

Status log_reopen() {
    Logger& log = logger();
    if (log.sink != Sink::file)
        return {};
    auto file = open_maillog(log.settings.maillog_file);
    if (!file)
        return file.error();
    log.file = std::move(*file);
    return {};
}

int log_verbosity() {
    return logger().settings.verbose;
}

void set_fatal_exit_status(int status) {
    fatal_exit_status.store(status);
}

void log_text(Severity severity, std::string_view queue_id, std::string_view text) {
    int saved_errno = errno;
    emit(severity, queue_id, text);
    finish(severity);
    errno = saved_errno;
}

void log_vprintf(Severity severity, std::string_view queue_id, const char* format,
                 va_list arguments) {
    int saved_errno = errno;
    LineBuffers& buffers = line_buffers();
    errno = saved_errno;  // for %m
    format_into(buffers.raw, format, arguments);
    emit(severity, queue_id, buffers.raw);
    finish(severity);
    errno = saved_errno;
}

#define POSTERN_LOG_FORWARD(severity, queue_id, format) \
    va_list arguments;                                  \
    va_start(arguments, format);                        \
    log_vprintf(severity, queue_id, format, arguments); \
    va_end(arguments)

void log_debug(int level, const char* format, ...) {
    if (logger().settings.verbose < level)
        return;
    POSTERN_LOG_FORWARD(Severity::debug, {}, format);
}

void log_info(const char* format, ...) {
    POSTERN_LOG_FORWARD(Severity::info, {}, format);
}

void log_warning(const char* format, ...) {
    POSTERN_LOG_FORWARD(Severity::warning, {}, format);
}

void log_error(const char* format, ...) {
    POSTERN_LOG_FORWARD(Severity::error, {}, format);
}

void log_fatal(const char* format, ...) {
    POSTERN_LOG_FORWARD(Severity::fatal, {}, format);
    std::abort();  // not reached: log_vprintf exits
}

void log_panic(const char* format, ...) {
    POSTERN_LOG_FORWARD(Severity::panic, {}, format);
    std::abort();
}

void log_fatal(const Error& error) {
    log_text(Severity::fatal, {}, error.message());
    std::abort();  // not reached
}

void log_message_info(std::string_view queue_id, const char* format, ...) {
    POSTERN_LOG_FORWARD(Severity::info, queue_id, format);
}

void log_message_warning(std::string_view queue_id, const char* format, ...) {
    POSTERN_LOG_FORWARD(Severity::warning, queue_id, format);
}

void log_message_error(std::string_view queue_id, const char* format, ...) {
    POSTERN_LOG_FORWARD(Severity::error, queue_id, format);
}

#undef POSTERN_LOG_FORWARD

}  // namespace postern
