// The queue manager, part 3: the end of a delivery attempt. Once no recipient of a
// message is queued or in flight, in this order (Postfix's qmgr_active_done):
//   some recipients deferred:
//     expired (maximal_queue_lifetime, bounce_queue_lifetime for the null sender):
//         "ID: from=<S>, status=expired, returned to sender", then the defer service's
//         "flush" of the defer log (a non-delivery notice for the deferred recipients);
//         when it worked, the message is finished as below, else it stays deferred;
//     delay warning due (the W record's time): the defer service's "warn" notice, then
//         the W record is set to -1 (warned, as Postfix marks it);
//     then to deferred/ with the next attempt time;
//   every recipient done:
//     bounce/ID exists: the bounce service's "flush" (the non-delivery notice);
//     trace/ID exists: the trace service's "trace" (the DSN success notice);
//     then the queue file is removed ("ID: removed").
// A notice that fails leaves the message in deferred/ to try again: the queue file goes
// only after the notices it owes were sent (DESIGN.md: nothing already accepted is lost).
#include <ctime>

#include "qmgr/queue_files.hpp"
#include "qmgr/queue_manager.hpp"
#include "util/log.hpp"

namespace postern {

namespace {

using std::chrono::milliseconds;

// Notices being made at once; the bounce service (maxproc 0) would take more, but each
// one submits a message through cleanup.
constexpr size_t kBounceConnections = 20;
constexpr std::chrono::minutes kBounceReplyTimeout{10};

}  // namespace

void QueueManager::complete_soon(QueueMessage& message) {
    if (message.completing)
        return;
    message.completing = true;
    completions_.push_back(message.handle);
    completion_event_.arm(milliseconds{0});
}

void QueueManager::run_completions() {
    std::deque<MessageHandle> ready;
    ready.swap(completions_);
    for (MessageHandle handle : ready)
        if (QueueMessage* message = find(handle))
            complete(*message);
}

// Past its lifetime, or postsuper -e/-f marked it (before it became active or since).
bool QueueManager::expired(const QueueMessage& message, time_t now) const {
    if (message.forced_expire || active_file_forced_to_expire(message.id))
        return true;
    auto lifetime = message.envelope.sender.empty() ? settings_.bounce_queue_lifetime
                                                    : settings_.maximal_queue_lifetime;
    return now >= message_age_base(message) + lifetime.count();
}

bool QueueManager::warning_due(const QueueMessage& message, time_t now) const {
    const QueueEnvelope& envelope = message.envelope;
    return envelope.warning_time && *envelope.warning_time > 0 && envelope.warning_offset >= 0 &&
           now >= *envelope.warning_time;
}

void QueueManager::complete(QueueMessage& message) {
    time_t now = std::time(nullptr);
    if (!message.deferred)
        return all_recipients_done(message.handle);
    if (expired(message, now)) {
        log_message_info(
            message.id, "from=<%s>, status=expired, returned to sender",
            shown_address(message.envelope.sender, settings_.external_log_addresses).c_str());
        return ask_bounce(message, settings_.defer_service, bounce_request::flush, "defer",
                          [this](QueueMessage& expired_message, bool sent) {
                              if (!sent)
                                  return defer_message(expired_message);
                              expired_message.deferred = false;
                              all_recipients_done(expired_message.handle);
                          });
    }
    if (warning_due(message, now)) {
        return ask_bounce(message, settings_.defer_service, bounce_request::warn, "defer",
                          [this](QueueMessage& warned, bool sent) {
                              if (sent) {
                                  if (Status marked = update_warning_time(
                                          warned.id, warned.envelope.warning_offset, -1);
                                      !marked)
                                      log_warning("%s", marked.error().message().c_str());
                              }
                              defer_message(warned);
                          });
    }
    defer_message(message);
}

void QueueManager::all_recipients_done(MessageHandle handle) {
    QueueMessage* message = find(handle);
    if (message == nullptr)
        return;
    if (!queue_log_exists(settings_.hashing, "bounce", message->id))
        return trace_step(handle);
    ask_bounce(*message, settings_.bounce_service, bounce_request::flush, "bounce",
               [this](QueueMessage& bounced, bool sent) {
                   if (!sent)
                       return defer_message(bounced);
                   trace_step(bounced.handle);
               });
}

void QueueManager::trace_step(MessageHandle handle) {
    QueueMessage* message = find(handle);
    if (message == nullptr)
        return;
    if (!queue_log_exists(settings_.hashing, "trace", message->id))
        return remove_message(*message);
    ask_bounce(*message, settings_.trace_service, bounce_request::trace, "trace",
               [this](QueueMessage& traced, bool sent) {
                   if (!sent)
                       return defer_message(traced);
                   remove_message(traced);
               });
}

void QueueManager::remove_message(QueueMessage& message) {
    if (Status removed = remove_active_file(message.id); !removed)
        log_warning("%s", removed.error().message().c_str());
    else
        log_message_info(message.id, "removed");
    forget(message);
}

// To deferred/, to be tried again after the message's age (so the wait doubles each
// time), at least minimal_backoff_time and at most maximal_backoff_time.
void QueueManager::defer_message(QueueMessage& message) {
    time_t now = std::time(nullptr);
    int64_t age = std::max<int64_t>(now - message_age_base(message), 0);
    int64_t backoff = std::clamp<int64_t>(age, settings_.minimal_backoff.count(),
                                          settings_.maximal_backoff.count());
    if (Status moved = move_active_file(settings_.hashing, message.id, "deferred", now + backoff);
        !moved)
        log_warning("%s", moved.error().message().c_str());
    forget(message);
}

void QueueManager::forget(QueueMessage& message) {
    recipients_in_memory_ -= std::min(message.outstanding, recipients_in_memory_);
    messages_.erase(message.handle);
    schedule_feed();
}

void QueueManager::ask_bounce(QueueMessage& message, const std::string& service,
                              std::string_view request, std::string_view log,
                              std::function<void(QueueMessage&, bool)> then) {
    BounceRequest notice;
    notice.request = std::string(request);
    notice.queue_name = "active";
    notice.queue_id = message.id;
    notice.log = std::string(log);
    notice.sender = message.envelope.sender;
    notice.encoding = message.encoding;
    notice.smtputf8 = message.envelope.size.smtputf8;
    notice.dsn_envid = message.envelope.envelope_id;
    notice.dsn_ret = message.envelope.dsn_ret;
    auto found = bounce_pools_.find(service);
    if (found == bounce_pools_.end()) {
        ServicePool::Options options;
        options.limit = kBounceConnections;
        options.io_timeout = std::chrono::duration_cast<milliseconds>(settings_.ipc_timeout);
        options.reply_timeout = kBounceReplyTimeout;
        options.requests_per_connection = static_cast<size_t>(settings_.requests_per_connection);
        auto pool = std::make_unique<ServicePool>(loop_, "private/" + service, options);
        found = bounce_pools_.emplace(service, std::move(pool)).first;
    }
    MessageHandle handle = message.handle;
    found->second->call(
        encode_bounce_request(notice), [this, handle, service, request = notice.request,
                                        then = std::move(then)](ServiceCallResult result) {
            QueueMessage* waiting = find(handle);
            if (waiting == nullptr)
                return;
            bool sent = false;
            std::string why = result.error;
            if (result.failure == ServiceCallResult::Failure::none) {
                auto reply = decode_bounce_reply(*result.reply);
                sent = reply && reply->status == 0;
                why = !reply ? reply.error().message() : reply->reason;
            }
            if (!sent)
                log_warning("%s: %s request to private/%s failed: %s", waiting->id.c_str(),
                            request.c_str(), service.c_str(), why.c_str());
            then(*waiting, sent);
        });
}

}  // namespace postern
