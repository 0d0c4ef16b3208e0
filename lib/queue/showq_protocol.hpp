// The showq protocol: how the showq service tells postqueue (and mailq, sendmail -bp) what
// is in the queue.
//
// Where it sits: lib/queue, between showq/ (the server: it reads the queues as mail_owner,
// possibly chrooted) and tools/postqueue (the client, set-gid setgid_group, run by any
// local user). The client connects to queue_directory/public/showq and sends nothing; the
// server writes one listing and closes. The wire is the attribute protocol
// (lib/ipc/attr.hpp), one frame per item:
//
//   {type="message", queue_name, queue_id, arrival_time, message_size, forced_expire,
//    sender}                                   one per queue file, in listing order
//   {type="recipient", address[, reason]}       its recipients that are still pending,
//                                               those with a deferral reason first
//   ...
//   {type="end"}                                the listing is complete
//
// Every text is ready to print: addresses quoted as RFC 5322 local parts where needed
// (Postfix's quote_822_local), "MAILER-DAEMON" for the null address, control characters
// and malformed UTF-8 replaced with '?'. A listing without its end frame was cut short
// (showq died, or the queue file it read was hostile): the client says so instead of
// printing half a queue as if it were all. The client treats the frames as untrusted
// (another process, and ultimately the spool): sizes are bounded by AttrLimits and a
// frame of the wrong shape is a protocol error.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ipc/attr_channel.hpp"
#include "util/result.hpp"

namespace postern {

struct ShowqRecipient {
    std::string address;
    std::string reason;  // empty: no deferral reason known
};

struct ShowqMessage {
    std::string queue_name;  // "deferred"
    std::string queue_id;
    int64_t arrival_time = 0;  // seconds since the epoch
    int64_t message_size = 0;  // bytes of header and body (the size record's first field)
    bool forced_expire = false;
    std::string sender;
    std::vector<ShowqRecipient> recipients;
};

// The server side: one message (its frame and its recipients' frames), then the end.
Status send_showq_message(AttrChannel& channel, const ShowqMessage& message,
                          std::chrono::milliseconds timeout);
Status send_showq_end(AttrChannel& channel, std::chrono::milliseconds timeout);

// The client side: reads the listing to its end frame, calling `visit` for each complete
// message in order. A connection that ends before the end frame, or a malformed frame, is
// an ErrorKind::protocol error (after the messages read until then were visited).
Status read_showq_listing(AttrChannel& channel, std::chrono::milliseconds timeout,
                          const std::function<Status(const ShowqMessage&)>& visit);

}  // namespace postern
