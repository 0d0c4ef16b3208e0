// The cleanup protocol: how smtpd, pickup, bounce (and later qmqpd, verify, postscreen's
// smtpd) hand a message to the cleanup daemon, which writes the queue file and answers
// whether the message was queued.
//
// Where it sits: lib/queue, between every message source and cleanup/. The client side
// (CleanupClient) runs in the source's process; the server side is cleanup's serve loop,
// which decodes the same frames. The wire is the attribute protocol (lib/ipc/attr.hpp) on
// cleanup's UNIX-domain socket (queue_directory/public/cleanup: master.cf's `cleanup unix n`),
// carrying the message as Postfix's own queue-file records (queue_file.hpp), so the record
// stream a client sends is exactly a queue file without its size record, and a maildrop
// file (what postdrop writes) can be passed on record for record.
//
// One connection carries any number of messages, one after another:
//
//   client                                         cleanup
//   {request="open", flags=F}                 -->  creates incoming/ID (0600)
//                                             <--  {status=0, queue_id="ID"}
//                                                  (status != 0, reason: nothing was created)
//   {request="records", records=<bytes>}      -->  no reply; whole records only, in order:
//   ...                                              T, A..., F, S, per recipient
//                                                    [A notify_flags][A dsn_orig_rcpt][O] R,
//                                                    M, N/L content lines, X, A/R extracted,
//                                                    and the last frame ends with E
//   {request="end"}                           -->  checks, commits durably (fsync file and
//                                                  directory), wakes qmgr
//                                             <--  {status=S, reason="5.7.1 text"}
//
// status is 0 when the message is in the queue and will be delivered, or the CLEANUP_STAT
// bits below (Postfix's cleanup_user.h values) when it is not: then cleanup removed the
// file, and reason says why, starting with an enhanced status code where there is one, for
// the client to turn into its SMTP reply or bounce. cleanup reads every frame up to "end"
// even after it has decided to reject the message, so the client never has to look for an
// early answer. Everything the client sends is untrusted (a local user's message through
// pickup, a network client's through smtpd): cleanup checks each record type against the
// segment it arrives in, and each frame against AttrLimits.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "ipc/attr_channel.hpp"
#include "queue/queue_file.hpp"
#include "util/result.hpp"

