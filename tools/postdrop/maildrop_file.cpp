// The maildrop file and its cleanup on every way out; see maildrop_file.hpp.
#include "tools/postdrop/maildrop_file.hpp"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "queue/maildrop.hpp"

namespace postern::postdrop {
namespace {

constexpr size_t kWriteChunk = 64 * 1024;
constexpr int kCleanupSignals[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM};

// The unfinished file, for the signal handler: a fixed buffer, since the handler may use
// nothing but async-signal-safe calls. Empty when there is nothing to remove.
char unfinished_path[PATH_MAX];

void remove_unfinished() {
    if (unfinished_path[0] != '\0') {
        ::unlink(unfinished_path);
        unfinished_path[0] = '\0';
    }
}

extern "C" void on_signal(int signal_number) {
    remove_unfinished();
    ::_exit(signal_number);
}

extern "C" void on_exit_handler() {
    remove_unfinished();
}

// Blocks the cleanup signals while the handler's path changes, so it never sees half a name.
class SignalsBlocked {
  public:
    SignalsBlocked() {
        sigset_t block;
        sigemptyset(&block);
        for (int signal_number : kCleanupSignals)
            sigaddset(&block, signal_number);
        sigprocmask(SIG_BLOCK, &block, &saved_);
    }
    ~SignalsBlocked() { sigprocmask(SIG_SETMASK, &saved_, nullptr); }
    SignalsBlocked(const SignalsBlocked&) = delete;
    SignalsBlocked& operator=(const SignalsBlocked&) = delete;

  private:
    sigset_t saved_;
};

void register_unfinished(const std::string& path) {
    SignalsBlocked blocked;
    if (path.size() < sizeof unfinished_path)
        std::memcpy(unfinished_path, path.c_str(), path.size() + 1);
}

void forget_unfinished() {
    SignalsBlocked blocked;
    unfinished_path[0] = '\0';
}

}  // namespace

void install_cleanup_handlers() {
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    for (int signal_number : kCleanupSignals)
        sigaction(signal_number, &action, nullptr);
    // sendmail may go away before it reads the status; postdrop finishes anyway.
    ::signal(SIGPIPE, SIG_IGN);
    std::atexit(on_exit_handler);
}

Result<MaildropFile> MaildropFile::create(const std::string& queue_directory,
                                          const QueueFileOptions& options) {
    // Blocked from before the file exists until the handler knows its name: a signal in
    // between would leave it behind.
    SignalsBlocked blocked;
    auto created = create_queue_file(queue_directory, kMaildropQueue, options,
                                     static_cast<mode_t>(kMaildropModeWriting));
    if (!created)
        return created.error();
    register_unfinished(created->path);
    return MaildropFile(std::move(created->fd), std::move(created->path),
                        std::move(created->queue_id));
}

MaildropFile::MaildropFile(Fd fd, std::string path, std::string queue_id)
    : fd_(std::move(fd)), path_(std::move(path)), queue_id_(std::move(queue_id)) {
    buffer_.reserve(kWriteChunk + 4096);
}

MaildropFile::MaildropFile(MaildropFile&& other) noexcept
    : fd_(std::move(other.fd_)),
      path_(std::move(other.path_)),
      queue_id_(std::move(other.queue_id_)),
      buffer_(std::move(other.buffer_)),
      status_(std::move(other.status_)),
      owned_(other.owned_) {
    other.owned_ = false;
}

MaildropFile::~MaildropFile() {
    if (owned_)
        remove();
}

void MaildropFile::remove() {
    if (!owned_)
        return;
    ::unlink(path_.c_str());
    forget_unfinished();
    fd_.reset();
    owned_ = false;
}

void MaildropFile::record(char type, std::string_view data) {
    if (!status_)
        return;
    append_record(buffer_, type, data);
    if (buffer_.size() >= kWriteChunk)
        status_ = flush();
}

Status MaildropFile::flush() {
    if (buffer_.empty())
        return {};
    Status written = write_all(fd_.get(), buffer_);
    buffer_.clear();
    if (!written)
        return Error(written.error().kind(), path_ + ": " + written.error().message());
    return {};
}

// The directory entry must be durable too. maildrop/ is mode 0730: a user other than root
// (running with the setgid_group's group) may create files there but not open the
// directory to fsync it. Then syncfs() makes everything on the file system durable, the
// entry included: costlier, but it is the only portable promise without read access.
Status MaildropFile::sync_directory_entry() {
    std::string directory = directory_of(path_);
    Fd directory_fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!directory_fd.valid() && errno == EACCES) {
        if (::syncfs(fd_.get()) != 0)
            return system_error("syncfs " + path_, errno);
        return {};
    }
    if (!directory_fd.valid())
        return system_error("open directory " + directory, errno);
    if (::fsync(directory_fd.get()) != 0)
        return system_error("fsync directory " + directory, errno);
    return {};
}

Status MaildropFile::commit() {
    if (status_)
        status_ = flush();
    if (!status_)
        return status_;
    // The mode first, then one fsync makes both the data and the "ready" mark durable.
    if (::fchmod(fd_.get(), static_cast<mode_t>(kMaildropModeReady)) != 0)
        return system_error("fchmod " + path_, errno);
    if (::fsync(fd_.get()) != 0)
        return system_error("fsync " + path_, errno);
    if (Status synced = sync_directory_entry(); !synced)
        return synced;
    fd_.reset();
    forget_unfinished();
    owned_ = false;
    return {};
}

}  // namespace postern::postdrop
