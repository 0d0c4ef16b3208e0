// mbox files: safe open, locks, append; see mbox.hpp.
#include "local/mbox.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <thread>

#include "util/log.hpp"

namespace postern::local {

namespace {

bool has_method(const LockSettings& locks, LockMethod method) {
    for (LockMethod m : locks.methods)
        if (m == method)
            return true;
    return false;
}

Error open_error(std::string what, int error) {
    return mailbox_error(std::move(what), error);
}

// Opens an existing file for appending after checking what it is. A symbolic link is
// followed only when root owns it (/var/mail/x -> /dev/null set up by an administrator).
Result<std::pair<Fd, struct stat>> open_existing(const std::string& path, const struct stat& link) {
    int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK;
    if (S_ISLNK(link.st_mode)) {
        if (link.st_uid != 0)
            return open_error("file is a symbolic link", ELOOP);
    } else {
        flags |= O_NOFOLLOW;
    }
    Fd fd(::open(path.c_str(), flags));
    if (!fd.valid())
        return open_error("cannot open file", errno);
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0)
        return open_error("cannot fstat file", errno);
    struct stat target {};
    if (::stat(path.c_str(), &target) != 0 || target.st_dev != info.st_dev ||
        target.st_ino != info.st_ino)
        return Error(ErrorKind::temporary, "file has been replaced", "4.2.0");
    if (S_ISREG(info.st_mode) && info.st_nlink != 1)
        return Error(ErrorKind::permanent,
                     "file has " + std::to_string(info.st_nlink) + " hard links", "5.2.0");
    // Back to blocking writes now that a FIFO or device cannot hold up the open.
    int current = ::fcntl(fd.get(), F_GETFL);
    if (current >= 0)
        (void)::fcntl(fd.get(), F_SETFL, current & ~O_NONBLOCK);
    return std::make_pair(std::move(fd), info);
}

// A new file, created exclusively; `raced` is set when it appeared in between.
Result<std::pair<Fd, struct stat>> create_new(const std::string& path, const MailboxOpen& how,
                                              bool& raced) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                 0600));
    if (!fd.valid()) {
        raced = errno == EEXIST;
        return open_error("cannot create file exclusively", errno);
    }
    if (how.chown_uid &&
        ::fchown(fd.get(), *how.chown_uid, how.chown_gid.value_or(static_cast<gid_t>(-1))) != 0)
        return open_error("cannot change file ownership", errno);
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0)
        return open_error("cannot fstat file", errno);
    return std::make_pair(std::move(fd), info);
}

Result<std::pair<Fd, struct stat>> safe_open(const std::string& path, const MailboxOpen& how) {
    for (int tries = 0;; ++tries) {
        struct stat link {};
        if (::lstat(path.c_str(), &link) == 0)
            return open_existing(path, link);
        if (errno != ENOENT)
            return open_error("cannot open file", errno);
        bool raced = false;
        auto created = create_new(path, how, raced);
        if (created || !raced || tries > 0)
            return created;  // raced: another delivery created it; open that one
    }
}

// One kernel lock (fcntl or flock), tried `attempts` times.
Status kernel_lock(int fd, LockMethod method, const LockSettings& locks) {
    for (int attempt = 0;; ++attempt) {
        int result;
        if (method == LockMethod::fcntl) {
            struct flock lock {};
            lock.l_type = F_WRLCK;
            lock.l_whence = SEEK_SET;
            result = ::fcntl(fd, F_SETLK, &lock);
        } else {
            result = ::flock(fd, LOCK_EX | LOCK_NB);
        }
        if (result == 0)
            return {};
        int error = errno;
        if (error != EAGAIN && error != EACCES && error != EWOULDBLOCK && error != EINTR)
            return mailbox_error("unable to lock for exclusive access", error);
        if (attempt + 1 >= locks.attempts)
            return mailbox_error("unable to lock for exclusive access", EAGAIN);
        std::this_thread::sleep_for(locks.delay);
    }
}

bool stale(const std::string& lock, const LockSettings& locks) {
    struct stat info {};
    return ::stat(lock.c_str(), &info) == 0 &&
           info.st_ctime + static_cast<time_t>(locks.stale.count()) < std::time(nullptr);
}

}  // namespace

Result<std::string> create_dotlock(const std::string& path, const LockSettings& locks) {
    std::string lock = path + ".lock";
    for (int attempt = 0;; ++attempt) {
        Fd fd(::open(lock.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0));
        if (fd.valid())
            return lock;
        int error = errno;
        if (error != EEXIST)
            return mailbox_error("unable to create lock file " + lock, error);
        if (stale(lock, locks)) {
            log_warning("removing stale lock file %s", lock.c_str());
            (void)::unlink(lock.c_str());
            continue;
        }
        if (attempt + 1 >= locks.attempts)
            return Error(ErrorKind::temporary,
                         "unable to create lock file " + lock + ": " + std::strerror(EEXIST),
                         "4.2.0");
        std::this_thread::sleep_for(locks.delay);
    }
}

Result<LockedMailbox> LockedMailbox::open(const std::string& path, const LockSettings& locks,
                                          const MailboxOpen& how) {
    std::string dotlock;
    if (has_method(locks, LockMethod::dotlock)) {
        auto made = create_dotlock(path, locks);
        if (made) {
            dotlock = *made;
        } else if (!locks.dotlock_may_fail ||
                   made.error().enhanced_status() == std::string_view("4.2.0")) {
            return made.error();
        } else {
            log_warning("%s", made.error().message().c_str());
        }
    }
    // From here the destructor removes the dot lock, whatever fails.
    LockedMailbox mailbox(Fd(), {}, std::move(dotlock));
    auto opened = safe_open(path, how);
    if (!opened)
        return opened.error();
    mailbox.fd_ = std::move(opened->first);
    mailbox.info_ = opened->second;
    for (LockMethod method : locks.methods)
        if (method != LockMethod::dotlock)
            if (Status locked = kernel_lock(mailbox.fd(), method, locks); !locked)
                return locked.error();
    return mailbox;
}

LockedMailbox::LockedMailbox(LockedMailbox&& other) noexcept
    : fd_(std::move(other.fd_)), info_(other.info_), dotlock_(std::move(other.dotlock_)) {
    other.dotlock_.clear();
}

LockedMailbox::~LockedMailbox() {
    fd_.reset();
    if (!dotlock_.empty() && ::unlink(dotlock_.c_str()) != 0 && errno != ENOENT)
        log_warning("remove lock file %s: %s", dotlock_.c_str(), std::strerror(errno));
}

Status append_to_mailbox(LockedMailbox& mailbox, MessageSource message, CopyOptions options) {
    off_t end = ::lseek(mailbox.fd(), 0, SEEK_END);
    bool regular = S_ISREG(mailbox.info().st_mode);
    if (end < 0)
        end = 0;  // a device or pipe: nothing to seek or truncate
    options.existing_size = regular ? end : 0;
    FdSink sink(mailbox.fd());
    auto copied = copy_message(std::move(message), sink, options);
    Status status = copied ? Status() : Status(copied.error());
    if (status && regular && ::fsync(mailbox.fd()) != 0)
        status = mailbox_error("error writing message", errno);
    if (!status && regular && ::ftruncate(mailbox.fd(), end) != 0)
        log_warning("truncate mailbox to %lld bytes: %s", static_cast<long long>(end),
                    std::strerror(errno));
    return status;
}

}  // namespace postern::local
