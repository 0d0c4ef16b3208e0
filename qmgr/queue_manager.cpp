// The queue manager, part 1: triggers, scans, taking files into active/ and resolving
// their recipients. Delivery is in delivery.cpp, the end of a message in completion.cpp.
#include "qmgr/queue_manager.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "ipc/trigger.hpp"
#include "qmgr/queue_files.hpp"
#include "queue/bounce_log.hpp"
#include "queue/delivery_agent.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {

namespace {

using std::chrono::milliseconds;

// Files taken into active/ per turn of the event loop: replies wait no longer than this.
constexpr int kFeedPerTurn = 100;

// The reason postsuper -e/-f gives a recipient that was not deferred before (Postfix's).
constexpr std::string_view kAdministrativelyExpired = "message is administratively expired";

bool is_double_bounce(const ResolveReply& reply, std::string_view double_bounce) {
    if (double_bounce.empty() || reply.address_class() != AddressClass::local)
        return false;
    std::string_view recipient = reply.recipient;
    if (recipient.size() < double_bounce.size() ||
        !equals_ignore_case(recipient.substr(0, double_bounce.size()), double_bounce))
        return false;
    if (recipient.size() == double_bounce.size())
        return true;
    unsigned char next = static_cast<unsigned char>(recipient[double_bounce.size()]);
    return !std::isalnum(next);
}

// A transport name becomes a socket path: private/NAME.
bool transport_name_ok(std::string_view name) {
    return !name.empty() && name.size() <= 100 && name.front() != '.' &&
           name.find_first_of("/\n\r\t ") == std::string_view::npos;
}

}  // namespace

QueueManager::QueueManager(EventLoop& loop, const Config& config, QmgrSettings settings,
                           ResolveFunction resolve)
    : loop_(loop),
      config_(config),
      settings_(std::move(settings)),
      policies_(config_, settings_),
      scheduler_(
          [this](std::string_view transport) -> const TransportPolicy& {
              return policies_.get(transport);
          },
          Scheduler::Limits{settings_.minimal_backoff,
                            static_cast<size_t>(settings_.recipient_limit)}),
      resolve_(std::move(resolve)),
      incoming_(".", "incoming"),
      deferred_(".", "deferred") {
    feed_event_ = Event::timer(loop_, [this](EventReady) {
        feed_armed_ = false;
        feed();
    });
    dispatch_event_ = Event::timer(loop_, [this](EventReady) {
        dispatch_armed_ = false;
        dispatch();
    });
    completion_event_ = Event::timer(loop_, [this](EventReady) { run_completions(); });
    deferred_timer_ = Event::timer(loop_, [this](EventReady) { deferred_scan_timer(); });
    incoming_retry_timer_ =
        Event::timer(loop_, [this](EventReady) { request_scan(incoming_, false); });
    revival_timer_ = Event::timer(loop_, [this](EventReady) {
        scheduler_.revive_due(SchedulerClock::now());
        arm_revival_timer();
        schedule_dispatch();
    });
}

QueueManager::~QueueManager() = default;

void QueueManager::start() {
    if (size_t recovered = recover_active_queue(std::time(nullptr)); recovered > 0)
        log_debug(1, "moved %zu message(s) from active back to incoming", recovered);
    request_scan(incoming_, false);
    deferred_scan_timer();
}

void QueueManager::trigger(std::string_view request) {
    for (char letter : request) {
        switch (letter) {
            case trigger_request::wakeup:
            case trigger_request::scan_incoming:
                request_scan(incoming_, false);
                break;
            case trigger_request::scan_deferred:
                request_scan(deferred_, false);
                break;
            case trigger_request::scan_all:
                request_scan(incoming_, true);
                request_scan(deferred_, true);
                break;
            case trigger_request::flush_dead:
                scheduler_.revive_all();
                arm_revival_timer();
                schedule_dispatch();
                break;
            default:
                break;  // the NUL Postfix's tools send, and anything unknown
        }
    }
}

// Every queue_run_delay: a deferred-queue scan (files whose retry time has come).
void QueueManager::deferred_scan_timer() {
    if (on_deferred_scan)
        on_deferred_scan();
    request_scan(deferred_, false);
    deferred_timer_.arm(std::chrono::duration_cast<milliseconds>(settings_.queue_run_delay));
}

