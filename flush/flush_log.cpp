// The per-destination fast-flush logs; see flush_log.hpp.
#include "flush/flush_log.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "queue/queue_scan.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {
namespace {

constexpr size_t kMaxLogBytes = 16 * 1024 * 1024;

std::string log_path(std::string_view log_name) {
    return "flush/" + std::string(log_name);
}

// The log open and exclusively locked; the lock goes with the descriptor.
// `missing` tells a log that does not exist from other errors.
Result<Fd> open_locked(const std::string& path, int flags, bool* missing = nullptr) {
    Fd fd(::open(path.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) {
        if (missing != nullptr)
            *missing = errno == ENOENT;
        return system_error("open " + path, errno);
    }
    if (::flock(fd.get(), LOCK_EX) != 0)
        return system_error("lock " + path, errno);
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0)
        return system_error("fstat " + path, errno);
    if (!S_ISREG(info.st_mode))
        return Error(ErrorKind::corrupt, path + ": not a regular file");
    return fd;
}

Result<std::string> read_log(int fd, const std::string& path) {
    std::string text;
    char buffer[8192];
    for (;;) {
        ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return system_error("read " + path, errno);
        if (got == 0)
            return text;
        text.append(buffer, static_cast<size_t>(got));
        if (text.size() > kMaxLogBytes) {
            log_warning("%s: longer than %zu bytes; sending only that much", path.c_str(),
                        kMaxLogBytes);
            return text;
        }
    }
}

// 0, or the errno of the failure.
int set_times(const std::string& path, time_t now) {
    struct timespec times[2];
    times[0].tv_sec = now;
    times[0].tv_nsec = 0;
    times[1] = times[0];
    return ::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
}

// Sends the log open on `fd` (locked): each listed message once, then empties it.
int send_open_log(const FlushLogSettings& settings, int fd, const std::string& path) {
    Result<std::string> text = read_log(fd, path);
    if (!text) {
        log_warning("%s", text.error().message().c_str());
        return 0;
    }
    std::set<std::string, std::less<>> seen;
    int moved = 0;
    time_t now = ::time(nullptr);
    for (std::string_view line : split_list(*text, "\n")) {
        if (!queue_id_ok(line)) {
            log_warning("%s: bad queue ID in log; skipped", path.c_str());
            continue;
        }
        if (!seen.insert(std::string(line)).second)
            continue;
        if (flush_queue_file(settings.hashing, line, now))
            ++moved;
    }
    if (::ftruncate(fd, 0) != 0)
        log_warning("truncate %s: %m", path.c_str());
    return moved;
}

}  // namespace

bool flush_log_name_ok(std::string_view name) {
    if (name.empty() || name.size() > 255)
        return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    return true;
}

Status flush_log_add(std::string_view log_name, std::string_view queue_id) {
    if (!flush_log_name_ok(log_name) || !queue_id_ok(queue_id))
        log_panic("flush_log_add: bad log name or queue ID");
    std::string path = log_path(log_name);
    Result<Fd> fd = open_locked(path, O_WRONLY | O_CREAT | O_APPEND);
    if (!fd)
        return fd.error();
    return write_all(fd->get(), std::string(queue_id) + "\n");
}

bool flush_queue_file(const QueueHashing& hashing, std::string_view queue_id, time_t now) {
    // Another flush process may have moved it to incoming/ a moment ago.
    for (std::string_view queue : {std::string_view("deferred"), std::string_view("incoming")}) {
        std::string path = queue_file_path(".", hashing, queue, queue_id);
        if (int failed = set_times(path, now); failed != 0) {
            if (failed != ENOENT)
                log_warning("update %s time stamps: %s", path.c_str(), std::strerror(failed));
            continue;
        }
        if (queue == "deferred") {
            std::string target = queue_file_path(".", hashing, "incoming", queue_id);
            if (::rename(path.c_str(), target.c_str()) != 0 && errno != ENOENT)
                log_warning("rename %s to %s: %m", path.c_str(), target.c_str());
        }
        return true;
    }
    return false;
}

Result<int> flush_log_send(const FlushLogSettings& settings, std::string_view log_name) {
    if (!flush_log_name_ok(log_name))
        log_panic("flush_log_send: bad log name");
    std::string path = log_path(log_name);
    bool missing = false;
    Result<Fd> fd = open_locked(path, O_RDWR, &missing);
    if (!fd) {
        if (missing)
            return 0;
        return fd.error();
    }
    return send_open_log(settings, fd->get(), path);
}

int flush_log_refresh(const FlushLogSettings& settings, std::chrono::seconds max_age) {
    auto names = list_queue(".", "flush", false);
    if (!names) {
        log_warning("%s", names.error().message().c_str());
        return 0;
    }
    int moved = 0;
    for (const QueueScanEntry& entry : *names) {
        if (!flush_log_name_ok(entry.name))
            continue;
        std::string path = log_path(entry.name);
        Result<Fd> fd = open_locked(path, O_RDWR);
        if (!fd)
            continue;  // removed meanwhile, or not ours to read
        struct stat info {};
        if (::fstat(fd->get(), &info) != 0)
            continue;
        time_t now = ::time(nullptr);
        if (info.st_size == 0) {
            if (info.st_mtime + settings.purge_time.count() < now && ::unlink(path.c_str()) != 0)
                log_warning("remove logfile %s: %m", path.c_str());
        } else if (info.st_atime + max_age.count() <= now) {
            moved += send_open_log(settings, fd->get(), path);
        }
    }
    return moved;
}

}  // namespace postern
