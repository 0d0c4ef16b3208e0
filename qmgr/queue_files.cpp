#include "qmgr/queue_files.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "queue/queue_scan.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

namespace postern {

namespace {

std::string active_path(std::string_view queue_id) {
    return "active/" + std::string(queue_id);
}

Status set_modification_time(const std::string& path, time_t when) {
    struct timespec times[2];
    times[0].tv_sec = when;
    times[0].tv_nsec = 0;
    times[1] = times[0];
    if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
        return system_error("utime " + path, errno);
    return {};
}

// A file qmgr could not take stays out of the way for a while, in incoming/.
ActivatedFile put_back(const QueueHashing& hashing, std::string_view queue_id,
                       ActivationOutcome outcome, time_t now) {
    if (Status moved =
            move_active_file(hashing, queue_id, "incoming", now + kActivationRetrySeconds);
        !moved)
        log_warning("%s", moved.error().message().c_str());
    return ActivatedFile{outcome, {}};
}

ActivationOutcome check_candidate(const std::string& path, std::string_view queue, bool ignore_time,
                                  time_t now) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode))
        return ActivationOutcome::gone;
    // Still being written: cleanup sets the owner-execute bit when the file is complete.
    if (queue == "incoming" && (info.st_mode & S_IXUSR) == 0)
        return ActivationOutcome::not_ready;
    if (!ignore_time && info.st_mtime > now)
        return ActivationOutcome::not_ready;
    return ActivationOutcome::activated;
}

}  // namespace

ActivatedFile activate_queue_file(const QueueHashing& hashing, const std::string& path,
                                  std::string_view queue, std::string_view queue_id,
                                  bool ignore_time, time_t now) {
    if (auto ready = check_candidate(path, queue, ignore_time, now);
        ready != ActivationOutcome::activated)
        return ActivatedFile{ready, {}};
    std::string active = active_path(queue_id);
    if (::rename(path.c_str(), active.c_str()) != 0) {
        if (errno == ENOENT)
            return ActivatedFile{ActivationOutcome::gone, {}};
        log_warning("rename %s to %s: %m", path.c_str(), active.c_str());
        return ActivatedFile{ActivationOutcome::not_ready, {}};
    }
    auto reader = QueueFileReader::open(active);
    if (!reader) {
        if (reader.error().kind() == ErrorKind::not_found)
            return ActivatedFile{ActivationOutcome::gone, {}};
        log_warning("%s", reader.error().message().c_str());
        return put_back(hashing, queue_id, ActivationOutcome::failed, now);
    }
    if (::flock(reader->fd(), LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            log_warning("%s: lock %s: %m", std::string(queue_id).c_str(), active.c_str());
            return put_back(hashing, queue_id, ActivationOutcome::failed, now);
        }
        log_message_info(queue_id, "skipped, still being delivered");
        return put_back(hashing, queue_id, ActivationOutcome::locked, now);
    }
    auto envelope = reader->read_envelope();
    if (!envelope) {
        if (envelope.error().kind() != ErrorKind::corrupt) {
            log_warning("%s", envelope.error().message().c_str());
            return put_back(hashing, queue_id, ActivationOutcome::failed, now);
        }
        if (Status saved =
                quarantine_corrupt_queue_file(".", hashing, "active", queue_id, envelope.error());
            !saved)
            log_warning("%s", saved.error().message().c_str());
        return ActivatedFile{ActivationOutcome::corrupt, {}};
    }
    ActivatedFile activated{ActivationOutcome::activated, std::move(*envelope)};
    struct stat info {};
    activated.forced_expire =
        ::fstat(reader->fd(), &info) == 0 && (info.st_mode & kQueueFileModeExpire) != 0;
    return activated;
}

bool active_file_forced_to_expire(std::string_view queue_id) {
    struct stat info {};
    return ::lstat(active_path(queue_id).c_str(), &info) == 0 &&
           (info.st_mode & kQueueFileModeExpire) != 0;
}

Status move_active_file(const QueueHashing& hashing, std::string_view queue_id,
                        std::string_view queue, time_t when) {
    std::string from = active_path(queue_id);
    if (Status made = make_queue_file_directory(".", hashing, queue, queue_id); !made)
        return made;
    if (Status timed = set_modification_time(from, when); !timed)
        return timed;
    std::string to = queue_file_path(".", hashing, queue, queue_id);
    if (::rename(from.c_str(), to.c_str()) != 0)
        return system_error("rename " + from + " to " + to, errno);
    return {};
}

Status remove_active_file(std::string_view queue_id) {
    std::string path = active_path(queue_id);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return system_error("remove " + path, errno);
    return {};
}

Status update_warning_time(std::string_view queue_id, int64_t offset, int64_t value) {
    std::string path = active_path(queue_id);
    Fd file(::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
    if (!file.valid())
        return system_error("open " + path, errno);
    // The record as the writer lays it out: 'W', length 15 (one length byte), "%15ld".
    char header[2];
    if (offset < 0 || ::pread(file.get(), header, sizeof header, offset) != sizeof header ||
        header[0] != 'W' || header[1] != 15)
        return Error(ErrorKind::corrupt,
                     path + ": no warning time record at offset " + std::to_string(offset));
    char text[16];
    std::snprintf(text, sizeof text, "%15lld", static_cast<long long>(value));
    if (::pwrite(file.get(), text, 15, offset + 2) != 15)
        return system_error("update " + path, errno);
    if (::fdatasync(file.get()) != 0)
        return system_error("fsync " + path, errno);
    return {};
}

bool queue_log_exists(const QueueHashing& hashing, std::string_view log_queue,
                      std::string_view queue_id) {
    std::string path = queue_file_path(".", hashing, log_queue, queue_id);
    struct stat info {};
    return ::lstat(path.c_str(), &info) == 0;
}

size_t recover_active_queue(time_t now) {
    auto names = list_queue(".", "active", false);
    if (!names) {
        log_warning("scan active: %s", names.error().message().c_str());
        return 0;
    }
    size_t moved = 0;
    for (const QueueScanEntry& entry : *names) {
        if (!queue_id_ok(entry.name))
            continue;
        std::string from = entry.path();
        std::string to = "incoming/" + entry.name;
        if (Status timed = set_modification_time(from, now); !timed) {
            log_warning("%s", timed.error().message().c_str());
            continue;
        }
        if (::rename(from.c_str(), to.c_str()) != 0) {
            log_warning("rename %s to %s: %m", from.c_str(), to.c_str());
            continue;
        }
        ++moved;
    }
    return moved;
}

}  // namespace postern
