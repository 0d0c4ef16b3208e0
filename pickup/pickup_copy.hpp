// pickup's work on one maildrop file: read it record by record, check it, and stream it to
// cleanup as a new message, as Postfix's pickup does:
//
//   cleanup "open" (flags: bounce | mask_external, less what receive_override_options turns
//   off; smtputf8 autodetection for sendmail mail) -> queue ID
//   [L content_filter]  envelope records  (T from the file's time when the file has none)
//   log "ID: uid=N from=<sender>"  (" orig_id=NAME" for a file postsuper -r requeued)
//   M  "Received: by $myhostname ($mail_name, from userid N)"  "\tid ID; DATE"
//   content records  X  extracted records  E  -> cleanup's verdict
//
// What is checked (the file was written by a local user, through postdrop, or by
// mail_owner when postsuper -r requeued a queue file): each record's length (at most
// line_length_limit), its type against the segment it is in (kMaildropFileSegments for a
// user's file, kRequeuedSegments for mail_owner's), attributes a user may not set (dropped
// again, as postdrop drops them), a sender. A bad file is logged and removed; cleanup sees
// nothing of it but an abandoned connection, so it queues nothing. A file is removed only
// after cleanup answered that its message is queued: a crash in between may duplicate the
// message, never lose it. A temporary failure (cleanup unreachable, a write error on its
// side) keeps the file for the next scan.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "queue/cleanup_protocol.hpp"
#include "util/file.hpp"

namespace postern::pickup {

struct PickupSettings {
    size_t line_length_limit = 2048;
    std::string myhostname;
    std::string mail_name = "Postfix";
    std::string content_filter;
    int64_t cleanup_flags = cleanup_flag::bounce | cleanup_flag::mask_external;
    bool smtputf8_autodetect = false;  // smtputf8_enable and "sendmail" in the classes
    uid_t mail_owner_uid = 0;
    std::chrono::milliseconds ipc_timeout{std::chrono::seconds(3600)};
    std::string cleanup_socket = "public/cleanup";
};

// One connection to cleanup, reused for file after file, and given up after a message was
// abandoned or a call failed (the stream is then out of step).
class CleanupConnection {
  public:
    explicit CleanupConnection(const PickupSettings& settings) : settings_(settings) {}
    // Connected, or the error that prevented it.
    Result<CleanupClient*> get();
    void drop() { client_.reset(); }

  private:
    const PickupSettings& settings_;
    std::optional<CleanupClient> client_;
};

// A maildrop file, opened (no symbolic links) and fstat'd.
struct MaildropFile {
    std::string path;  // "maildrop/ID", relative to queue_directory
    std::string name;  // "ID"
    Fd fd;
    struct stat status {};
};

enum class PickupOutcome {
    remove,          // queued, or a bad file: remove it
    keep,            // try again at a later scan
    cleanup_failed,  // keep it, and stop this scan: cleanup is not answering
};

PickupOutcome pickup_file(MaildropFile& file, const PickupSettings& settings,
                          CleanupConnection& cleanup);

}  // namespace postern::pickup
