// The queue manager, part 2: queueing recipients with the scheduler, sending batches to
// the delivery agents, and what their answers (or their silence) mean.
#include <ctime>

#include "qmgr/queue_manager.hpp"
#include "queue/bounce_log.hpp"
#include "queue/delivery_agent.hpp"
#include "util/log.hpp"

namespace postern {

namespace {

using std::chrono::milliseconds;

// Batches sent per turn of the event loop.
constexpr int kDispatchPerTurn = 200;

std::string status_text(const DeliveryStatus& status) {
    return status.status + " " + status.reason;
}

// How long the agent may take for a reply: its own watchdog (daemon_timeout) ends it
// before that, and the connection's end then tells qmgr.
constexpr std::chrono::hours kReplyTimeout{6};
// An agent connection left unused this long is closed, so the agent can exit.
constexpr std::chrono::seconds kIdleConnectionTimeout{5};

}  // namespace

QueueMessage* QueueManager::find(MessageHandle handle) {
    auto found = messages_.find(handle);
    return found == messages_.end() ? nullptr : found->second.get();
}

void QueueManager::queue_for(QueueMessage& message, const std::string& transport,
                             const std::string& key, const std::string& nexthop,
                             std::vector<uint32_t> recipients) {
    auto refused =
        scheduler_.add(transport, key, nexthop, RecipientGroup{message.handle, recipients});
    if (!refused)
        return;
    // A suspended transport's status is the whole story; a dead destination's is the
    // reason it died.
    DeliveryStatus status = *refused;
    if (!scheduler_.transport_suspended(transport))
        status.reason = "delivery temporarily suspended: " + status.reason;
    if (!status.temporary())
        status.status = "4.0.0";
    redirect(message, transport, status, recipients);
}

// Recipients that cannot go where they belong now: to retry (or error) with the reason as
// next-hop, so that the error agent logs and records them as Postfix's does; to the
// defer log directly when that transport is out of reach too.
void QueueManager::redirect(QueueMessage& message, std::string_view from,
                            const DeliveryStatus& status, const std::vector<uint32_t>& recipients) {
    std::string transport(status.permanent() ? kErrorTransport : kRetryTransport);
    if (from == transport || from == kRetryTransport || scheduler_.transport_suspended(transport))
        return defer_directly(message, status, recipients);
    std::string nexthop = status_text(status);
    std::map<std::string, std::vector<uint32_t>> by_key;
    for (uint32_t index : recipients)
        by_key[scheduler_.destination_key(transport, nexthop, message.delivery_addresses[index])]
            .push_back(index);
    for (auto& [key, group] : by_key) {
        if (scheduler_.add(transport, key, nexthop, RecipientGroup{message.handle, group}))
            defer_directly(message, status, group);
    }
    schedule_dispatch();
}

// qmgr's own deferral: the status line and the defer log record, as an agent writes them.
void QueueManager::defer_directly(QueueMessage& message, const DeliveryStatus& given,
                                  const std::vector<uint32_t>& recipients) {
    DeliveryStatus status = given;
    if (!status.temporary())
        status.status = "4.3.0";
    status.action = std::string(dsn_action::delayed);
    QueueTime now = queue_time_now();
    for (uint32_t index : recipients) {
        const QueueRecipient& recipient = message.envelope.recipients[index];
        const std::string& address = message.delivery_addresses[index].empty()
                                         ? recipient.address
                                         : message.delivery_addresses[index];
        BounceLogRecord record;
        record.recipient = address;
        record.original_recipient = recipient.original;
        record.offset = recipient.offset;
        record.dsn_orcpt = recipient.dsn_orcpt;
        record.dsn_notify = recipient.dsn_notify;
        record.status = status;
        if (Status logged = append_bounce_log(".", settings_.hashing, "defer", message.id, record);
            !logged)
            log_warning("%s: %s", message.id.c_str(), logged.error().message().c_str());
        std::string to = shown_address(address, settings_.external_log_addresses);
        std::string original = shown_address(recipient.original, settings_.external_log_addresses);
        DeliveryLogLine line{message.id,    to,         original,
                             "none",        0,          qmgr_delays(message, now),
                             status.status, "deferred", status.reason};
        log_info("%s", format_delivery_log_line(line, settings_.delay_resolution).c_str());
    }
    message.deferred = true;
    recipients_finished(message, recipients.size());
}

// Mail to the local double-bounce address goes nowhere: a bounce of a bounce that could
// not be delivered (Postfix's qmgr logs it as sent and marks it done).
void QueueManager::discard_double_bounce(QueueMessage& message,
                                         const std::vector<uint32_t>& recipients) {
    std::vector<int64_t> offsets;
    for (uint32_t index : recipients)
        offsets.push_back(message.envelope.recipients[index].offset);
    auto file = QueueFileReader::open("active/" + message.id, true);
    Status marked =
        file ? mark_recipients_done(file->fd(), offsets, file->name()) : Status(file.error());
    if (!marked) {
        log_warning("%s", marked.error().message().c_str());
        return defer_directly(message, make_delivery_status("4.3.0", "cannot update queue file"),
                              recipients);
    }
    QueueTime now = queue_time_now();
    for (uint32_t index : recipients) {
        const QueueRecipient& recipient = message.envelope.recipients[index];
        std::string to =
            shown_address(message.delivery_addresses[index], settings_.external_log_addresses);
        std::string original = shown_address(recipient.original, settings_.external_log_addresses);
        DeliveryLogLine line{message.id, to,     original,
                             "none",     0,      qmgr_delays(message, now),
                             "2.0.0",    "sent", "undeliverable postmaster notification discarded"};
        log_info("%s", format_delivery_log_line(line, settings_.delay_resolution).c_str());
    }
    recipients_finished(message, recipients.size());
}

void QueueManager::schedule_dispatch() {
    if (dispatch_armed_)
        return;
    dispatch_armed_ = true;
    dispatch_event_.arm(milliseconds{0});
}

void QueueManager::dispatch() {
    for (int sent = 0; sent < kDispatchPerTurn; ++sent) {
        auto batch = scheduler_.next_batch();
        if (!batch)
            return;
        send_batch(std::move(*batch));
    }
    schedule_dispatch();
}

ServicePool& QueueManager::agent_pool(const std::string& transport) {
    auto found = agents_.find(transport);
    if (found != agents_.end())
        return *found->second;
    ServicePool::Options options;
    int64_t limit = policies_.get(transport).process_limit;
    options.limit = limit > 0 ? static_cast<size_t>(limit) : 0;
    options.io_timeout = std::chrono::duration_cast<milliseconds>(settings_.ipc_timeout);
    options.reply_timeout = kReplyTimeout;
    options.idle_timeout = kIdleConnectionTimeout;
    options.requests_per_connection = static_cast<size_t>(settings_.requests_per_connection);
    auto pool = std::make_unique<ServicePool>(loop_, "private/" + transport, options);
    return *agents_.emplace(transport, std::move(pool)).first->second;
}

void QueueManager::send_batch(DeliveryBatch batch) {
    QueueMessage* message = find(batch.message);
    if (message == nullptr)
        log_panic("qmgr: batch for a message that is gone");
    DeliveryRequest request = make_delivery_request(*message, batch, queue_time_now());
    ServicePool& pool = agent_pool(batch.transport);
    pool.call(encode_delivery_request(request),
              [this, batch = std::move(batch)](ServiceCallResult result) {
                  batch_answered(batch, std::move(result));
              });
}

void QueueManager::batch_answered(const DeliveryBatch& batch, ServiceCallResult result) {
    if (result.failure == ServiceCallResult::Failure::unavailable)
        return agent_unavailable(batch, result);
    if (result.failure == ServiceCallResult::Failure::broken)
        return agent_failed(batch, result.error, result.fresh_connection);
    auto reply = decode_delivery_reply(*result.reply, batch.recipients.size());
    if (!reply)
        return agent_failed(batch, reply.error().message(), result.fresh_connection);
    QueueMessage* message = find(batch.message);
    if (message == nullptr)
        log_panic("qmgr: reply for a message that is gone");
    for (RecipientOutcome outcome : reply->outcomes)
        if (outcome == RecipientOutcome::deferred)
            message->deferred = true;
    BatchOutcome outcome{reply->destination_unavailable};
    auto suspended = scheduler_.finish_batch(batch.id, outcome, SchedulerClock::now());
    recipients_finished(*message, batch.recipients.size());
    if (!suspended.empty()) {
        resuspend(std::move(suspended), "delivery temporarily suspended: ");
        arm_revival_timer();
    }
    schedule_dispatch();
}

// Nobody listens at private/TRANSPORT: the transport is suspended for
// transport_retry_time and its mail goes to retry ("mail transport unavailable").
void QueueManager::agent_unavailable(const DeliveryBatch& batch, const ServiceCallResult& result) {
    DeliveryStatus status = make_delivery_status("4.3.0", "mail transport unavailable");
    std::vector<SuspendedGroups> suspended;
    if (!scheduler_.transport_suspended(batch.transport)) {
        log_warning("connect to transport private/%s: %s", batch.transport.c_str(),
                    result.error.c_str());
        suspended = scheduler_.suspend_transport(
            batch.transport, status, SchedulerClock::now() + settings_.transport_retry_time);
        arm_revival_timer();
    }
    scheduler_.finish_batch(batch.id, BatchOutcome{{}, true}, SchedulerClock::now());
    if (QueueMessage* message = find(batch.message))
        undeliverable_batch(*message, batch, status);
    resuspend(std::move(suspended), "");
    schedule_dispatch();
}

// The agent took the request but gave no usable answer: it died, or broke the protocol.
// Its recipients are deferred (a delivery may have happened: a duplicate, never a loss).
// A failure on a fresh connection is the agent failing, not a connection gone stale:
// the transport is then suspended, as Postfix's qmgr throttles a transport after a crash.
void QueueManager::agent_failed(const DeliveryBatch& batch, const std::string& why,
                                bool fresh_connection) {
    log_warning("private/%s socket: %s", batch.transport.c_str(), why.c_str());
    log_warning(
        "transport %s failure -- see a previous warning/fatal/panic logfile record "
        "for the problem description",
        batch.transport.c_str());
    DeliveryStatus status = make_delivery_status("4.3.0", "unknown mail transport error");
    std::vector<SuspendedGroups> suspended;
    if (fresh_connection && !scheduler_.transport_suspended(batch.transport)) {
        suspended = scheduler_.suspend_transport(
            batch.transport, status, SchedulerClock::now() + settings_.transport_retry_time);
        arm_revival_timer();
    }
    scheduler_.finish_batch(batch.id, BatchOutcome{{}, true}, SchedulerClock::now());
    if (QueueMessage* message = find(batch.message))
        undeliverable_batch(*message, batch, status);
    resuspend(std::move(suspended), "");
    schedule_dispatch();
}

// A batch no agent took: to retry with `status`; a batch that was on its way to retry or
// error already carries its reason as next-hop, and is deferred with that reason here.
void QueueManager::undeliverable_batch(QueueMessage& message, const DeliveryBatch& batch,
                                       const DeliveryStatus& status) {
    if (batch.transport == kRetryTransport || batch.transport == kErrorTransport)
        return defer_directly(message, status_from_text(batch.nexthop, "4.0.0"), batch.recipients);
    redirect(message, batch.transport, status, batch.recipients);
}

// Recipients the scheduler gave back (a destination died, a transport was suspended).
void QueueManager::resuspend(std::vector<SuspendedGroups> suspended, std::string_view prefix) {
    for (SuspendedGroups& destination : suspended) {
        DeliveryStatus status = destination.status;
        if (!status.temporary())
            status.status = "4.0.0";
        status.reason = std::string(prefix) + status.reason;
        // Mail queued for retry or error carries its own reason as next-hop.
        if (destination.transport == kRetryTransport || destination.transport == kErrorTransport)
            status = status_from_text(destination.nexthop, "4.0.0");
        for (RecipientGroup& group : destination.groups)
            if (QueueMessage* message = find(group.message))
                redirect(*message, destination.transport, status, group.recipients);
    }
}

void QueueManager::recipients_finished(QueueMessage& message, size_t count) {
    message.outstanding -= std::min(count, message.outstanding);
    recipients_in_memory_ -= std::min(count, recipients_in_memory_);
    if (message.outstanding == 0)
        complete_soon(message);
    schedule_feed();
}

void QueueManager::arm_revival_timer() {
    auto next = scheduler_.next_revival();
    if (!next) {
        revival_timer_.disarm();
        return;
    }
    auto delay = std::chrono::ceil<milliseconds>(*next - SchedulerClock::now());
    revival_timer_.arm(std::max(delay, milliseconds{0}));
}

}  // namespace postern
