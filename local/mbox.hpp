// UNIX mailbox (mbox) files: opening one safely, locking it against mail readers and other
// deliveries (mailbox_delivery_lock: fcntl, flock, dotlock), and appending a message.
//
// Where it sits: local/, for mail_spool_directory/USER, home_mailbox without a trailing
// "/", and /file destinations of aliases and .forward files. Called with the identity
// that must do the work already in force (identity.hpp): the recipient, or for a spool
// directory that only root may write, root (then a new mailbox is given to the recipient
// with fchown, as Postfix does).
//
// The file is the user's and the path may have been prepared by anyone who can write the
// directory, so opening is careful (Postfix's safe_open): an existing file must be a
// regular file with one link, reached without a symbolic link unless root owns the link,
// and the descriptor must be the file that was checked; a missing file is created
// exclusively (O_EXCL, mode 0600), never through a link. Locks, in the order Postfix takes
// them: the dot lock (PATH.lock, created exclusively; one older than stale_lock_time is
// removed) before opening, then fcntl and flock on the descriptor, each tried
// deliver_lock_attempts times deliver_lock_delay apart. A busy lock is a temporary error
// (4.2.0 "unable to lock for exclusive access: Resource temporarily unavailable").
//
// Appending: the message goes after the current end, then fsync; a failure truncates the
// file back to its old length, so a mail reader never sees half a message.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "local/local_settings.hpp"
#include "local/message_copy.hpp"
#include "util/file.hpp"
#include "util/result.hpp"

namespace postern::local {

struct LockSettings {
    std::vector<LockMethod> methods{LockMethod::fcntl, LockMethod::dotlock};
    int attempts = 20;
    std::chrono::milliseconds delay{1000};
    std::chrono::seconds stale{500};
    // /file destinations: a dot lock that cannot be created (no write permission on the
    // directory) is a warning, not a failure (Postfix's MBOX_DOT_LOCK_MAY_FAIL).
    bool dotlock_may_fail = false;
};

struct MailboxOpen {
    // Give a newly created file to this user (a spool directory only root may write).
    std::optional<uid_t> chown_uid;
    std::optional<gid_t> chown_gid;
};

class LockedMailbox {
  public:
    // Errors carry Postfix's words and an enhanced status (message_copy.hpp's
    // mailbox_error): "cannot create file exclusively: Permission denied", "file has 2
    // hard links", "unable to create lock file PATH: File exists",
    // "unable to lock for exclusive access: Resource temporarily unavailable".
    static Result<LockedMailbox> open(const std::string& path, const LockSettings& locks,
                                      const MailboxOpen& how = {});

    LockedMailbox(LockedMailbox&& other) noexcept;
    LockedMailbox& operator=(LockedMailbox&&) = delete;
    LockedMailbox(const LockedMailbox&) = delete;
    // Closes the file (releasing fcntl and flock locks) and removes the dot lock.
    ~LockedMailbox();

    int fd() const { return fd_.get(); }
    const struct stat& info() const { return info_; }

  private:
    LockedMailbox(Fd fd, struct stat info, std::string dotlock)
        : fd_(std::move(fd)), info_(info), dotlock_(std::move(dotlock)) {}

    Fd fd_;
    struct stat info_ {};
    std::string dotlock_;  // empty: no dot lock held
};

// Appends the message at the end of the open, locked file: envelope headers and From
// line per `options` (mbox format: from_line, quote_from, blank_line), size limit counted
// from the current size, fsync; on failure the file is truncated to its old size.
Status append_to_mailbox(LockedMailbox& mailbox, MessageSource message, CopyOptions options);

// The dot lock alone, for tests and tools: PATH.lock created exclusively with retries.
Result<std::string> create_dotlock(const std::string& path, const LockSettings& locks);

}  // namespace postern::local
