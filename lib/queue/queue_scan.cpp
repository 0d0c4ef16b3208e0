// Queue scans, in directory order, without following symbolic links.
#include "queue/queue_scan.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "util/file.hpp"

namespace postern {

void QueueScan::DirCloser::operator()(DIR* dir) const {
    if (dir != nullptr)
        ::closedir(dir);
}

Result<QueueScan> QueueScan::open(const std::string& base, const std::string& queue, bool descend,
                                  int max_depth) {
    QueueScan scan(base, descend, max_depth);
    if (Status pushed = scan.push(queue); !pushed)
        return pushed.error();
    return scan;
}

Status QueueScan::push(const std::string& directory) {
    std::string path = base_.empty() ? directory : base_ + "/" + directory;
    Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid())
        return errno == ENOENT
                   ? Status(Error(ErrorKind::not_found,
                                  "open directory " + path + ": No such file or directory"))
                   : Status(system_error("open directory " + path, errno));
    DIR* dir = ::fdopendir(fd.get());
    if (dir == nullptr)
        return system_error("open directory " + path, errno);
    fd.release();  // the DIR owns it now
    levels_.push_back(Level{std::unique_ptr<DIR, DirCloser>(dir), directory});
    return {};
}

// True when `name` in `directory` is a subdirectory the scan enters.
bool QueueScan::enter(const std::string& directory, const std::string& name) {
    if (!descend_ || name.size() != 1 || static_cast<int>(levels_.size()) > max_depth_)
        return false;
    std::string path = (base_.empty() ? directory : base_ + "/" + directory) + "/" + name;
    struct stat info {};
    return ::lstat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

Result<std::optional<QueueScanEntry>> QueueScan::next() {
    while (!levels_.empty()) {
        Level& level = levels_.back();
        errno = 0;
        struct dirent* entry = ::readdir(level.dir.get());
        if (entry == nullptr) {
            if (errno != 0)
                return system_error("read directory " + level.directory, errno);
            QueueScanEntry done{QueueScanEntry::Kind::leave,
                                level.directory,
                                {},
                                static_cast<int>(levels_.size()) - 1};
            levels_.pop_back();
            if (levels_.empty())
                return std::optional<QueueScanEntry>();  // the queue itself: no leave report
            return std::optional<QueueScanEntry>(std::move(done));
        }
        std::string name = entry->d_name;
        if (name == "." || name == "..")
            continue;
        std::string directory = level.directory;
        int depth = static_cast<int>(levels_.size()) - 1;
        if (enter(directory, name)) {
            if (Status pushed = push(directory + "/" + name); !pushed)
                return pushed.error();
            continue;
        }
        return std::optional<QueueScanEntry>(
            QueueScanEntry{QueueScanEntry::Kind::name, directory, name, depth});
    }
    return std::optional<QueueScanEntry>();
}

Result<std::vector<QueueScanEntry>> list_queue(const std::string& base, const std::string& queue,
                                               bool descend) {
    std::vector<QueueScanEntry> entries;
    Result<QueueScan> scan = QueueScan::open(base, queue, descend);
    if (!scan)
        return scan.error().kind() == ErrorKind::not_found
                   ? Result<std::vector<QueueScanEntry>>(std::move(entries))
                   : Result<std::vector<QueueScanEntry>>(scan.error());
    for (;;) {
        auto entry = scan->next();
        if (!entry)
            return entry.error();
        if (!entry->has_value())
            return entries;
        if ((*entry)->kind == QueueScanEntry::Kind::name)
            entries.push_back(std::move(**entry));
    }
}

}  // namespace postern