namespace postern {

// What cleanup does with the message (Postfix's CLEANUP_FLAG_*, same values).
namespace cleanup_flag {
inline constexpr int64_t bounce = 1 << 0;      // bounce a bad message instead of refusing it
inline constexpr int64_t filter = 1 << 1;      // header_checks and body_checks
inline constexpr int64_t hold = 1 << 2;        // put the message on hold
inline constexpr int64_t discard = 1 << 3;     // discard the message
inline constexpr int64_t bcc_ok = 1 << 4;      // always_bcc and sender/recipient_bcc_maps
inline constexpr int64_t map_ok = 1 << 5;      // canonical and virtual_alias maps
inline constexpr int64_t milter = 1 << 6;      // non_smtpd_milters
inline constexpr int64_t smtp_reply = 1 << 7;  // the client wants a full SMTP reply text
inline constexpr int64_t smtputf8 = 1 << 8;    // the client said SMTPUTF8
inline constexpr int64_t auto_utf8 = 1 << 9;   // autodetect SMTPUTF8 (sendmail)
// What smtpd and pickup ask for: external mail (receive_override_options may clear bits).
inline constexpr int64_t mask_external = filter | milter | bcc_ok | map_ok;
// What bounce and the other internal sources ask for.
inline constexpr int64_t mask_internal = map_ok;
}  // namespace cleanup_flag

// Why a message was not queued (Postfix's CLEANUP_STAT_*, same values).
namespace cleanup_status {
inline constexpr int64_t ok = 0;
inline constexpr int64_t bad = 1 << 0;     // internal protocol error
inline constexpr int64_t write = 1 << 1;   // error writing the queue file
inline constexpr int64_t size = 1 << 2;    // message_size_limit exceeded
inline constexpr int64_t cont = 1 << 3;    // content rejected (header/body checks, milter)
inline constexpr int64_t hops = 1 << 4;    // too many hops (hopcount_limit)
inline constexpr int64_t rcpt = 1 << 6;    // no recipients
inline constexpr int64_t proxy = 1 << 7;   // before-queue proxy error
inline constexpr int64_t defer = 1 << 8;   // temporary failure (a table lookup failed...)
inline constexpr int64_t noperm = 1 << 9;  // denied by policy (local_login_sender_maps...)
}  // namespace cleanup_status

// Postfix's cleanup_strerror(): the text for the most important bit of `status`
// ("message content rejected", "too many hops"...); "Success" for 0.
std::string_view cleanup_status_text(int64_t status);

// Attribute names on the wire.
namespace cleanup_attr {
inline constexpr std::string_view request = "request";
inline constexpr std::string_view flags = "flags";
inline constexpr std::string_view status = "status";
inline constexpr std::string_view queue_id = "queue_id";
inline constexpr std::string_view reason = "reason";
inline constexpr std::string_view records = "records";
}  // namespace cleanup_attr

namespace cleanup_request {
inline constexpr std::string_view open = "open";
inline constexpr std::string_view records = "records";
inline constexpr std::string_view end = "end";
}  // namespace cleanup_request

struct CleanupResult {
    int64_t status = cleanup_status::ok;
    std::string reason;  // empty on success
    bool ok() const { return status == cleanup_status::ok; }
};

// The client side, blocking, over one AttrChannel. Records are buffered and go out in
// frames of whole records of about kCleanupFrameBytes, so a message costs a handful of
// writes, not one per line. A failure while streaming is sticky: later calls are ignored
// and finish() returns it (the message was not queued; a source treats that as
// "451 4.3.0 Error: queue file write error" or defers, as Postfix's smtpd and pickup do).
inline constexpr size_t kCleanupFrameBytes = 64 * 1024;

class CleanupClient {
  public:
    // Connects to cleanup's socket (queue_directory + "/public/cleanup").
    static Result<CleanupClient> connect(const std::string& socket_path,
                                         std::chrono::milliseconds timeout);
    explicit CleanupClient(AttrChannel channel, std::chrono::milliseconds timeout);

    // Starts a message: cleanup creates the queue file and returns its queue ID. An Error
    // when cleanup cannot be reached, answers garbage, or refuses (ErrorKind::temporary,
    // "cleanup: REASON"): the source defers the message.
    Result<std::string> open(int64_t flags);

    // Records of the message, in the order the protocol comment above gives.
    void record(char type, std::string_view data);
    void attribute(std::string_view name, std::string_view value);
    void arrival_time(QueueTime when);
    void sender(std::string_view address) { record(rec_type::sender, address); }
    // [A notify_flags] [A dsn_orig_rcpt] [O] R, as QueueFileWriter::recipient writes them.
    void recipient(const QueueRecipient& recipient);
    // M is sent before the first content line. A line longer than `line_length_limit`
    // goes as L records and a final N; content_continued sends a piece of a line whose end
    // comes with a later call.
    void content_line(std::string_view line);
    void content_continued(std::string_view piece);
    // X: the end of the content (M first if no content line was sent).
    void end_content();

    // Sends E and "end", and waits for cleanup's verdict (up to the timeout given at
    // construction: cleanup's commit includes an fsync).
    Result<CleanupResult> finish();

    // The error that stopped streaming, if any.
    const Status& stream_status() const { return stream_status_; }
    void set_line_length_limit(size_t limit) { line_length_limit_ = limit; }

  private:
    void flush_frame();

    AttrChannel channel_;
    std::chrono::milliseconds timeout_;
    std::string pending_;  // whole records not yet sent
    Status stream_status_;
    size_t line_length_limit_ = 2048;
    bool content_started_ = false;
    bool content_ended_ = false;
};

}  // namespace postern
