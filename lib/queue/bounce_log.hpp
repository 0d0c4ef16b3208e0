// Bounce logs: the per-message files in defer/, bounce/ and trace/ that say, per recipient,
// why delivery was delayed, failed, or (for trace) what happened, in Postfix's own format.
//
// Where it sits: lib/queue. A delivery agent (through the bounce/defer service) appends one
// record per recipient when it defers or bounces that recipient; showq reads defer/ID to
// show "(reason)" lines in postqueue -p; the bounce daemon reads bounce/ID and defer/ID to
// write delivery status notifications; qmgr removes defer/ID before it tries a message
// again. The logs are hashed like deferred/ (hash_queue_names lists "defer" by default).
//
// Format (Postfix 3.7, as its bounce service writes it), one record per recipient:
//
//   (empty line)
//   <rcpt@example.com>: host mx[192.0.2.1] said: 450 ...     the pre-2.3 form, for old tools
//   recipient=rcpt@example.com
//   original_recipient=alias@example.com                      only when it differs
//   offset=288                                                of the recipient's R record
//   dsn_orig_rcpt=rfc822;alias@example.com                    only when there is one
//   notify_flags=12                                           only when not 0
//   status=4.2.0
//   action=delayed
//   diag_type=smtp  diag_text=450 ...  mta_type=dns  mta_mname=mx   only when set
//   reason=host mx[192.0.2.1] said: 450 ...
//   (empty line: end of the record)
//
// Reading is as forgiving as Postfix's reader, because the files are only as trustworthy
// as the spool: "name=value" lines (white space around both trimmed) collect into a record
// that an empty line ends; lines without '=' (the old form, garbage) are skipped; unknown
// names are ignored; a record the file ends inside (no final empty line) is dropped. Every
// text is returned as stored: callers sanitize what they display or log. The whole file is
// read into memory, so readers bound its size (kMaxBounceLogBytes).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mail/dsn.hpp"
#include "queue/queue_id.hpp"
#include "util/result.hpp"

namespace postern {

// The queues that hold logs, with Postfix's names.
namespace bounce_log_queue {
inline constexpr std::string_view defer = "defer";
inline constexpr std::string_view bounce = "bounce";
inline constexpr std::string_view trace = "trace";
}  // namespace bounce_log_queue

// A log larger than this is read only this far (a warning names the file).
inline constexpr size_t kMaxBounceLogBytes = 16 * 1024 * 1024;

struct BounceLogRecord {
    std::string recipient;           // recipient=
    std::string original_recipient;  // original_recipient=
    int64_t offset = -1;             // offset= (of the R record); -1 when absent
    std::string dsn_orcpt;           // dsn_orig_rcpt=
    int dsn_notify = 0;              // notify_flags=
    DeliveryStatus status;           // status= action= reason= diag_*= mta_*=
    // Reader only: whether the record named a recipient and a reason at all. A record
    // without them is shown as Postfix shows it (bounce_log_display_recipient()...).
    bool has_recipient = false;
    bool has_reason = false;
};

// The bytes of one record, exactly as Postfix's bounce service writes them.
std::string format_bounce_log_record(const BounceLogRecord& record);

// Appends `record` to QUEUE_DIRECTORY/log_queue/HASH/queue_id (created 0600, the hashed
// subdirectory too), under an exclusive lock, and fsyncs it: a reason that was reported is
// not lost by a crash. Runs as mail_owner. `log_queue` is one of bounce_log_queue.
Status append_bounce_log(const std::string& queue_directory, const QueueHashing& hashing,
                         std::string_view log_queue, std::string_view queue_id,
                         const BounceLogRecord& record);

// The complete records of a log's text, in file order.
std::vector<BounceLogRecord> parse_bounce_log(std::string_view text);

// Reads QUEUE_DIRECTORY/log_queue/HASH/queue_id (no symbolic links, a regular file, at
// most kMaxBounceLogBytes). A missing log is ErrorKind::not_found: no record was written.
Result<std::vector<BounceLogRecord>> read_bounce_log(const std::string& queue_directory,
                                                     const QueueHashing& hashing,
                                                     std::string_view log_queue,
                                                     std::string_view queue_id);

// Removes the log; a missing one is not an error.
Status remove_bounce_log(const std::string& queue_directory, const QueueHashing& hashing,
                         std::string_view log_queue, std::string_view queue_id);

// What Postfix shows for a record: the recipient, "(MAILER-DAEMON)" for an empty one and
// "(recipient address unavailable)" for none; the reason, "(description unavailable)" when
// it is missing or empty.
std::string bounce_log_display_recipient(const BounceLogRecord& record);
std::string bounce_log_display_reason(const BounceLogRecord& record);

}  // namespace postern
