// The file postdrop writes in queue_directory/maildrop/: created under a unique queue-ID
// name (mode 0644, so pickup, which runs as mail_owner, can read it), filled with records,
// and made durable before postdrop reports success: flushed, marked ready with the
// owner-execute bit (0744), fsynced, and its directory entry synced (an fsync of maildrop/,
// or a syncfs() when the user may not open it). A file postdrop reported
// success for survives a crash; one it did not is removed, whatever stops postdrop: an
// error (the destructor), a fatal error (an exit handler) or a HUP, INT, QUIT or TERM
// signal (a handler that removes the file and exits with the signal's number, as Postfix's
// postdrop does).
//
// Runs as the submitting user with the setgid_group's group: the file belongs to the user.
#pragma once

#include <string>
#include <string_view>

#include "queue/queue_file.hpp"
#include "util/file.hpp"
#include "util/result.hpp"

namespace postern::postdrop {

// Installs the signal and exit handlers that remove an unfinished maildrop file. Once, at
// start-up, before the file is created.
void install_cleanup_handlers();

class MaildropFile {
  public:
    // Creates the file in QUEUE_DIRECTORY/maildrop (a relative queue_directory is relative
    // to the working directory).
    static Result<MaildropFile> create(const std::string& queue_directory,
                                       const QueueFileOptions& options);

    MaildropFile(MaildropFile&& other) noexcept;
    MaildropFile& operator=(MaildropFile&&) = delete;
    // An uncommitted file is removed.
    ~MaildropFile();

    const std::string& queue_id() const { return queue_id_; }
    const std::string& path() const { return path_; }

    // Appends a record (buffered; the first write error is kept and returned by commit).
    void record(char type, std::string_view data);
    // Writes what is buffered, sets mode 0744, fsyncs the file and its directory. After
    // success the file is pickup's: nothing removes it any more.
    Status commit();
    // Removes the file now.
    void remove();

  private:
    MaildropFile(Fd fd, std::string path, std::string queue_id);
    Status flush();
    Status sync_directory_entry();

    Fd fd_;
    std::string path_;
    std::string queue_id_;
    std::string buffer_;
    Status status_;
    bool owned_ = true;  // removed on destruction
};

}  // namespace postern::postdrop
