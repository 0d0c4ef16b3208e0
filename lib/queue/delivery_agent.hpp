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
// and finally replies to qmgr with each recipient's outcome. A recipient deliver() did not
// report is deferred with "4.3.0 delivery agent did not report a result" (a bug, logged as
// a warning), so nothing is lost.
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

class DeliverySession {
  public:
    DeliverySession(DeliveryRequest request, QueueFileReader queue_file,
                    const ServerContext& context, std::string relay_default);

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

    bool reported(size_t index) const { return outcomes_.at(index).has_value(); }
    size_t unreported_count() const;

    // After deliver(): defers what was not reported, marks done, builds the reply.
    Result<DeliveryReply> finish();

  private:
    enum class Kind { sent, deferred, bounced };
    void report(size_t index, Kind kind, const DeliveryStatus& status, std::string_view relay);
    DelayProfile delays_now() const;
    Status append_status_log(std::string_view log_queue, const DeliveryRecipient& recipient,
                             const DeliveryStatus& status, std::string_view action);

    DeliveryRequest request_;
    QueueFileReader queue_file_;
    const ServerContext& context_;
    std::string relay_default_;
    QueueHashing hashing_;
    int delay_resolution_ = 2;
    std::chrono::system_clock::time_point started_;
    std::optional<std::chrono::system_clock::time_point> connected_;
    std::vector<std::optional<RecipientOutcome>> outcomes_;
    std::vector<int64_t> done_offsets_;
    DeliveryReply reply_;
};

// The agent's delivery code. An error return is a warning in the log; the recipients it
// did not report are deferred.
using DeliverFunction = std::function<Status(DeliverySession& session, ServerContext& context)>;

struct DeliveryAgentOptions {
    // The relay= of the status line when a report names none ("local", "none").
    std::string relay_default = "none";
};

// The serve() of a delivery agent: every request on the connection, until qmgr closes it.
Status serve_delivery_requests(ClientConnection& client, ServerContext& context,
                               const DeliverFunction& deliver,
                               const DeliveryAgentOptions& options = {});

}  // namespace postern
