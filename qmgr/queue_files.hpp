// What qmgr does to queue files as files: take one from incoming/ or deferred/ into
// active/ and read its envelope under a lock, put it back, move it to deferred/ with its
// next attempt time, remove it, update its warning time in place, and the start-up
// recovery of active/.
//
// Where it sits: qmgr/, over lib/queue. Paths are relative to the working directory,
// which the skeleton made queue_directory (chrooted or not). Every file was written by
// another process and may be truncated, garbled or hostile: the reader checks it, a
// corrupt one goes to corrupt/ (quarantine_corrupt_queue_file), and nothing here follows
// a symbolic link or trusts a name that queue_id_ok() refuses.
//
// Crash safety: every move is one rename(2), so a file is always in exactly one queue; a
// deferred file gets its next attempt time (the modification time, as in Postfix) before
// it is renamed, so a crash never leaves it in deferred/ without one. Delivery agents hold
// a shared lock on the queue file while they deliver; qmgr takes an exclusive lock
// (without waiting) to read the envelope, so after a restart it does not hand out again a
// message that an agent of the previous qmgr is still delivering (Postfix's "skipped,
// still being delivered").
#pragma once

#include <sys/types.h>

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "queue/queue_file.hpp"
#include "queue/queue_id.hpp"
#include "util/result.hpp"

namespace postern {

// What became of an attempt to take a file into active/.
enum class ActivationOutcome {
    activated,  // in active/, envelope read
    not_ready,  // left where it was: being written, or its retry time has not come
    gone,       // the file disappeared (postsuper -d, another qmgr) or is no queue file
    locked,     // still being delivered: put back into incoming/ for a while
    corrupt,    // moved to corrupt/
    failed,     // an I/O error: put back into incoming/ for a while
};

struct ActivatedFile {
    ActivationOutcome outcome = ActivationOutcome::gone;
    QueueEnvelope envelope;  // when activated
    // postsuper -e/-f marked it (kQueueFileModeExpire): return it to the sender, no delivery.
    bool forced_expire = false;
};

// How long a file that could not be taken (locked, I/O error) waits in incoming/.
inline constexpr time_t kActivationRetrySeconds = 60;

// `path` is where the scan found the file, `queue` its queue ("incoming", "deferred").
// `ignore_time`: take it even when its modification time is in the future (the 'A'
// trigger).
ActivatedFile activate_queue_file(const QueueHashing& hashing, const std::string& path,
                                  std::string_view queue, std::string_view queue_id,
                                  bool ignore_time, time_t now);

// active/ID -> QUEUE/.../ID with modification time `when`.
Status move_active_file(const QueueHashing& hashing, std::string_view queue_id,
                        std::string_view queue, time_t when);

// Removes active/ID (all recipients are done).
Status remove_active_file(std::string_view queue_id);

// Writes `value` into the W record at `offset` of active/ID, in place ("%15ld"), and
// syncs the file. The record must be there as the reader found it.
Status update_warning_time(std::string_view queue_id, int64_t offset, int64_t value);

// Whether postsuper -e/-f marked active/ID while it was being delivered.
bool active_file_forced_to_expire(std::string_view queue_id);

// Whether QUEUE/.../ID exists (a defer, bounce or trace log).
bool queue_log_exists(const QueueHashing& hashing, std::string_view log_queue,
                      std::string_view queue_id);

// Start-up: every file left in active/ by a crash goes back to incoming/ (modification
// time now), to be read again; recipients already marked done stay done. Returns how
// many were moved.
size_t recover_active_queue(time_t now);

}  // namespace postern
