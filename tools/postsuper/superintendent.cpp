// The queue pass and the by-name operations of postsuper; see postsuper.hpp.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "queue/queue_file.hpp"
#include "queue/queue_scan.hpp"
#include "tools/postsuper/postsuper.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

namespace postern::postsuper {
namespace {

// A file in a message queue that is not ready and older than this is what a crash left
// behind (Postfix's limit).
constexpr time_t kTemporaryFileAge = 24 * 60 * 60;

// Appended to a name while the message and its logs are renamed to match the inode: not
// a valid queue ID, so no daemon touches the file, and a second pass (or run) finishes it.
constexpr std::string_view kRenameSuffix = "#FIX";

const std::vector<QueueInfo>& queue_table() {
    static const std::vector<QueueInfo> table{
        {"maildrop", true, false}, {"incoming", true, true}, {"active", true, true},
        {"deferred", true, true},  {"hold", true, true},     {"trace", false, true},
        {"defer", false, true},    {"bounce", false, true},  {"flush", false, true},
    };
    return table;
}

bool is_ready(const struct stat& info) {
    return (info.st_mode & S_IRWXU) == S_IRWXU;
}

std::string hex_upper(uint64_t value) {
    char text[24];
    std::snprintf(text, sizeof text, "%llX", static_cast<unsigned long long>(value));
    return text;
}

// A queue ID the administrator typed (-d, -h, -H, -r, -e, -f): a bad one is warned about
// and skipped, as Postfix's postsuper does.
bool administrator_queue_id_ok(std::string_view id) {
    if (queue_id_ok(id))
        return true;
    log_warning("invalid mail queue id: %.*s", static_cast<int>(id.size()), id.data());
    return false;
}

}  // namespace

const QueueInfo* find_queue_info(std::string_view name) {
    for (const QueueInfo& info : queue_table())
        if (info.name == name)
            return &info;
    return nullptr;
}

const std::vector<std::string>& default_queues() {
    static const std::vector<std::string> queues{
        "defer", "bounce", "trace", "maildrop", "incoming", "active", "deferred", "hold", "flush"};
    return queues;
}

const std::vector<std::string>& default_hold_queues() {
    static const std::vector<std::string> queues{"incoming", "active", "deferred"};
    return queues;
}

const std::vector<std::string>& default_release_queues() {
    static const std::vector<std::string> queues{"hold"};
    return queues;
}

const std::vector<std::string>& log_queues() {
    static const std::vector<std::string> queues{"bounce", "defer", "trace"};
    return queues;
}

// ---- File operations ----

std::string Superintendent::path_of(std::string_view queue, std::string_view id) const {
    return queue_directory_for(hashing_, queue, id) + std::string(id);
}

bool Superintendent::ready_message_at(const std::string& path) const {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode) || !is_ready(info))
        return false;
    if (info.st_nlink > 1) {
        log_warning("%s: uid %ld: file has %ld links", path.c_str(), static_cast<long>(info.st_uid),
                    static_cast<long>(info.st_nlink));
        return false;
    }
    return true;
}

bool Superintendent::remove_file(const std::string& path) {
    if (::unlink(path.c_str()) != 0) {
        if (errno != ENOENT)
            log_fatal("remove file %s: %s", path.c_str(), std::strerror(errno));
        return false;
    }
    log_debug(1, "removed file %s", path.c_str());
    return true;
}

// Creates the missing directories above `path` (relative to queue_directory), 0700.
static void make_parent_directories(const std::string& path) {
    for (size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
        std::string directory = path.substr(0, slash);
        if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST)
            log_fatal("mkdir %s: %s", directory.c_str(), std::strerror(errno));
    }
}

bool Superintendent::rename_file(const std::string& from, const std::string& to) {
    int result = ::rename(from.c_str(), to.c_str());
    if (result != 0 && errno == ENOENT) {  // perhaps a hashed subdirectory is missing
        make_parent_directories(to);
        result = ::rename(from.c_str(), to.c_str());
    }
    if (result != 0) {
        if (errno != ENOENT)
            log_fatal("rename file %s as %s: %s", from.c_str(), to.c_str(), std::strerror(errno));
        return false;  // gone: another process moved or removed it
    }
    log_debug(1, "renamed file %s as %s", from.c_str(), to.c_str());
    touched_directories_.insert(directory_of(to));
    return true;
}

