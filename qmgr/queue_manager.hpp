// The queue manager: Postern's qmgr(8). It takes mail from incoming/ (and from deferred/
// when its time has come) into active/, resolves every recipient to a transport and a
// destination, hands batches of recipients to the delivery agents as the scheduler
// (scheduler.hpp) allows, and when a message's last batch is answered, asks the bounce
// service for the notices it needs and removes the message, or moves it to deferred/ with
// its next attempt time.
//
// Where it sits: the middle of the mail flow.
//   in:   triggers on public/qmgr (cleanup, postqueue, master's wake-up), and the queue
//         files in incoming/ and deferred/ (written by cleanup, untrusted as files are);
//   out:  delivery requests to private/TRANSPORT (lib/queue/delivery_request.hpp),
//         notice requests to private/bounce, defer and trace (lib/queue/bounce_protocol.hpp),
//         the files it moves between queues, and its log lines ("ID: from=<...>, size=N,
//         nrcpt=M (queue active)", "ID: removed", "ID: from=<...>, status=expired,
//         returned to sender").
// Privileges: mail_owner, in queue_directory (master.cf: `qmgr unix n - n 300 1 qmgr`).
//
// Everything runs on one event loop and nothing blocks on another process: agents and
// the bounce service are reached through ServicePools (service_client.hpp). Work the loop
// does in one go is bounded (files taken into active/, batches sent per turn), so replies
// are read while a large queue is being fed.
//
// Postfix 3.7's behaviour kept here, besides the scheduler's:
//   - recipients qmgr cannot send where they belong go to the `retry` transport (the
//     error(8) agent run as retry) with the reason as next-hop, as Postfix's qmgr does:
//     "4.3.0 mail transport unavailable" (no socket), "4.3.0 unknown mail transport
//     error" (an agent that died), "delivery temporarily suspended: REASON" (a dead
//     destination), "4.3.0 address resolver failure", "4.3.2 deferred transport"
//     (defer_transports, unless postqueue -f); bad address syntax goes to `error` with
//     "5.1.3 bad address syntax". When retry itself cannot be reached, qmgr writes the
//     defer log record and the status line itself (lib/queue/bounce_log.hpp);
//   - mail to the local double-bounce address is logged as sent ("undeliverable
//     postmaster notification discarded") and marked done without an agent;
//   - the expiry check (maximal_queue_lifetime, bounce_queue_lifetime for the null
//     sender) and the delay warning (the W record's time) follow an attempt that left
//     recipients deferred; the backoff is the message's age, between minimal_backoff_time
//     and maximal_backoff_time, so the time between attempts doubles;
//   - a message postsuper -e/-f marked (kQueueFileModeExpire) is not delivered: it is
//     "expired" at once, its recipients keeping the previous attempt's deferral reason
//     or getting "message is administratively expired" (return_forced_expired).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mail/resolve.hpp"
#include "qmgr/qmgr_settings.hpp"
#include "qmgr/queue_message.hpp"
#include "qmgr/queue_scanner.hpp"
#include "qmgr/scheduler.hpp"
#include "qmgr/service_client.hpp"
#include "queue/bounce_protocol.hpp"
#include "util/event_loop.hpp"

namespace postern {

// How qmgr resolves a recipient (lib/mail/resolve.hpp's AddressResolver::resolve, or a
// stand-in in tests).
using ResolveFunction =
    std::function<ResolveReply(std::string_view sender, std::string_view recipient)>;

// The master.cf service qmgr sends mail to when it defers it itself, and the one for
// permanent errors (Postfix's MAIL_SERVICE_RETRY and MAIL_SERVICE_ERROR).
inline constexpr std::string_view kRetryTransport = "retry";
inline constexpr std::string_view kErrorTransport = "error";

class QueueManager {
  public:
    QueueManager(EventLoop& loop, const Config& config, QmgrSettings settings,
                 ResolveFunction resolve);
    ~QueueManager();
    QueueManager(const QueueManager&) = delete;
    QueueManager& operator=(const QueueManager&) = delete;