void QueueManager::request_scan(QueueScanner& scanner, bool ignore_time) {
    scanner.request(ignore_time);
    schedule_feed();
}

void QueueManager::schedule_feed() {
    if (feed_armed_)
        return;
    feed_armed_ = true;
    feed_event_.arm(milliseconds{0});
}

// Postfix's limits: qmgr_message_active_limit messages and qmgr_message_recipient_limit
// recipients in memory. A message is read whole, so one with more recipients than the
// limit still gets in when it is the only one.
bool QueueManager::has_room() const {
    return messages_.size() < static_cast<size_t>(settings_.active_limit) &&
           recipients_in_memory_ < static_cast<size_t>(settings_.recipient_limit);
}

// Both scans running: take from each in turn, so new mail is not stuck behind a long
// deferred queue, nor deferred mail behind a flood of new mail.
QueueScanner* QueueManager::next_scanner() {
    bool incoming = incoming_.active();
    bool deferred = deferred_.active();
    if (incoming && deferred) {
        prefer_deferred_ = !prefer_deferred_;
        return prefer_deferred_ ? &deferred_ : &incoming_;
    }
    if (incoming)
        return &incoming_;
    if (deferred)
        return &deferred_;
    return nullptr;
}

void QueueManager::feed() {
    for (int taken = 0; taken < kFeedPerTurn && has_room();) {
        QueueScanner* scanner = next_scanner();
        if (scanner == nullptr)
            return;
        auto candidate = scanner->next();
        if (!candidate)
            continue;  // that scan is done; the other may have more
        activate(*candidate, scanner->queue());
        ++taken;
    }
    if (has_room() && (incoming_.active() || deferred_.active()))
        schedule_feed();
}

void QueueManager::arm_incoming_retry() {
    if (!incoming_retry_timer_.armed())
        incoming_retry_timer_.arm(std::chrono::seconds(kActivationRetrySeconds + 1));
}

void QueueManager::activate(const ScanCandidate& candidate, const std::string& queue) {
    time_t now = std::time(nullptr);
    ActivatedFile file = activate_queue_file(settings_.hashing, candidate.path, queue,
                                             candidate.queue_id, candidate.ignore_time, now);
    if (file.outcome == ActivationOutcome::locked || file.outcome == ActivationOutcome::failed)
        arm_incoming_retry();
    if (file.outcome != ActivationOutcome::activated)
        return;
    // The defer log belongs to the previous attempt; this one writes its own. A message
    // forced to expire makes no attempt: the log's reasons go back to the sender.
    if (Status removed = file.forced_expire ? Status{}
                                            : remove_bounce_log(".", settings_.hashing, "defer",
                                                                candidate.queue_id);
        !removed)
        log_warning("%s", removed.error().message().c_str());
    MessageHandle handle = next_handle_++;
    auto message = std::make_unique<QueueMessage>(
        make_queue_message(handle, candidate.queue_id, queue, std::move(file.envelope),
                           queue_time_now(), candidate.ignore_time));
    const QueueEnvelope& envelope = message->envelope;
    log_message_info(message->id, "from=<%s>, size=%lld, nrcpt=%lld (queue active)",
                     shown_address(envelope.sender, settings_.external_log_addresses).c_str(),
                     static_cast<long long>(envelope.size.content_size),
                     static_cast<long long>(envelope.size.recipient_count));
    message->forced_expire = file.forced_expire;
    QueueMessage& active = *messages_.emplace(handle, std::move(message)).first->second;
    if (active.forced_expire)
        return_forced_expired(active);
    else
        assign(active);
    if (active.outstanding == 0)
        complete_soon(active);
}

