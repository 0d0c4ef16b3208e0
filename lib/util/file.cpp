#include "util/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace postern {

Fd& Fd::operator=(Fd&& other) noexcept {
    if (this != &other)
        reset(other.release());
    return *this;
}

void Fd::reset(int fd) {
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = fd;
}

Error system_error(std::string_view what, int saved_errno) {
    return Error(ErrorKind::io, std::string(what) + ": " + std::strerror(saved_errno));
}

Result<std::string> read_file(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        int saved = errno;
        Error error = system_error("open " + path, saved);
        if (saved == ENOENT)
            return Error(ErrorKind::not_found, error.message());
        return error;
    }
    std::string content;
    char buffer[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return system_error("read " + path, errno);
        }
        content.append(buffer, static_cast<size_t>(n));
    }
    return content;
}

Status write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return system_error("write", errno);
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

std::string directory_of(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos)
        return ".";
    if (slash == 0)
        return "/";
    return path.substr(0, slash);
}

Status fsync_directory(const std::string& directory) {
    Fd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid())
        return system_error("open directory " + directory, errno);
    if (::fsync(fd.get()) != 0)
        return system_error("fsync directory " + directory, errno);
    return {};
}

Status replace_file_atomically(const std::string& path, std::string_view content, unsigned mode) {
    struct stat existing {};
    bool exists = ::stat(path.c_str(), &existing) == 0;
    std::string temporary = path + ".tmp." + std::to_string(::getpid());
    Fd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                 exists ? (existing.st_mode & 07777) : mode));
    if (!fd.valid())
        return system_error("create " + temporary, errno);
    auto fail = [&](Error error) {
        ::unlink(temporary.c_str());
        return Status(std::move(error));
    };
    if (exists) {
        // Keep the owner an administrator gave the file; a failure here is not fatal
        // for a non-root caller who owns the file anyway.
        (void)::fchown(fd.get(), existing.st_uid, existing.st_gid);
        (void)::fchmod(fd.get(), existing.st_mode & 07777);
    }
    if (Status written = write_all(fd.get(), content); !written)
        return fail(written.error());
    if (::fsync(fd.get()) != 0)
        return fail(system_error("fsync " + temporary, errno));
    fd.reset();
    if (::rename(temporary.c_str(), path.c_str()) != 0)
        return fail(system_error("rename " + temporary + " to " + path, errno));
    return fsync_directory(directory_of(path));
}

void ensure_standard_descriptors() {
    for (int fd = 0; fd <= 2; ++fd) {
        if (::fcntl(fd, F_GETFD) != -1)
            continue;
        Fd null(::open("/dev/null", O_RDWR));
        if (null.get() == fd)
            null.release();  // it took the free slot, which is what was wanted
    }
}

}  // namespace postern