    // Start-up: active/ back to incoming/, then scans of incoming/ and deferred/, and the
    // periodic deferred scan.
    void start();
    // One trigger request: each letter of lib/ipc/trigger.hpp (W, I, D, A, F) in turn;
    // other bytes (Postfix's tools end requests with NUL) are ignored.
    void trigger(std::string_view request);
    // Runs at each deferred-queue scan, before it (main.cpp reopens the resolver there
    // when one of its tables changed).
    std::function<void()> on_deferred_scan;

    size_t active_messages() const { return messages_.size(); }

  private:
    // ---- taking mail into active/ (queue_manager.cpp) ----
    void request_scan(QueueScanner& scanner, bool ignore_time);
    void schedule_feed();
    void feed();
    bool has_room() const;
    QueueScanner* next_scanner();
    void activate(const ScanCandidate& candidate, const std::string& queue);
    struct Route {
        enum class Kind { destination, redirect, discard };
        Kind kind = Kind::destination;
        std::string transport;
        std::string key;  // the destination key; for a redirect, "STATUS reason"
        std::string nexthop;
    };
    static Route redirect_route(std::string_view transport, std::string_view reason);
    Route route(QueueMessage& message, uint32_t index);
    void assign(QueueMessage& message);
    void deferred_scan_timer();
    void arm_incoming_retry();

    // ---- delivery (delivery.cpp) ----
    void queue_for(QueueMessage& message, const std::string& transport, const std::string& key,
                   const std::string& nexthop, std::vector<uint32_t> recipients);
    void redirect(QueueMessage& message, std::string_view transport, const DeliveryStatus& status,
                  const std::vector<uint32_t>& recipients);
    void defer_directly(QueueMessage& message, const DeliveryStatus& status,
                        const std::vector<uint32_t>& recipients);
    void discard_double_bounce(QueueMessage& message, const std::vector<uint32_t>& recipients);
    void schedule_dispatch();
    void dispatch();
    void send_batch(DeliveryBatch batch);
    ServicePool& agent_pool(const std::string& transport);
    void batch_answered(const DeliveryBatch& batch, ServiceCallResult result);
    void agent_unavailable(const DeliveryBatch& batch, const ServiceCallResult& result);
    void agent_failed(const DeliveryBatch& batch, const std::string& why, bool fresh_connection);
    void undeliverable_batch(QueueMessage& message, const DeliveryBatch& batch,
                             const DeliveryStatus& status);
    void resuspend(std::vector<SuspendedGroups> suspended, std::string_view prefix);
    void recipients_finished(QueueMessage& message, size_t count);
    void arm_revival_timer();
    QueueMessage* find(MessageHandle handle);

    // ---- after the last batch (completion.cpp) ----
    void complete_soon(QueueMessage& message);
    void run_completions();
    void complete(QueueMessage& message);
    void all_recipients_done(MessageHandle handle);
    void trace_step(MessageHandle handle);
    void remove_message(QueueMessage& message);
    void defer_message(QueueMessage& message);
    void forget(QueueMessage& message);
    void ask_bounce(QueueMessage& message, const std::string& service, std::string_view request,
                    std::string_view log, std::function<void(QueueMessage&, bool)> then);
    bool expired(const QueueMessage& message, time_t now) const;
    void return_forced_expired(QueueMessage& message);
    bool warning_due(const QueueMessage& message, time_t now) const;

    EventLoop& loop_;
    const Config& config_;
    QmgrSettings settings_;
    TransportPolicyCache policies_;
    Scheduler scheduler_;
    ResolveFunction resolve_;
    QueueScanner incoming_;
    QueueScanner deferred_;
    bool prefer_deferred_ = false;  // alternate the two scans while both run
    std::unordered_map<MessageHandle, std::unique_ptr<QueueMessage>> messages_;
    MessageHandle next_handle_ = 1;
    size_t recipients_in_memory_ = 0;
    std::map<std::string, std::unique_ptr<ServicePool>, std::less<>> agents_;
    std::map<std::string, std::unique_ptr<ServicePool>, std::less<>> bounce_pools_;
    std::deque<MessageHandle> completions_;
    Event feed_event_;
    Event dispatch_event_;
    Event completion_event_;
    Event deferred_timer_;
    Event incoming_retry_timer_;
    Event revival_timer_;
    bool feed_armed_ = false;
    bool dispatch_armed_ = false;
};

}  // namespace postern
