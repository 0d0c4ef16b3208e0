// The scheduler: which recipients qmgr hands to which delivery agent next, and how many
// deliveries each destination gets at once. Postfix's scheduler (SCHEDULER_README,
// qmgr(8)) in a simpler shape, with no I/O and no clock of its own, so that the unit
// tests drive it with invented times.
//
// Where it sits: qmgr/, below the queue manager (queue_manager.hpp), which resolves each
// recipient to a transport and a destination, adds the recipients here, asks for the
// next batch to send whenever an agent connection could take one, and reports how each
// batch ended. The scheduler knows messages only by handle and recipients by index.
//
// Model:
//   transport    a master.cf delivery service (smtp, local, error...): at most
//                process_limit batches in flight (0: no limit). A transport that cannot
//                be reached is suspended for transport_retry_time.
//   destination  (transport, key): the key is the next-hop, lower-cased, or for a
//                transport whose recipient limit is 1 the recipient as well (as Postfix:
//                local's concurrency limit is per recipient then). At most `window`
//                batches in flight; the window starts at initial_destination_concurrency
//                (capped by the concurrency limit), grows by the positive feedback after
//                each batch that ended without a destination failure, and shrinks by the
//                negative feedback after one that failed (never below 1). Feedback
//                accumulates: the window moves by one when the total reaches 1
//                (hysteresis, as Postfix).
//   dead         a destination whose failures add up to failed_cohort_limit
//                pseudo-cohorts (a cohort is as many batches as the window: each failure
//                counts 1/window) is dead for dead_time (minimal_backoff_time): its
//                queued recipients come back to the caller to be deferred, and new ones
//                are refused with the reason, until it is revived (by time, by the F
//                trigger, or by a batch to it that succeeds after all). A success resets
//                the cohort count. failed_cohort_limit 0 never marks a destination dead.
//   batch        up to recipient_limit recipients of one message for one destination.
//
// Fairness: transports are served in turn, the ready destinations of a transport in
// turn, and within a destination the waiting messages in turn, one batch each (a message
// with recipients left goes to the back). A message with 10,000 recipients for one
// destination therefore shares it with the small messages that arrive after it instead
// of delaying them until it is done; this replaces nqmgr's preemption.
//
// Cost: add, next_batch and finish_batch are O(1) amortized (plus the batch's size); a
// destination's state lives while it has work or is dead, so memory follows the active
// queue, and the dead list is bounded (qmgr_message_recipient_limit, as Postfix's).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mail/dsn.hpp"
#include "qmgr/qmgr_settings.hpp"

namespace postern {

using SchedulerClock = std::chrono::steady_clock;
using SchedulerTime = SchedulerClock::time_point;
using MessageHandle = uint64_t;

// Some recipients of one message (indices into the message's recipient list).
struct RecipientGroup {
    MessageHandle message = 0;
    std::vector<uint32_t> recipients;
};

// One delivery request to make.
struct DeliveryBatch {
    uint64_t id = 0;
    std::string transport;
    std::string nexthop;
    MessageHandle message = 0;
    std::vector<uint32_t> recipients;
};

// Recipients the scheduler gives back undelivered, because their destination or
// transport was suspended: the caller defers them with `status`.
struct SuspendedGroups {
    std::string transport;
    std::string nexthop;
    DeliveryStatus status;
    std::vector<RecipientGroup> groups;
};

// How a batch ended, as far as the scheduler cares.
struct BatchOutcome {
    // The agent found the destination unusable (connection or handshake failure).
    std::optional<DeliveryStatus> destination_failure;
    // No feedback either way: the batch never reached the destination (no agent).
    bool neutral = false;
};

class Scheduler {
  public:
    using SettingsSource = std::function<const TransportPolicy&(std::string_view transport)>;
    struct Limits {
        std::chrono::seconds dead_time{300};  // minimal_backoff_time
        size_t dead_list_limit = 20000;       // qmgr_message_recipient_limit
    };

    // `settings` must return a reference that stays valid (TransportPolicyCache).
    Scheduler(SettingsSource settings, Limits limits);
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    // The key of a destination: the next-hop (lower-cased), or recipient and next-hop for
    // a transport that delivers one recipient per request.
    std::string destination_key(std::string_view transport, std::string_view nexthop,
                                std::string_view recipient);

