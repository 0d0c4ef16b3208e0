// showq's work: read every queue file as Postfix's showq reads it and describe each message
// (queue, ID, arrival time, size, sender, pending recipients with their deferral reasons).
//
// Where it sits: showq/, over lib/queue (queue_scan, bounce_log, RecordReader). It runs as
// mail_owner in queue_directory (possibly chrooted there) and reads the queues in Postfix's
// listing order: maildrop, active, incoming, deferred, hold. Queue files and defer logs are
// untrusted (a local user writes maildrop/, a crash truncates, a disk garbles): a file that
// cannot be read is skipped with Postfix's warning, a damaged one is shown as far as it
// could be read, and nothing here trusts a length or an offset it has not checked. Files
// still being written (not yet mode 0700) are left out, as Postfix leaves them out.
//
// What is shown follows Postfix 3.7's showq, as observed:
//   - size: the size record's first field; the file size when there is no size record or
//     it is malformed ("warning: ID: malformed size record: ... -- using file size instead");
//   - arrival time: the T record, else the file's modification time;
//   - recipients: first every record of the message's defer log (defer/ID, in file order,
//     with its reason), then each pending R recipient of the file (the envelope and the
//     extracted segment; D and / are done) that the log did not name, without a reason;
//   - addresses quoted as RFC 5322 local parts, the null address as empty_address_recipient;
//   - forced expiration: the file's group-execute bit (postsuper -e).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "queue/queue_id.hpp"
#include "queue/showq_protocol.hpp"
#include "util/result.hpp"

namespace postern {

struct ShowqSettings {
    std::string queue_directory = ".";            // where the queues are: the cwd
    std::string empty_address = "MAILER-DAEMON";  // empty_address_recipient
    size_t duplicate_filter_limit = 1000;         // duplicate_filter_limit
    QueueHashing hashing;                         // hash_queue_names, hash_queue_depth
    bool utf8 = true;                             // smtputf8_enable: keep UTF-8 as is

    static Result<ShowqSettings> from_config(const Config& config);
};

// The queues in listing order.
const std::vector<std::string_view>& showq_queue_order();

// Every message of every queue, in order, to `emit`; the first error `emit` returns stops
// the listing. Unreadable queues and files are skipped with a warning.
Status list_queued_messages(const ShowqSettings& settings,
                            const std::function<Status(const ShowqMessage&)>& emit);

// One queue file, QUEUE_DIRECTORY/queue_name/.../id (`relative_path` is where the scan
// found it, "deferred/B/ID"); nullopt when it is not shown (not ready, not a regular file,
// unreadable, no sender).
std::optional<ShowqMessage> read_queued_message(const ShowqSettings& settings,
                                                std::string_view queue_name, std::string_view id,
                                                const std::string& relative_path);

}  // namespace postern
