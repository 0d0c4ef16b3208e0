// The delivery request protocol: how qmgr hands a delivery to a delivery agent (local,
// smtp, relay, error, discard, lmtp, virtual, pipe...) and what the agent answers.
//
// Where it sits: lib/queue, between qmgr (the client) and the delivery agents (the
// server, through delivery_agent.hpp). qmgr connects to the agent's socket
// (queue_directory/private/TRANSPORT, the transport's master.cf service), sends one
// DeliveryRequest per message and destination, and reads one DeliveryReply; a connection
// carries any number of requests one after another, so a busy destination costs no
// connection (and no process start) per message. The wire is the attribute protocol
// (lib/ipc/attr.hpp); the message itself is not sent: the agent reads it from the queue
// file, which qmgr names, from data_offset on.
//
// The agent does the per-recipient bookkeeping itself, as Postfix's agents do: it logs the
// status line ("ID: to=<...>, relay=..., delay=..., status=sent (...)"), marks a delivered
// or bounced recipient done in the queue file, and appends a deferred or bounced
// recipient's reason to the message's defer/ or bounce/ log (lib/queue/bounce_log.hpp).
// The reply then tells qmgr, per recipient, whether it is finished or must be retried, and
// whether the destination as a whole is unreachable (qmgr then stops sending it mail for
// a while, as Postfix's scheduler marks a destination dead).
//
// Trust: both sides are Postern processes. The request's strings are as untrusted as the
// queue file they came from (addresses from the network); the agent checks what it uses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/attr.hpp"
#include "mail/dsn.hpp"
#include "queue/queue_id.hpp"
#include "util/result.hpp"

namespace postern {

// Request flags (Postfix's DEL_REQ_FLAG_* meanings, Postern's values).
namespace delivery_flag {
inline constexpr int64_t verify_mta = 1 << 0;   // address probe: find out, do not deliver
inline constexpr int64_t verify_user = 1 << 1;  // sendmail -bv: report, do not deliver
inline constexpr int64_t record = 1 << 2;       // also record the result in trace/ (DSN, -v)
inline constexpr int64_t smtputf8 = 1 << 3;     // the message needs SMTPUTF8 downstream
}  // namespace delivery_flag

struct DeliveryRecipient {
    std::string address;    // the envelope recipient after rewriting (internal form)
    std::string original;   // the address as the sender gave it (orig_to), may be empty
    std::string dsn_orcpt;  // DSN ORCPT "rfc822;addr", may be empty
    int dsn_notify = 0;     // dsn::notify_* bits, 0 when none given
    int64_t offset = -1;    // of the recipient's R record in the queue file
};

// Time stamps for the log's delay= and delays=a/b/c/d: arrival (message received), the
// time qmgr moved it into active/ (end of a), and the time qmgr sent this request (end
// of b); the agent measures c (connection set-up) and d (transmission) itself.
struct DeliveryTimes {
    QueueTime arrival;
    QueueTime active;
    QueueTime handed_over;
};

// Who sent the message, for the agent's logs and headers (smtp's XFORWARD, milters).
struct DeliveryClient {
    std::string name;      // log_client_name
    std::string address;   // log_client_address
    std::string port;      // log_client_port
    std::string helo;      // log_helo_name
    std::string protocol;  // log_protocol_name ("ESMTP", "SMTP"...)
    std::string sasl_method;
    std::string sasl_username;
    std::string sasl_sender;
    std::string rewrite_context;  // "local" or "remote"
};

struct DeliveryRequest {
    int64_t flags = 0;
    std::string queue_name;  // "active"
    std::string queue_id;
    int64_t data_offset = 0;  // where the content starts (the size record's offset)
    int64_t data_size = 0;    // content size from the size record
    std::string nexthop;      // as the resolver gave it: "example.com", "[mx]:587", "local"
    std::string encoding;     // "7bit", "8bit", "binary" (A encoding=...)
    std::string sender;       // internal form; empty is the null sender
    std::string dsn_envid;
    int dsn_ret = 0;
    DeliveryTimes times;
    DeliveryClient client;
    std::vector<DeliveryRecipient> recipients;
};

// Postfix's most recipients a request may carry through the wire's attribute limit;
// qmgr caps *_destination_recipient_limit at this.
inline constexpr size_t kMaxRecipientsPerRequest = 1000;

// What became of one recipient, for qmgr.
enum class RecipientOutcome : char {
    done = 'd',      // delivered, bounced or otherwise finished: marked done in the file
    deferred = 'q',  // try again later (its reason is in the defer log)
};

struct DeliveryReply {
    // One per request recipient, in order.
    std::vector<RecipientOutcome> outcomes;
    // Set when the agent found the destination itself unusable (no MX answer, every
    // server refused the connection...): qmgr defers the destination's other mail with
    // this status instead of sending it there, until the destination is retried.
    std::optional<DeliveryStatus> destination_unavailable;
    // How many deliveries the agent's connection to the destination has served, for the
    // scheduler's concurrency feedback (0 when the agent has no such notion).
    int64_t connection_reuse_count = 0;
};

// Encoding and decoding. Decoding checks every attribute's presence, type and range:
// a bad message is ErrorKind::protocol naming the attribute.
AttrList encode_delivery_request(const DeliveryRequest& request);
Result<DeliveryRequest> decode_delivery_request(const AttrList& message);
AttrList encode_delivery_reply(const DeliveryReply& reply);
Result<DeliveryReply> decode_delivery_reply(const AttrList& message, size_t recipient_count);

// DeliveryStatus as an attribute hash, for replies and for the bounce service.
AttrHash encode_delivery_status(const DeliveryStatus& status);
Result<DeliveryStatus> decode_delivery_status(const AttrHash& hash);

}  // namespace postern
