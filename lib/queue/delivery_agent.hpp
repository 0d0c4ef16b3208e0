// The delivery agent side of the delivery request protocol: what local, smtp, error,
// discard, lmtp, virtual and pipe share around their own delivery code.
//
// Where it sits: lib/queue, between the single-client skeleton (lib/server) and each
// agent's deliver function. An agent's main() is
//
//   Status serve(ClientConnection& client, ServerContext& context) {
//       return serve_delivery_requests(client, context, deliver);  // deliver: the agent's own
//   }
//   int main(int argc, char** argv) {
//       return run_single_server(argc, argv, SingleServerHooks{.serve = serve});
//   }
//
// serve_delivery_requests reads DeliveryRequests from qmgr on the connection, one after
// another until qmgr closes it, opens each request's queue file (relative to the working
// directory, which the skeleton made queue_directory: chrooted or not), and calls deliver()
// with a DeliverySession. The agent reads the message through the session and reports each
// recipient once: sent(), deferred() or bounced(). The session does the bookkeeping the
// way Postfix's agents do it:
//   - logs the status line (lib/mail/delivery_log.hpp) under the agent's own name;
//   - sent/bounced: the recipient is marked done in the queue file (one fdatasync for all
//     of a request's recipients, after the last report: a crash before that repeats a
//     delivery, never loses one); a bounced recipient's reason is appended durably to
//     bounce/ID before it is marked done, so the bounce daemon can report it;
//   - deferred: the reason goes to defer/ID (what postqueue -p shows, and what a delay
//     warning or an expiry bounce reports);
//   - DSN NOTIFY=SUCCESS on a sent recipient: a record in trace/ID for the success notice;
//   - the queue file is locked shared (flock) from the request until the done marks, so
//     that a restarted qmgr skips a message still being delivered (as Postfix's agents),
//     and a request whose qmgr has gone before the lock was taken is not delivered (the
//     next qmgr hands it out again);
// and finally replies to qmgr with each recipient's outcome. A recipient deliver() did not
// report is deferred with "4.3.0 delivery agent did not report a result" (a bug, logged as
// a warning), so nothing is lost. Addresses in status lines are in external form (the
// local part quoted where RFC 5322 needs it), as info_log_address_format = external asks.
//
// Files the session creates (defer/, bounce/, trace/ logs and their hashed directories)
// belong to whoever the process is at the time: agents run as mail_owner, and local,
// which keeps root, makes mail_owner its effective identity between deliveries.
//
// Trust: the queue file is read as untrusted (QueueFileReader); the request comes from qmgr.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/delivery_log.hpp"
#include "mail/dsn.hpp"
#include "queue/delivery_request.hpp"
#include "queue/queue_file.hpp"
#include "server/server_context.hpp"
#include "server/single_server.hpp"
#include "util/result.hpp"

namespace postern {

struct DeliveryAgentOptions {
    // The relay= of the status line when a report names none ("local", "none").
    std::string relay_default = "none";
    // local: one recipient may get several reports (an alias that expands to a mailbox,
    // a command and a file logs one line for each). The recipient is then done when all of
    // them were sent or bounced, and deferred when any was deferred (the whole recipient
    // is tried again, as in Postfix). Otherwise a second report is a warning and ignored.
    bool several_reports_per_recipient = false;
};

enum class ReportKind { sent, deferred, bounced };

// A status from a text that may begin with an enhanced status code, as error(8),
// discard(8) and local's commands give their reasons: "5.1.1 no such user" is status
// 5.1.1, reason "no such user"; without a code the status is `default_status` and the
// whole text (trimmed) is the reason. An empty reason becomes `empty_reason`.
DeliveryStatus status_from_text(std::string_view text, std::string_view default_status,
                                std::string_view empty_reason = {});

class DeliverySession {
  public:
    DeliverySession(DeliveryRequest request, QueueFileReader queue_file,
                    const ServerContext& context, const DeliveryAgentOptions& options,
                    std::string queue_file_path = {});