// postsuper -e/-f: no delivery; complete() returns the message to its sender through the
// expiry path (expired() is true for it). A recipient the previous attempt deferred keeps
// that reason, from the defer log; the others are deferred now with Postfix's reason.
void QueueManager::return_forced_expired(QueueMessage& message) {
    std::vector<BounceLogRecord> earlier;
    if (auto log = read_bounce_log(".", settings_.hashing, "defer", message.id); log)
        earlier = std::move(*log);
    auto reported = [&earlier](const QueueRecipient& recipient) {
        return std::any_of(earlier.begin(), earlier.end(), [&recipient](const auto& record) {
            return record.offset > 0 ? record.offset == recipient.offset
                                     : record.recipient == recipient.address;
        });
    };
    std::vector<uint32_t> fresh;
    size_t already_deferred = 0;
    const auto& recipients = message.envelope.recipients;
    for (uint32_t i = 0; i < recipients.size(); ++i) {
        if (recipients[i].status != RecipientStatus::pending)
            continue;
        ++message.outstanding;
        if (reported(recipients[i]))
            ++already_deferred;
        else
            fresh.push_back(i);
    }
    recipients_in_memory_ += message.outstanding;
    if (already_deferred > 0)
        message.deferred = true;
    if (!fresh.empty())
        defer_directly(message, status_from_text(kAdministrativelyExpired, "4.7.0"), fresh);
    if (already_deferred > 0)
        recipients_finished(message, already_deferred);
}

QueueManager::Route QueueManager::redirect_route(std::string_view transport,
                                                 std::string_view reason) {
    return Route{Route::Kind::redirect, std::string(transport), std::string(reason), {}};
}

// Where one recipient goes: a destination of its transport, or (as Postfix's qmgr
// redirects what it cannot route) retry or error with the reason, or nowhere at all.
QueueManager::Route QueueManager::route(QueueMessage& message, uint32_t index) {
    const QueueRecipient& recipient = message.envelope.recipients[index];
    ResolveReply reply = resolve_(message.envelope.sender, recipient.address);
    if (reply.failed())
        return redirect_route(kRetryTransport, "4.3.0 address resolver failure");
    if (reply.bad_address())
        return redirect_route(kErrorTransport, "5.1.3 bad address syntax");
    message.delivery_addresses[index] = reply.recipient;
    if (is_double_bounce(reply, settings_.double_bounce_sender))
        return Route{Route::Kind::discard, {}, {}, {}};
    if (!transport_name_ok(reply.transport)) {
        log_warning("%s: bad transport name \"%s\" for <%s>", message.id.c_str(),
                    reply.transport.c_str(), reply.recipient.c_str());
        return redirect_route(kRetryTransport, "4.3.0 mail transport unavailable");
    }
    const auto& deferred = settings_.defer_transports;
    if (!message.flushed &&
        std::find(deferred.begin(), deferred.end(), reply.transport) != deferred.end())
        return redirect_route(kRetryTransport, "4.3.2 deferred transport");
    std::string key = scheduler_.destination_key(reply.transport, reply.nexthop, reply.recipient);
    return Route{Route::Kind::destination, std::move(reply.transport), std::move(key),
                 std::move(reply.nexthop)};
}

// Resolves every recipient not yet done and queues it, grouped by destination (one
// scheduler entry per message and destination).
void QueueManager::assign(QueueMessage& message) {
    struct Group {
        std::string nexthop;
        std::vector<uint32_t> recipients;
    };
    std::map<std::pair<std::string, std::string>, Group> groups;
    std::map<std::pair<std::string, std::string>, std::vector<uint32_t>> redirects;
    std::vector<uint32_t> discards;
    const auto& recipients = message.envelope.recipients;
    for (uint32_t i = 0; i < recipients.size(); ++i) {
        if (recipients[i].status != RecipientStatus::pending)
            continue;
        ++message.outstanding;
        Route where = route(message, i);
        if (where.kind == Route::Kind::discard) {
            discards.push_back(i);
        } else if (where.kind == Route::Kind::redirect) {
            redirects[{where.transport, where.key}].push_back(i);
        } else {
            Group& group = groups[{where.transport, where.key}];
            group.nexthop = std::move(where.nexthop);
            group.recipients.push_back(i);
        }
    }
    recipients_in_memory_ += message.outstanding;
    for (auto& [where, group] : groups)
        queue_for(message, where.first, where.second, group.nexthop, std::move(group.recipients));
    for (auto& [where, group] : redirects)
        redirect(message, where.first, status_from_text(where.second, "4.0.0"), group);
    if (!discards.empty())
        discard_double_bounce(message, discards);
    schedule_dispatch();
}

}  // namespace postern
