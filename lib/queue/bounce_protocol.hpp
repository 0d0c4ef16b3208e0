// The bounce protocol: how qmgr asks the bounce daemon to send a delivery status
// notification for a message, from the per-message logs the delivery agents wrote.
//
// Where it sits: lib/queue, between qmgr (the client) and bounce/ (the server, master.cf's
// `bounce`, `defer` and `trace` services, all running the bounce daemon). The recipients'
// reasons are not sent: they are in the message's logs under queue_directory
// (bounce/ID, defer/ID, trace/ID: lib/queue/bounce_log.hpp), which the agents appended to
// durably; the request names the message and says which notice to make:
//
//   flush  a non-delivery notice (RFC 3464 multipart/report, Action: failed) for every
//          recipient in the `log` (bounce/ID normally; defer/ID when qmgr gives up on an
//          expired message), sent to the sender (or, for a bounce of a bounce, to
//          2bounce_notice_recipient; the postmaster copy per notify_classes); then the
//          log is removed. qmgr removes the queue file only after "flush" succeeded.
//   warn   a delay notice (Action: delayed) for the recipients in defer/ID
//          (delay_warning_time); the log stays.
//   trace  a success notice (Action: delivered/relayed) for the recipients in trace/ID
//          that asked for DSN NOTIFY=SUCCESS; then the log is removed.
//
//   client                                        bounce
//   {request, queue_name, queue_id, log,     -->  reads the log and the queue file,
//    sender, encoding, smtputf8, dsn_envid,       builds the notice, submits it through
//    dsn_ret}                                     cleanup, logs "ID: sender non-delivery
//                                                 notification: NEWID"
//                                            <--  {status=0} done, or {status=1,
//                                                 reason="..."}: try again later
//
// A connection may carry several requests. The sender is in internal form; the null sender
// gets no notice (a bounce of a bounce goes to 2bounce_notice_recipient, as in Postfix).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ipc/attr.hpp"
#include "util/result.hpp"

namespace postern {

namespace bounce_request {
inline constexpr std::string_view flush = "flush";
inline constexpr std::string_view warn = "warn";
inline constexpr std::string_view trace = "trace";
}  // namespace bounce_request

struct BounceRequest {
    std::string request;     // one of bounce_request
    std::string queue_name;  // where the message's queue file is ("active", "deferred")
    std::string queue_id;
    std::string log;       // "bounce", "defer" or "trace": which log to report from
    std::string sender;    // who gets the notice
    std::string encoding;  // of the original message ("7bit", "8bit")
    int64_t smtputf8 = 0;
    std::string dsn_envid;
    int dsn_ret = 0;  // dsn::ret_full or dsn::ret_hdrs; 0: per bounce_size_limit
};

struct BounceReply {
    int64_t status = 0;  // 0: done; 1: failed, try again later
    std::string reason;
};

AttrList encode_bounce_request(const BounceRequest& request);
// Checks the request word, the log name, the queue name and the queue ID.
Result<BounceRequest> decode_bounce_request(const AttrList& message);
AttrList encode_bounce_reply(const BounceReply& reply);
Result<BounceReply> decode_bounce_reply(const AttrList& message);

}  // namespace postern
