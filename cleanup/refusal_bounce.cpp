// Bouncing refused local submissions (see refusal_bounce.hpp).
#include "cleanup/refusal_bounce.hpp"

#include <chrono>

#include "ipc/attr_channel.hpp"
#include "mail/dsn.hpp"
#include "queue/bounce_log.hpp"
#include "queue/bounce_protocol.hpp"
#include "queue/cleanup_protocol.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern::cleanup {
namespace {

// Refusals that leave a complete file to bounce; the others (write errors, deferrals, a
// broken stream, a message too large to keep) are answered as they are.
constexpr int64_t kBounceable = cleanup_status::cont | cleanup_status::hops;

constexpr auto kBounceTimeout = std::chrono::seconds(100);

// One bounce log record per recipient of the (finished) file, with the refusal's status
// and text.
Status log_recipients(const QueueFileWriter& writer, const MessageOutcome& outcome,
                      const CleanupSettings& settings, QueueEnvelope& envelope) {
    auto reader = QueueFileReader::open(writer.path());
    if (!reader)
        return reader.error();
    auto read = reader->read_envelope();
    if (!read)
        return read.error();
    envelope = std::move(*read);
    std::string_view code = leading_enhanced_status_code(outcome.reason);
    std::string_view text = outcome.reason;
    if (!code.empty())
        text = trim_left(text.substr(code.size()));
    for (const QueueRecipient& recipient : envelope.recipients) {
        BounceLogRecord record;
        record.recipient = recipient.address;
        record.original_recipient = recipient.original;
        record.offset = recipient.offset;
        record.dsn_orcpt = recipient.dsn_orcpt;
        record.dsn_notify = recipient.dsn_notify;
        record.status = make_delivery_status(code.empty() ? "5.0.0" : code, text);
        record.status.action = std::string(dsn_action::failed);
        if (Status appended = append_bounce_log(".", settings.hashing, bounce_log_queue::bounce,
                                                writer.queue_id(), record);
            !appended)
            return appended;
    }
    return {};
}

Status ask_bounce_service(const QueueFileWriter& writer, const QueueEnvelope& envelope,
                          const MessageCleanup& message, const CleanupSettings& settings) {
    BounceRequest request;
    request.request = std::string(bounce_request::flush);
    request.queue_name = "incoming";
    request.queue_id = writer.queue_id();
    request.log = std::string(bounce_log_queue::bounce);
    request.sender = message.sender();
    request.encoding = "7bit";
    request.dsn_envid = envelope.envelope_id;
    request.dsn_ret = envelope.dsn_ret;
    auto answer =
        attr_request(settings.bounce_service, encode_bounce_request(request),
                     std::chrono::duration_cast<std::chrono::milliseconds>(kBounceTimeout));
    if (!answer)
        return answer.error();
    auto reply = decode_bounce_reply(*answer);
    if (!reply)
        return reply.error();
    if (reply->status != 0)
        return Error(ErrorKind::temporary, "bounce service: " + reply->reason);
    return {};
}

}  // namespace

MessageOutcome bounce_or_refuse(MessageCleanup& message, MessageOutcome outcome,
                                const CleanupSettings& settings) {
    QueueFileWriter& writer = message.writer();
    bool bounce = (message.flags() & cleanup_flag::bounce) != 0 && outcome.status != 0 &&
                  (outcome.status & ~kBounceable) == 0 && message.recipient_count() > 0;
    if (!bounce) {
        writer.abandon();
        return outcome;
    }
    QueueEnvelope envelope;
    Status done = writer.finish();
    if (done)
        done = log_recipients(writer, outcome, settings, envelope);
    if (done)
        done = ask_bounce_service(writer, envelope, message, settings);
    writer.abandon();
    if (!done) {
        log_warning("%s", done.error().message().c_str());
        (void)remove_bounce_log(".", settings.hashing, bounce_log_queue::bounce, writer.queue_id());
        outcome.status = cleanup_status::write;
        outcome.reason = cleanup_status_reason(cleanup_status::write);
        return outcome;
    }
    return MessageOutcome{MessageOutcome::Disposition::discard, cleanup_status::ok, {}};
}

}  // namespace postern::cleanup