    const DeliveryRequest& request() const { return request_; }
    // The queue file, for reading the content (next_content()) from data_offset on, and
    // for the envelope's extra attributes (read_envelope() reads from the start).
    QueueFileReader& queue_file() { return queue_file_; }

    // Delay accounting for delays=a/b/c/d: call when the connection to the next hop is up
    // (the end of c) and before the message is sent (the start of d). Agents without a
    // connection (local, discard) need neither: c is then 0 and d runs from the request.
    void connection_ready();

    // One report per recipient (index into request().recipients). `relay` names where it
    // went ("local", "mx.example.com[192.0.2.1]:25"); empty means the session's default.
    void sent(size_t index, const DeliveryStatus& status, std::string_view relay = {});
    void deferred(size_t index, const DeliveryStatus& status, std::string_view relay = {});
    void bounced(size_t index, const DeliveryStatus& status, std::string_view relay = {});
    // Every recipient not yet reported, alike.
    void defer_remaining(const DeliveryStatus& status, std::string_view relay = {});
    void bounce_remaining(const DeliveryStatus& status, std::string_view relay = {});

    // The destination itself is unusable: qmgr holds back its other mail (see
    // DeliveryReply::destination_unavailable). Recipients are still reported one by one.
    void destination_unavailable(const DeliveryStatus& status);
    void set_connection_reuse_count(int64_t count) { reply_.connection_reuse_count = count; }

    // The general form of the three above. `shown_address` replaces the request's
    // recipient in the status line and in the defer/bounce/trace record: local reports
    // where an alias or .forward file led ("to=<user@host>, orig_to=<alias>"), while the
    // done mark stays the request recipient's. The status must be of the kind's class
    // (2 sent, 4 deferred, 5 bounced); another is replaced with X.0.0 and a warning, as
    // Postfix's sent()/defer_append()/bounce_append() do ("ignoring dsn code").
    void report(size_t index, ReportKind kind, const DeliveryStatus& status,
                std::string_view relay = {}, std::string_view shown_address = {});

    // Finishes a recipient that needed no delivery of its own and gets no status line:
    // local's duplicate suppression (an alias that lists a mailbox twice, two recipients
    // of one request that expand to the same user), as Postfix marks them done silently.
    // Nothing happens when the recipient was reported already.
    void done_without_report(size_t index);

    bool reported(size_t index) const { return outcomes_.at(index).has_value(); }
    size_t unreported_count() const;
    // Where the queue file is, relative to the working directory (queue_directory): an
    // agent that reads the content more than once opens its own readers there.
    const std::string& queue_file_path() const { return queue_file_path_; }

    // After deliver(): defers what was not reported, marks done, builds the reply.
    Result<DeliveryReply> finish();

  private:
    DelayProfile delays_now() const;
    Status append_status_log(std::string_view log_queue, const DeliveryRecipient& recipient,
                             std::string_view address, const DeliveryStatus& status,
                             std::string_view action);
    // The address as log lines show it (info_log_address_format).
    std::string shown(std::string_view address) const;

    DeliveryRequest request_;
    QueueFileReader queue_file_;
    const ServerContext& context_;
    std::string relay_default_;
    bool several_reports_ = false;
    bool external_addresses_ = true;
    std::string queue_file_path_;
    QueueHashing hashing_;
    int delay_resolution_ = 2;
    std::chrono::system_clock::time_point started_;
    std::optional<std::chrono::system_clock::time_point> connected_;
    std::vector<std::optional<RecipientOutcome>> outcomes_;
    DeliveryReply reply_;
};

// The agent's delivery code. An error return is a warning in the log; the recipients it
// did not report are deferred.
using DeliverFunction = std::function<Status(DeliverySession& session, ServerContext& context)>;

// The serve() of a delivery agent: every request on the connection, until qmgr closes it.
Status serve_delivery_requests(ClientConnection& client, ServerContext& context,
                               const DeliverFunction& deliver,
                               const DeliveryAgentOptions& options = {});

}  // namespace postern