void Superintendent::remove_logs(std::string_view id) {
    for (const std::string& queue : log_queues())
        remove_file(path_of(queue, id));
}

void Superintendent::sync_directories() {
    for (const std::string& directory : touched_directories_)
        if (Status synced = fsync_directory(directory); !synced)
            log_warning("%s", synced.error().message().c_str());
    touched_directories_.clear();
}

// ---- The pass over the queues ----

struct Superintendent::Entry {
    std::string queue;
    const QueueInfo* info = nullptr;
    std::string path;  // relative to queue_directory
    std::string name;
    struct stat status {};
};

void Superintendent::pass(const std::vector<std::string>& queues, unsigned actions) {
    // fix_name() clears the mass moves for the rest of the pass.
    for (const std::string& queue : queues) {
        log_debug(1, "queue: %s", queue.c_str());
        scan_queue(queue, actions);
    }
}

void Superintendent::scan_queue(const std::string& queue, unsigned& actions) {
    const QueueInfo* info = find_queue_info(queue);
    const int wanted_depth = hashing_.is_hashed(queue) ? hashing_.depth : 0;
    if (wanted_depth > 0 && !info->recurse)
        log_fatal("%s queue must not be hashed", queue.c_str());
    Result<QueueScan> scan = QueueScan::open(".", queue, info->recurse);
    if (!scan) {
        if (scan.error().kind() == ErrorKind::not_found)
            return;
        log_fatal(scan.error());
    }
    for (;;) {
        auto next = scan->next();
        if (!next)
            log_fatal(next.error());
        if (!next->has_value())
            return;
        const QueueScanEntry& found = **next;
        if (found.kind == QueueScanEntry::Kind::leave) {
            // A subdirectory the hashing no longer uses: its files were moved out.
            if (found.depth > wanted_depth && ::rmdir(found.directory.c_str()) != 0 &&
                errno != ENOENT)
                log_warning("remove directory %s: %s", found.directory.c_str(),
                            std::strerror(errno));
            continue;
        }
        Entry entry{queue, info, found.path(), found.name, {}};
        if (::lstat(entry.path.c_str(), &entry.status) != 0)
            continue;
        if (remove_odd_object(entry, actions) || delete_for_all(entry, actions) ||
            finish_renamed(entry, actions))
            continue;
        if (!queue_id_ok(entry.name)) {
            log_warning("bogus file name: %s", entry.path.c_str());
            continue;
        }
        if (fix_name(entry, actions))
            continue;
        expire_for_all(entry, actions);  // the file stays where it is: -f ALL releases it too
        if (move_for_all(entry, actions))
            continue;
        fix_position(entry, actions);
    }
}

// Directories that are not hashed subdirectories, links, sockets and the like, and with
// -p the unfinished files a crash left in a message queue.
bool Superintendent::remove_odd_object(const Entry& entry, unsigned actions) {
    if (S_ISDIR(entry.status.st_mode)) {
        if (::rmdir(entry.path.c_str()) != 0 && errno != ENOENT)
            log_warning("remove subdirectory %s: %s", entry.path.c_str(), std::strerror(errno));
        return true;
    }
    const bool stale_temporary = (actions & kPurge) != 0 && entry.info->message_queue &&
                                 !is_ready(entry.status) &&
                                 now_ > entry.status.st_mtime + kTemporaryFileAge;
    if (S_ISREG(entry.status.st_mode) && !stale_temporary)
        return false;
    remove_file(entry.path);
    return true;
}

// -d ALL. Unlike Postfix, a deleted message's bounce, defer and trace logs go with it, so
// that a later message that reuses the (short) queue ID does not inherit them.
bool Superintendent::delete_for_all(const Entry& entry, unsigned actions) {
    if ((actions & kDeleteAll) == 0)
        return false;
    if (remove_file(entry.path) && entry.info->message_queue && is_ready(entry.status)) {
        ++counters_.deleted;
        if (queue_id_ok(entry.name))
            remove_logs(entry.name);
    }
    return true;
}

