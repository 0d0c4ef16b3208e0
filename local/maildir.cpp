// Maildir delivery; see maildir.hpp.
#include "local/maildir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "util/file.hpp"

namespace postern::local {

namespace {

std::string with_slash(std::string path) {
    if (path.empty() || path.back() != '/')
        path.push_back('/');
    return path;
}

// The tmp/ file, created exclusively. The Maildir is made on the first ENOENT; a name
// left over by a crashed process with the same pid in the same second gets a counter.
Result<std::pair<Fd, std::string>> create_tmp_file(const std::string& tmpdir, const timeval& start,
                                                   const std::string& host) {
    bool made = false;
    for (int attempt = 0; attempt < 10;) {
        std::string path = tmpdir + std::to_string(start.tv_sec) + ".P" +
                           std::to_string(::getpid()) +
                           (attempt ? "_" + std::to_string(attempt) : std::string()) + "." + host;
        Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (fd.valid())
            return std::make_pair(std::move(fd), path);
        int error = errno;
        if (error == ENOENT && !made) {
            if (Status dirs = make_directories(tmpdir); !dirs)
                return dirs.error();
            made = true;
            continue;
        }
        if (error != EEXIST)
            return mailbox_error("create maildir file " + path, error);
        ++attempt;
    }
    return mailbox_error("create maildir file in " + tmpdir, EEXIST);
}

Status write_and_sync(int fd, MessageSource message, const CopyOptions& options) {
    FdSink sink(fd);
    auto copied = copy_message(std::move(message), sink, options);
    if (!copied)
        return copied.error();
    if (::fsync(fd) != 0)
        return mailbox_error("error writing message", errno);
    return {};
}

// Links the finished tmp/ file into new/ under its unique name; new/ and cur/ are made
// when missing.
Status link_into_new(const std::string& maildir, const std::string& tmpfile,
                     const std::string& newfile) {
    if (::link(tmpfile.c_str(), newfile.c_str()) == 0)
        return {};
    int error = errno;
    if (error == ENOENT) {
        for (const char* sub : {"cur/", "new/"})
            if (Status made = make_directories(maildir + sub); !made)
                return made;
        if (::link(tmpfile.c_str(), newfile.c_str()) == 0)
            return {};
        error = errno;
    }
    return mailbox_error("create maildir file " + newfile, error);
}

}  // namespace

std::string maildir_hostname(const std::string& hostname) {
    std::string out;
    for (char c : hostname) {
        if (c == '/')
            out += "\\057";
        else if (c == ':')
            out += "\\072";
        else
            out.push_back(c);
    }
    return out;
}

Status make_directories(const std::string& path, mode_t mode) {
    std::string partial;
    size_t at = 0;
    while (at <= path.size()) {
        size_t slash = path.find('/', at);
        if (slash == std::string::npos)
            slash = path.size();
        partial = path.substr(0, slash);
        at = slash + 1;
        if (partial.empty())
            continue;
        if (::mkdir(partial.c_str(), mode) == 0 || errno == EEXIST)
            continue;
        return mailbox_error("create maildir directory " + partial, errno);
    }
    return {};
}

Status deliver_to_maildir(const std::string& maildir_path, MessageSource message,
                          const CopyOptions& options, const std::string& hostname) {
    std::string maildir = with_slash(maildir_path);
    std::string host = maildir_hostname(hostname);
    timeval start{};
    ::gettimeofday(&start, nullptr);
    auto tmp = create_tmp_file(maildir + "tmp/", start, host);
    if (!tmp)
        return tmp.error();
    auto& [fd, tmpfile] = *tmp;
    struct stat info {};
    Status status = ::fstat(fd.get(), &info) == 0
                        ? write_and_sync(fd.get(), std::move(message), options)
                        : mailbox_error("create maildir file " + tmpfile, errno);
    fd.reset();
    if (status) {
        char name[160];
        std::snprintf(name, sizeof name, "%ld.V%lxI%lxM%ld.", static_cast<long>(start.tv_sec),
                      static_cast<unsigned long>(info.st_dev),
                      static_cast<unsigned long>(info.st_ino), static_cast<long>(start.tv_usec));
        status = link_into_new(maildir, tmpfile, maildir + "new/" + name + host);
    }
    ::unlink(tmpfile.c_str());
    if (status) {
        // The file is in new/ but perhaps not on disk: try again later (a possible
        // duplicate, never a loss).
        if (Status synced = fsync_directory(maildir + "new"); !synced)
            status = Error(ErrorKind::temporary, synced.error().message(), "4.2.0");
    }
    return status;
}

}  // namespace postern::local
