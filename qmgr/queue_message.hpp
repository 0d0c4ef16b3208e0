// One message in the active queue, as qmgr keeps it in memory between taking it into
// active/ and moving it out again (removed, or deferred), and the delivery requests made
// from it.
//
// Where it sits: qmgr/, between the queue file's envelope (lib/queue/queue_file.hpp, read
// once when the message becomes active) and the delivery request protocol
// (lib/queue/delivery_request.hpp). The envelope is as untrusted as the file it came from:
// its strings are passed on to the agents as data, and shown in log lines only through the
// logger's sanitizer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mail/delivery_log.hpp"
#include "qmgr/scheduler.hpp"
#include "queue/delivery_request.hpp"
#include "queue/queue_file.hpp"

namespace postern {

// Postfix's trace_flags attribute values (DEL_REQ_FLAG_*), as cleanup and sendmail -v/-bv
// store them in the queue file.
namespace postfix_trace_flag {
inline constexpr int64_t mta_verify = 1 << 8;
inline constexpr int64_t user_verify = 1 << 9;
inline constexpr int64_t record = 1 << 10;
}  // namespace postfix_trace_flag

struct QueueMessage {
    MessageHandle handle = 0;
    std::string id;
    std::string source_queue;  // where it was taken from: "incoming" or "deferred"
    QueueEnvelope envelope;
    // Per recipient (same index as envelope.recipients): the address the resolver gave,
    // which the agent delivers to.
    std::vector<std::string> delivery_addresses;
    QueueTime active_time;       // when it entered active/ (the end of delays=a)
    bool flushed = false;        // taken with 'A' (postqueue -f): defer_transports deliver
    bool forced_expire = false;  // postsuper -e/-f: returned to the sender, not delivered
    std::string encoding;        // A encoding=...
    DeliveryClient client;       // A log_client_*... for the agents
    int64_t delivery_flags = 0;  // delivery_flag::*
    size_t outstanding = 0;      // recipients queued or in flight
    bool deferred = false;       // some recipient was deferred in this attempt
    bool completing = false;     // the last recipient is done: notices, then out of active/
};

// The message as qmgr keeps it, from the envelope just read.
QueueMessage make_queue_message(MessageHandle handle, std::string id, std::string source_queue,
                                QueueEnvelope envelope, QueueTime active_time, bool flushed);

// The request for one batch of the message's recipients.
DeliveryRequest make_delivery_request(const QueueMessage& message, const DeliveryBatch& batch,
                                      QueueTime now);

// Where the expiry and backoff times count from: create_time, else the arrival time.
int64_t message_age_base(const QueueMessage& message);

// delays=a/b/c/d for a status line qmgr writes itself: a = arrival to active, b = active
// to now, no c and d.
DelayProfile qmgr_delays(const QueueMessage& message, QueueTime now);

// An address as info_log_address_format asks: the local part quoted (external) or as is.
std::string shown_address(std::string_view address, bool external);

double seconds_between(QueueTime from, QueueTime to);

}  // namespace postern
