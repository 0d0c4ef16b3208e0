// The per-destination fast-flush logs in queue_directory/flush/, and what the flush daemon
// does with them (Postfix's flush(8)).
//
// Where it sits: flush/, between the flush service's requests (main.cpp) and the queue.
// A log, flush/NAME (NAME from flush_log_name(): lower case letters, digits and '_' only,
// so no site name can reach a path outside flush/), lists one queue ID per line: the mail
// deferred for that site. Sending a log moves each listed message that is still in
// deferred/ to incoming/ with its time stamps set to now (so qmgr takes it at once),
// empties the log, and wakes qmgr. Every log is read and written under an exclusive flock,
// so several flush processes can share the directory. Names and IDs read from the spool
// are untrusted: a line that is not a valid queue ID is skipped. Runs as mail_owner in
// queue_directory (paths are relative to the working directory); flush/ is never hashed.
#pragma once

#include <chrono>
#include <ctime>
#include <string>
#include <string_view>

#include "queue/queue_id.hpp"
#include "util/result.hpp"

namespace postern {

struct FlushLogSettings {
    QueueHashing hashing;
    std::chrono::seconds purge_time{7 * 24 * 3600};  // fast_flush_purge_time
    std::chrono::seconds refresh_time{12 * 3600};    // fast_flush_refresh_time
};

// A name flush_log_name() could have made: 1..255 of [a-z0-9_].
bool flush_log_name_ok(std::string_view name);

// Appends queue_id to flush/NAME (created 0600).
Status flush_log_add(std::string_view log_name, std::string_view queue_id);

// Moves the mail listed in flush/NAME to incoming/, empties the log; returns how many
// messages were moved. A missing log has nothing to send.
Result<int> flush_log_send(const FlushLogSettings& settings, std::string_view log_name);

// One deferred message to incoming/, time stamps now; false when it is in neither queue.
bool flush_queue_file(const QueueHashing& hashing, std::string_view queue_id, time_t now);

// Every log: an empty one unchanged for purge_time is removed; a non-empty one not read
// for max_age is sent. Returns how many messages were moved.
int flush_log_refresh(const FlushLogSettings& settings, std::chrono::seconds max_age);

}  // namespace postern