// NEWID#FIX from an earlier pass or an interrupted run: checked, then renamed to NEWID in
// its right place; the entry goes on under its new name.
bool Superintendent::finish_renamed(Entry& entry, unsigned actions) {
    if ((actions & kStructure) == 0 || !entry.name.ends_with(kRenameSuffix))
        return false;
    std::string id = entry.name.substr(0, entry.name.size() - kRenameSuffix.size());
    if (!queue_id_ok(id)) {
        log_warning("bogus file name: %s", entry.path.c_str());
        return true;
    }
    if (entry.info->message_queue) {
        std::optional<uint64_t> inode = queue_id_inode(id);
        if (!inode) {
            log_warning("bogus file name: %s", entry.path.c_str());
            return true;
        }
        if (*inode != static_cast<uint64_t>(entry.status.st_ino)) {
            log_warning("name/inode mismatch: %s", entry.path.c_str());
            return true;
        }
    }
    std::string wanted = path_of(entry.queue, id);
    if (!rename_file(entry.path, wanted))
        return true;
    if (entry.info->message_queue)
        ++counters_.inode_fixed;
    entry.path = wanted;
    entry.name = id;
    return false;
}

// A message file whose name does not match its inode (a queue restored from a backup or
// another machine), or a long name where long queue IDs are off: renamed to NEWID#FIX
// with its logs. Mass moves wait for the next pass, which finishes the renames.
bool Superintendent::fix_name(const Entry& entry, unsigned& actions) {
    if ((actions & kStructure) == 0 || !entry.info->message_queue)
        return false;
    const uint64_t inode = entry.status.st_ino;
    std::optional<QueueIdForm> form = queue_id_form(entry.name);
    if (!form) {
        log_warning("bogus file name: %s", entry.path.c_str());
        return true;
    }
    std::string new_id;
    if (*form == QueueIdForm::short_form) {
        if (queue_id_inode(entry.name) != inode)
            new_id = entry.name.substr(0, 5) + hex_upper(inode);
    } else {
        std::optional<QueueTime> created = long_queue_id_time(entry.name);
        if (id_form_ == QueueIdForm::short_form && created)
            new_id = make_queue_id(QueueIdForm::short_form, *created, inode);
        else if ((actions & kStrictNames) != 0 && created && queue_id_inode(entry.name) != inode)
            new_id = make_queue_id(QueueIdForm::long_form, *created, inode);
    }
    if (new_id.empty())
        return false;
    ++counters_.inode_mismatch;
    actions &= ~kActionsAfterRename;
    rename_to_match_inode(entry, new_id);
    return true;
}

// Logs first, the message last: a message file named NEWID#FIX means its logs are done.
void Superintendent::rename_to_match_inode(const Entry& entry, const std::string& new_id) {
    for (const std::string& queue : log_queues())
        rename_file(path_of(queue, entry.name),
                    path_of(queue, new_id) + std::string(kRenameSuffix));
    rename_file(entry.path, path_of(entry.queue, new_id) + std::string(kRenameSuffix));
}

// -r ALL, -h ALL, -H ALL. maildrop's files were never sanitized by cleanup: they are not
// put on hold nor requeued (they are queued already).
bool Superintendent::move_for_all(const Entry& entry, unsigned actions) {
    const bool message = entry.info->message_queue;
    if ((actions & kRequeueAll) != 0 && message && entry.queue != "maildrop") {
        std::string wanted = path_of("maildrop", entry.name);
        if (rename_file(entry.path, wanted)) {
            ++counters_.requeued;
            if (::utimensat(AT_FDCWD, wanted.c_str(), nullptr, 0) != 0)
                log_warning("%s: reset time stamps: %s", wanted.c_str(), std::strerror(errno));
        }
        return true;
    }
    if ((actions & kHoldAll) != 0 && message && entry.queue != "maildrop" &&
        entry.queue != "hold") {
        if (rename_file(entry.path, path_of("hold", entry.name)))
            ++counters_.held;
        return true;
    }
    if ((actions & kReleaseAll) != 0 && entry.queue == "hold") {
        if (rename_file(entry.path, path_of("deferred", entry.name)))
            ++counters_.released;
        return true;
    }
    return false;
}

// -e ALL, -f ALL. Not maildrop: its files are not queue files yet, and pickup makes new
// ones of them.
void Superintendent::expire_for_all(const Entry& entry, unsigned actions) {
    if ((actions & kExpireAll) == 0 || !entry.info->message_queue || entry.queue == "maildrop" ||
        !is_ready(entry.status) || (entry.status.st_mode & kQueueFileModeExpire) != 0)
        return;
    if (mark_expired(entry.path))
        ++counters_.expired;
}

