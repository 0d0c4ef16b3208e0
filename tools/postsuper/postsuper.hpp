// postsuper: the queue superintendent. Deletes, holds, releases, requeues and marks for
// forced expiration (-e, -f) messages by queue ID or all at once, checks and repairs the
// queue's structure (-s) and purges old temporary files (-p), with Postfix 3.7's command
// line, report lines and order of work.
//
// Where it sits: tools/, over lib/queue (queue IDs and paths, the queue scan). It is run by
// root only, reads main.cf, changes into queue_directory and becomes mail_owner before it
// touches anything (main.cpp): the queue is mail_owner's, so every file and directory it
// creates must be too, and a compromised queue (links, odd names) can then do no more
// harm than mail_owner could. Every name found in a queue directory is untrusted: it is
// checked with queue_id_ok() before it becomes part of a path, symbolic links are never
// followed (lstat), and anything that is neither a file nor a directory is removed.
//
// Moves are renames within queue_directory, hence atomic: after a crash a message is in
// its old queue or its new one, never in neither. The directories that received files are
// fsynced before postsuper reports, so that the report survives a power cut too.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "queue/queue_id.hpp"

namespace postern::postsuper {

// What was asked, as bits, so that one pass over the queues can do several things.
enum Action : unsigned {
    kStructure = 1u << 0,     // -s: files where they belong, names that match inodes
    kPurge = 1u << 1,         // -p: old temporary files
    kDeleteOne = 1u << 2,     // -d ID
    kDeleteAll = 1u << 3,     // -d ALL
    kRequeueOne = 1u << 4,    // -r ID
    kRequeueAll = 1u << 5,    // -r ALL
    kHoldOne = 1u << 6,       // -h ID
    kHoldAll = 1u << 7,       // -h ALL
    kReleaseOne = 1u << 8,    // -H ID
    kReleaseAll = 1u << 9,    // -H ALL
    kStrictNames = 1u << 10,  // -S: long queue IDs must match their inode too
    kExpireOne = 1u << 11,    // -e ID, -f ID (which also releases it from hold)
    kExpireAll = 1u << 12     // -e ALL, -f ALL (with kReleaseAll)
};
inline constexpr unsigned kDefaultActions = kStructure | kPurge;
// Done by name after the pass; never when names were changed to match inodes (the
// administrator's IDs may then name other messages).
inline constexpr unsigned kActionsById =
    kDeleteOne | kRequeueOne | kHoldOne | kReleaseOne | kExpireOne;
// Mass moves that wait for the second pass when a file is being renamed in the first.
inline constexpr unsigned kActionsAfterRename = kRequeueAll | kHoldAll | kReleaseAll;

// A queue directory postsuper knows: message queues hold queue files (whose names must
// match their inodes); the others hold per-message logs (bounce, defer, trace) or the
// fast-flush logs. maildrop is never entered below its top level: it is writable by the
// setgid group.
struct QueueInfo {
    std::string_view name;
    bool message_queue;
    bool recurse;
};

// The queue's entry, or nullptr for a name postsuper does not know.
const QueueInfo* find_queue_info(std::string_view name);

// Postfix's default lists: every queue (logs first, so that their files are in place
// before message files are renamed with them), the queues -h takes from, the one -H does.
const std::vector<std::string>& default_queues();
const std::vector<std::string>& default_hold_queues();
const std::vector<std::string>& default_release_queues();

// The queues that keep logs named after a message.
const std::vector<std::string>& log_queues();

struct Counters {
    int requeued = 0;
    int deleted = 0;
    int held = 0;
    int released = 0;
    int expired = 0;            // newly marked for forced expiration
    int inode_fixed = 0;        // #FIX names completed
    int inode_mismatch = 0;     // names found not to match their inode
    int position_mismatch = 0;  // files moved to their right directory
};

// The work, with the working directory at queue_directory and mail_owner's identity.
class Superintendent {
  public:
    Superintendent(QueueHashing hashing, QueueIdForm id_form, time_t now)
        : hashing_(std::move(hashing)), id_form_(id_form), now_(now) {}

    // One pass over `queues` doing the structural and mass actions of `actions`.
    void pass(const std::vector<std::string>& queues, unsigned actions);

    // The by-name operations; each returns 1 when it found the message, else 0.
    int delete_one(const std::vector<std::string>& queues, std::string_view id);
    int requeue_one(const std::vector<std::string>& queues, std::string_view id);
    int hold_one(const std::vector<std::string>& queues, std::string_view id);
    int release_one(const std::vector<std::string>& queues, std::string_view id);
    // Marks the message for forced expiration (kQueueFileModeExpire); 0 when it already
    // was, as Postfix counts it.
    int expire_one(const std::vector<std::string>& queues, std::string_view id);

    // fsync of every directory that received a file.
    void sync_directories();

    Counters& counters() { return counters_; }

  private:
    struct Entry;
    void scan_queue(const std::string& queue, unsigned& actions);
    // Each step returns true when it dealt with the entry (nothing more to do with it).
    bool remove_odd_object(const Entry& entry, unsigned actions);
    bool delete_for_all(const Entry& entry, unsigned actions);
    bool finish_renamed(Entry& entry, unsigned actions);
    bool fix_name(const Entry& entry, unsigned& actions);
    bool move_for_all(const Entry& entry, unsigned actions);
    void expire_for_all(const Entry& entry, unsigned actions);
    // Sets the expire bit of a ready file not yet marked; true when it did.
    bool mark_expired(const std::string& path);
    bool fix_position(const Entry& entry, unsigned actions);
    void rename_to_match_inode(const Entry& entry, const std::string& new_id);

    // The path of `id` in `queue`, relative to queue_directory.
    std::string path_of(std::string_view queue, std::string_view id) const;
    // A ready queue file (regular, mode 07xx, one link) at the path, or false.
    bool ready_message_at(const std::string& path) const;
    void remove_logs(std::string_view id);
    // rename(2), creating the target's missing subdirectories; false when `from` is gone.
    bool rename_file(const std::string& from, const std::string& to);
    // unlink(2); false when the file was gone already.
    bool remove_file(const std::string& path);

    QueueHashing hashing_;
    QueueIdForm id_form_;
    time_t now_;
    Counters counters_;
    std::set<std::string> touched_directories_;
};

}  // namespace postern::postsuper