    // Queues recipients of one message for a destination. A suspended destination or
    // transport takes nothing: its reason comes back for the caller to defer with.
    std::optional<DeliveryStatus> add(std::string_view transport, std::string_view key,
                                      std::string_view nexthop, RecipientGroup group);

    // The next batch the limits allow, or nullopt. The batch counts as in flight until
    // finish_batch.
    std::optional<DeliveryBatch> next_batch();

    // Ends a batch; feedback for its destination. When the destination dies, its queued
    // recipients come back.
    std::vector<SuspendedGroups> finish_batch(uint64_t id, const BatchOutcome& outcome,
                                              SchedulerTime now);

    // The transport cannot be reached: suspended until `until`; every queued recipient
    // comes back. Batches in flight still end through finish_batch.
    std::vector<SuspendedGroups> suspend_transport(std::string_view transport,
                                                   const DeliveryStatus& status,
                                                   SchedulerTime until);

    // The F trigger: every dead destination and transport is alive again.
    void revive_all();
    // Revives what was suspended until `now` or earlier.
    void revive_due(SchedulerTime now);
    // When the next suspension ends, if any.
    std::optional<SchedulerTime> next_revival() const;

    // ---- Introspection (logs, tests) ----
    struct DestinationState {
        int window = 0;
        size_t in_flight = 0;
        size_t queued_recipients = 0;
        bool dead = false;
    };
    std::optional<DestinationState> destination(std::string_view transport,
                                                std::string_view key) const;
    size_t in_flight(std::string_view transport) const;
    size_t destination_count() const;
    size_t dead_count() const { return dead_count_; }
    bool transport_suspended(std::string_view transport) const;
    bool idle() const { return batches_.empty(); }

  private:
    struct QueuedGroup {
        MessageHandle message = 0;
        std::vector<uint32_t> recipients;
        size_t next = 0;  // recipients before this one have been handed out
    };
    struct Transport;
    struct Destination {
        Transport* transport = nullptr;
        std::string key;
        std::string nexthop;
        int window = 1;
        double success = 0;       // positive feedback not yet applied
        double failure = 0;       // negative feedback not yet applied (<= 0)
        double fail_cohorts = 0;  // failed pseudo-cohorts since the last success
        size_t in_flight = 0;
        std::deque<QueuedGroup> queue;
        bool listed = false;  // in transport->ready
        std::optional<SchedulerTime> dead_until;
        DeliveryStatus dead_status;
    };
    struct Transport {
        std::string name;
        const TransportPolicy* settings = nullptr;
        size_t in_flight = 0;
        std::unordered_map<std::string, std::unique_ptr<Destination>> destinations;
        std::deque<Destination*> ready;
        bool listed = false;  // in ready_transports_
        std::optional<SchedulerTime> dead_until;
        DeliveryStatus dead_status;
    };
    struct Revival {
        Transport* transport = nullptr;
        std::string key;  // empty: the transport itself
    };

    Transport& transport(std::string_view name);
    Destination& destination_for(Transport& transport, std::string_view key,
                                 std::string_view nexthop);
    int initial_window(const Transport& transport) const;
    bool can_send(const Transport& transport) const;
    bool can_send(const Destination& destination) const;
    void mark_ready(Destination& destination);
    void mark_ready(Transport& transport);
    Destination* pop_ready(Transport& transport);
    DeliveryBatch take_batch(Destination& destination);
    void maybe_erase(Destination& destination);
    void positive_feedback(Destination& destination);
    std::vector<SuspendedGroups> negative_feedback(Destination& destination,
                                                   const DeliveryStatus& status, SchedulerTime now);
    SuspendedGroups take_queue(Destination& destination, const DeliveryStatus& status);
    std::vector<SuspendedGroups> mark_dead(Destination& destination, const DeliveryStatus& status,
                                           SchedulerTime now);
    void revive(Destination& destination);
    void revive(Transport& transport);
    void revive_entry(const Revival& entry, SchedulerTime when);

    SettingsSource settings_;
    Limits limits_;
    std::unordered_map<std::string, std::unique_ptr<Transport>> transports_;
    std::deque<Transport*> ready_transports_;
    std::unordered_map<uint64_t, Destination*> batches_;
    std::multimap<SchedulerTime, Revival> revivals_;
    uint64_t next_batch_id_ = 1;
    size_t dead_count_ = 0;
};

}  // namespace postern
