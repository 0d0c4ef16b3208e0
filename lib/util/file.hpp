// Owned file descriptors and the durable-write idioms every spool writer relies on.
//
// Where it sits: util. The atomic replace here is the durability rule of DESIGN.md in its
// simplest form: write a temporary file, fsync it, rename it over the target, fsync the
// directory. A crash at any point leaves either the old file or the new one, never a mix.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace postern {

// A file descriptor that closes itself. The only place Postern calls close().
class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept;
    ~Fd() { reset(); }

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset(int fd = -1);

  private:
    int fd_ = -1;
};

// An Error for a failed system call, with strerror(errno) appended.
Error system_error(std::string_view what, int saved_errno);

Result<std::string> read_file(const std::string& path);
Status write_all(int fd, std::string_view data);
Status fsync_directory(const std::string& directory);
// The directory part of a path ("." when there is none).
std::string directory_of(const std::string& path);

// Replaces `path` with `content` durably. The new file gets `mode`; when `path` exists
// its owner and mode are kept instead, as an editor of main.cf would expect.
Status replace_file_atomically(const std::string& path, std::string_view content,
                               unsigned mode = 0644);

// Opens /dev/null on whichever of descriptors 0, 1 and 2 is closed, so that nothing a
// set-uid/set-gid or root command opens later lands on them (and gets written to by
// accident as if it were stdout). Every command's main() calls it first.
void ensure_standard_descriptors();

}  // namespace postern
