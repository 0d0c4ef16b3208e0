// The maildrop scan; see maildrop_scan.hpp.
#include "pickup/maildrop_scan.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "queue/maildrop.hpp"
#include "queue/queue_id.hpp"
#include "queue/queue_scan.hpp"
#include "util/log.hpp"

namespace postern::pickup {
namespace {

// Postfix's MAIL_QUEUE_STAT_READY: the owner may read, write and execute.
constexpr mode_t kReadyBits = S_IRUSR | S_IWUSR | S_IXUSR;

enum class OpenResult { opened, skip, remove };

void remove_file(const std::string& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        log_warning("remove %s: %s", path.c_str(), std::strerror(errno));
}

// Postfix's mail_open_ok(): a ready regular file.
bool ready_file(const std::string& path, struct stat& status) {
    if (::lstat(path.c_str(), &status) != 0) {
        if (errno != ENOENT)
            log_warning("%s: %s", path.c_str(), std::strerror(errno));
        return false;
    }
    if (!S_ISREG(status.st_mode)) {
        log_warning("%s: uid %ld: not a regular file", path.c_str(),
                    static_cast<long>(status.st_uid));
        return false;
    }
    return (status.st_mode & S_IRWXU) == kReadyBits;
}

// The file that was looked at, and nothing else: no link followed, no file swapped in.
OpenResult open_file(MaildropFile& file, const struct stat& looked_at) {
    file.fd.reset(::open(file.path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC));
    if (!file.fd.valid()) {
        int saved = errno;
        if (saved == ENOENT)
            return OpenResult::skip;
        log_warning("open input file %s: %s", file.path.c_str(), std::strerror(saved));
        return saved == EACCES ? OpenResult::skip : OpenResult::remove;
    }
    if (::fstat(file.fd.get(), &file.status) != 0) {
        log_warning("open input file %s: fstat: %s", file.path.c_str(), std::strerror(errno));
        return OpenResult::skip;
    }
    if (file.status.st_dev != looked_at.st_dev || file.status.st_ino != looked_at.st_ino ||
        !S_ISREG(file.status.st_mode)) {
        log_warning("open input file %s: file has changed", file.path.c_str());
        return OpenResult::skip;
    }
    if (file.status.st_nlink > 1) {
        log_warning("open input file %s: file has %ld hard links", file.path.c_str(),
                    static_cast<long>(file.status.st_nlink));
        return OpenResult::remove;
    }
    return OpenResult::opened;
}

// One entry of the scan; false when cleanup is not answering (the scan stops). `removed`
// counts the files that left maildrop/: a file kept for later does not make the scan run
// again at once, or a lasting cleanup problem would keep pickup spinning.
bool pick_up(const QueueScanEntry& entry, const PickupSettings& settings,
             CleanupConnection& cleanup, int& removed) {
    if (!queue_id_ok(entry.name))
        return true;
    MaildropFile file;
    file.path = entry.path();
    file.name = entry.name;
    struct stat looked_at {};
    if (!ready_file(file.path, looked_at))
        return true;
    OpenResult opened = open_file(file, looked_at);
    if (opened == OpenResult::remove) {
        remove_file(file.path);
        ++removed;
    }
    if (opened != OpenResult::opened)
        return true;
    PickupOutcome outcome = pickup_file(file, settings, cleanup);
    if (outcome == PickupOutcome::remove) {
        remove_file(file.path);
        ++removed;
    }
    return outcome != PickupOutcome::cleanup_failed;
}

// One pass over maildrop/; the number of files it removed, or -1 when it stopped.
int scan_once(const PickupSettings& settings, CleanupConnection& cleanup) {
    auto scan = QueueScan::open(".", std::string(kMaildropQueue));
    if (!scan) {
        log_warning("%s", scan.error().message().c_str());
        return -1;
    }
    int removed = 0;
    for (;;) {
        auto entry = scan->next();
        if (!entry) {
            log_warning("%s", entry.error().message().c_str());
            return -1;
        }
        if (!entry->has_value())
            return removed;
        if ((*entry)->kind != QueueScanEntry::Kind::name)
            continue;
        if (!pick_up(**entry, settings, cleanup, removed))
            return -1;
    }
}

}  // namespace

void scan_maildrop(const PickupSettings& settings) {
    CleanupConnection cleanup(settings);
    while (scan_once(settings, cleanup) > 0) {
    }
}

}  // namespace postern::pickup