// Through a descriptor opened without following links, so that the mode change lands on
// the regular file that was checked.
bool Superintendent::mark_expired(const std::string& path) {
    Fd file(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!file.valid()) {
        if (errno != ENOENT)
            log_warning("open %s: %s", path.c_str(), std::strerror(errno));
        return false;
    }
    struct stat info {};
    if (::fstat(file.get(), &info) != 0 || !S_ISREG(info.st_mode) || !is_ready(info) ||
        (info.st_mode & kQueueFileModeExpire) != 0)
        return false;
    if (::fchmod(file.get(), (info.st_mode & 07777) | kQueueFileModeExpire) != 0) {
        log_warning("chmod %s: %s", path.c_str(), std::strerror(errno));
        return false;
    }
    return true;
}

// A file in the wrong subdirectory, after hash_queue_names or hash_queue_depth changed.
bool Superintendent::fix_position(const Entry& entry, unsigned actions) {
    if ((actions & kStructure) == 0)
        return false;
    std::string wanted = path_of(entry.queue, entry.name);
    if (wanted == entry.path)
        return false;
    ++counters_.position_mismatch;
    rename_file(entry.path, wanted);
    return true;
}

// ---- By queue ID ----

// The queue ID from the command line or stdin is untrusted: it becomes a path only after
// queue_id_ok(). Two tries, because a message may move between queues while we look.
int Superintendent::delete_one(const std::vector<std::string>& queues, std::string_view id) {
    if (!administrator_queue_id_ok(id))
        return 0;
    for (int attempt = 0; attempt < 2; ++attempt) {
        for (const std::string& queue : queues) {
            if (!find_queue_info(queue)->message_queue)
                continue;
            std::string path = path_of(queue, id);
            if (!ready_message_at(path))
                continue;
            remove_logs(id);
            if (remove_file(path)) {
                log_message_info(id, "removed");
                return 1;
            }
        }
    }
    return 0;
}

int Superintendent::requeue_one(const std::vector<std::string>& queues, std::string_view id) {
    if (!administrator_queue_id_ok(id))
        return 0;
    for (int attempt = 0; attempt < 2; ++attempt) {
        for (const std::string& queue : queues) {
            if (queue == "maildrop" || !find_queue_info(queue)->message_queue)
                continue;
            std::string path = path_of(queue, id);
            std::string wanted = path_of("maildrop", id);
            if (!ready_message_at(path) || !rename_file(path, wanted))
                continue;
            if (::utimensat(AT_FDCWD, wanted.c_str(), nullptr, 0) != 0)
                log_warning("%s: reset time stamps: %s", wanted.c_str(), std::strerror(errno));
            log_message_info(id, "requeued");
            return 1;
        }
    }
    return 0;
}

int Superintendent::hold_one(const std::vector<std::string>& queues, std::string_view id) {
    if (!administrator_queue_id_ok(id))
        return 0;
    for (int attempt = 0; attempt < 2; ++attempt) {
        for (const std::string& queue : queues) {
            if (queue == "maildrop" || queue == "hold" || !find_queue_info(queue)->message_queue)
                continue;
            std::string path = path_of(queue, id);
            if (ready_message_at(path) && rename_file(path, path_of("hold", id))) {
                log_message_info(id, "placed on hold");
                return 1;
            }
        }
    }
    return 0;
}

int Superintendent::release_one(const std::vector<std::string>& queues, std::string_view id) {
    if (!administrator_queue_id_ok(id))
        return 0;
    for (const std::string& queue : queues) {
        if (queue != "hold")
            continue;
        std::string path = path_of(queue, id);
        if (ready_message_at(path) && rename_file(path, path_of("deferred", id))) {
            log_message_info(id, "released from hold");
            return 1;
        }
    }
    return 0;
}

// A message already marked is found but not counted, and not logged, as in Postfix.
int Superintendent::expire_one(const std::vector<std::string>& queues, std::string_view id) {
    if (!administrator_queue_id_ok(id))
        return 0;
    for (int attempt = 0; attempt < 2; ++attempt) {
        for (const std::string& queue : queues) {
            if (queue == "maildrop" || !find_queue_info(queue)->message_queue)
                continue;
            std::string path = path_of(queue, id);
            struct stat info {};
            if (!ready_message_at(path) || ::lstat(path.c_str(), &info) != 0)
                continue;
            if ((info.st_mode & kQueueFileModeExpire) != 0)
                return 0;
            if (mark_expired(path)) {
                log_message_info(id, "expired");
                return 1;
            }
        }
    }
    return 0;
}

}  // namespace postern::postsuper
