// Bounce logs: writer and reader of Postfix's defer/, bounce/ and trace/ record format.
#include "queue/bounce_log.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "queue/queue_file.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

namespace postern {
namespace {

void put_attribute(std::string& out, std::string_view name, std::string_view value) {
    out.append(name);
    out.push_back('=');
    out.append(value);
    out.push_back('\n');
}

void put_if_set(std::string& out, std::string_view name, std::string_view value) {
    if (!value.empty())
        put_attribute(out, name, value);
}

// One name=value line into the record being collected; unknown names are ignored.
void take_attribute(BounceLogRecord& record, std::string_view name, std::string_view value) {
    if (name == "recipient") {
        record.recipient = std::string(value);
        record.has_recipient = true;
    } else if (name == "original_recipient") {
        record.original_recipient = std::string(value);
    } else if (name == "offset") {
        auto number = parse_integer(value);
        record.offset = number ? *number : -1;
    } else if (name == "dsn_orig_rcpt") {
        record.dsn_orcpt = std::string(value);
    } else if (name == "notify_flags") {
        auto number = parse_integer(value);
        record.dsn_notify =
            number && *number >= 0 && *number <= 0xffff ? static_cast<int>(*number) : 0;
    } else if (name == "status") {
        record.status.status = std::string(value);
    } else if (name == "action") {
        record.status.action = std::string(value);
    } else if (name == "reason") {
        record.status.reason = std::string(value);
        record.has_reason = true;
    } else if (name == "diag_type") {
        record.status.diagnostic_type = std::string(value);
    } else if (name == "diag_text") {
        record.status.diagnostic_text = std::string(value);
    } else if (name == "mta_type") {
        record.status.mta_type = std::string(value);
    } else if (name == "mta_mname") {
        record.status.mta_name = std::string(value);
    }
}

Result<std::string> log_path(const std::string& queue_directory, const QueueHashing& hashing,
                             std::string_view log_queue, std::string_view queue_id) {
    if (!queue_id_ok(queue_id) || !queue_name_ok(log_queue))
        return Error(ErrorKind::protocol,
                     "invalid log name: " + std::string(log_queue) + "/" + std::string(queue_id));
    return queue_file_path(queue_directory, hashing, log_queue, queue_id);
}

Status write_locked(int fd, const std::string& path, std::string_view bytes) {
    if (::flock(fd, LOCK_EX) != 0)
        return system_error("lock " + path, errno);
    Status written = write_all(fd, bytes);
    if (!written)
        return Error(written.error().kind(), path + ": " + written.error().message());
    if (::fsync(fd) != 0)
        return system_error("fsync " + path, errno);
    return {};
}

}  // namespace

std::string format_bounce_log_record(const BounceLogRecord& record) {
    std::string out = "\n<" + record.recipient + ">: " + record.status.reason + "\n";
    put_attribute(out, "recipient", record.recipient);
    if (record.original_recipient != record.recipient)
        put_if_set(out, "original_recipient", record.original_recipient);
    if (record.offset >= 0)
        put_attribute(out, "offset", std::to_string(record.offset));
    put_if_set(out, "dsn_orig_rcpt", record.dsn_orcpt);
    if (record.dsn_notify != 0)
        put_attribute(out, "notify_flags", std::to_string(record.dsn_notify));
    put_attribute(out, "status", record.status.status);
    put_attribute(out, "action", record.status.action);
    put_if_set(out, "diag_type", record.status.diagnostic_type);
    put_if_set(out, "diag_text", record.status.diagnostic_text);
    put_if_set(out, "mta_type", record.status.mta_type);
    put_if_set(out, "mta_mname", record.status.mta_name);
    put_attribute(out, "reason", record.status.reason);
    out.push_back('\n');
    return out;
}

Status append_bounce_log(const std::string& queue_directory, const QueueHashing& hashing,
                         std::string_view log_queue, std::string_view queue_id,
                         const BounceLogRecord& record) {
    Result<std::string> path = log_path(queue_directory, hashing, log_queue, queue_id);
    if (!path)
        return path.error();
    if (Status made = make_queue_file_directory(queue_directory, hashing, log_queue, queue_id);
        !made)
        return made;
    Fd fd(::open(path->c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid())
        return system_error("open " + *path, errno);
    return write_locked(fd.get(), *path, format_bounce_log_record(record));
}

std::vector<BounceLogRecord> parse_bounce_log(std::string_view text) {
    std::vector<BounceLogRecord> records;
    BounceLogRecord current;
    bool collecting = false;
    while (!text.empty()) {
        size_t newline = text.find('\n');
        if (newline == std::string_view::npos)
            break;  // a record the file ends inside is not complete
        std::string_view line = text.substr(0, newline);
        text.remove_prefix(newline + 1);
        if (line.empty()) {
            if (collecting)
                records.push_back(std::move(current));
            current = BounceLogRecord();
            collecting = false;
            continue;
        }
        size_t equals = line.find('=');
        if (equals == std::string_view::npos)
            continue;  // the pre-2.3 "<rcpt>: text" line, or garbage
        take_attribute(current, trim(line.substr(0, equals)), trim(line.substr(equals + 1)));
        collecting = true;
    }
    return records;
}

Result<std::vector<BounceLogRecord>> read_bounce_log(const std::string& queue_directory,
                                                     const QueueHashing& hashing,
                                                     std::string_view log_queue,
                                                     std::string_view queue_id) {
    Result<std::string> path = log_path(queue_directory, hashing, log_queue, queue_id);
    if (!path)
        return path.error();
    Fd fd(::open(path->c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd.valid())
        return errno == ENOENT ? Error(ErrorKind::not_found, *path + ": no such log")
                               : system_error("open " + *path, errno);
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0)
        return system_error("stat " + *path, errno);
    if (!S_ISREG(info.st_mode))
        return Error(ErrorKind::corrupt, *path + ": not a regular file");
    std::string text;
    char buffer[16384];
    while (text.size() < kMaxBounceLogBytes) {
        ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return system_error("read " + *path, errno);
        if (got == 0)
            break;
        text.append(buffer, static_cast<size_t>(got));
    }
    if (text.size() > kMaxBounceLogBytes)
        text.resize(kMaxBounceLogBytes);
    return parse_bounce_log(text);
}

Status remove_bounce_log(const std::string& queue_directory, const QueueHashing& hashing,
                         std::string_view log_queue, std::string_view queue_id) {
    Result<std::string> path = log_path(queue_directory, hashing, log_queue, queue_id);
    if (!path)
        return path.error();
    if (::unlink(path->c_str()) != 0 && errno != ENOENT)
        return system_error("remove " + *path, errno);
    return {};
}

std::string bounce_log_display_recipient(const BounceLogRecord& record) {
    if (!record.has_recipient)
        return "(recipient address unavailable)";
    if (record.recipient.empty())
        return "(MAILER-DAEMON)";
    return record.recipient;
}

std::string bounce_log_display_reason(const BounceLogRecord& record) {
    if (!record.has_reason || record.status.reason.empty())
        return "(description unavailable)";
    return record.status.reason;
}

}  // namespace postern
