#include "server/master_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "util/strings.hpp"

namespace postern {

namespace {

// Postfix's format: the pid right-aligned in a wide field, then a newline.
std::string pid_text(pid_t pid) {
    char text[64];
    std::snprintf(text, sizeof text, "%*ld\n", static_cast<int>(sizeof(unsigned long) * 4),
                  static_cast<long>(pid));
    return text;
}

Result<Fd> open_locked(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd.valid())
        return system_error("open " + path, errno);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return Error(ErrorKind::temporary, "the Postfix mail system is already running");
        return system_error("lock " + path, errno);
    }
    return fd;
}

Status write_pid(int fd, const std::string& path) {
    if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0)
        return system_error("truncate " + path, errno);
    if (Status written = write_all(fd, pid_text(::getpid())); !written)
        return written;
    if (::fsync(fd) != 0)
        return system_error("fsync " + path, errno);
    return {};
}

}  // namespace

std::string master_pid_path(const std::string& queue_directory) {
    return queue_directory + "/pid/master.pid";
}

std::string master_lock_path(const std::string& data_directory) {
    return data_directory + "/master.lock";
}

Result<std::optional<pid_t>> running_master_pid(const std::string& queue_directory) {
    std::string path = master_pid_path(queue_directory);
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) {
        if (errno == ENOENT)
            return std::optional<pid_t>();
        return system_error("open " + path, errno);
    }
    if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0)
        return std::optional<pid_t>();
    if (errno != EWOULDBLOCK)
        return system_error("lock " + path, errno);
    Result<std::string> text = read_file(path);
    if (!text)
        return text.error();
    Result<int64_t> pid = parse_integer(trim(*text));
    if (!pid || *pid <= 0)
        return Error(ErrorKind::corrupt, path + ": no process id in the file");
    return std::optional<pid_t>(static_cast<pid_t>(*pid));
}

Result<MasterLock> MasterLock::acquire(const std::string& queue_directory,
                                       const std::string& data_directory) {
    MasterLock lock;
    std::string pid_path = master_pid_path(queue_directory);
    Result<Fd> pid_file = open_locked(pid_path);
    if (!pid_file)
        return pid_file.error();
    Result<Fd> lock_file = open_locked(master_lock_path(data_directory));
    if (!lock_file)
        return lock_file.error();
    lock.pid_file_ = std::move(*pid_file);
    lock.lock_file_ = std::move(*lock_file);
    if (Status written = lock.rewrite_pid(); !written)
        return written.error();
    return lock;
}

Status MasterLock::rewrite_pid() {
    if (Status written = write_pid(pid_file_.get(), "pid/master.pid"); !written)
        return written;
    return write_pid(lock_file_.get(), "master.lock");
}

}  // namespace postern
