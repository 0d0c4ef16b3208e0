#include "qmgr/scheduler.hpp"

#include <algorithm>

#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {

namespace {

// Feedback sums are floating point: "five times 1/5" must reach 1.
constexpr double kEpsilon = 1e-9;

}  // namespace

Scheduler::Scheduler(SettingsSource settings, Limits limits)
    : settings_(std::move(settings)), limits_(limits) {}

Scheduler::~Scheduler() = default;

std::string Scheduler::destination_key(std::string_view transport_name, std::string_view nexthop,
                                       std::string_view recipient) {
    std::string key = lowercase(nexthop);
    if (transport(transport_name).settings->recipient_limit == 1) {
        key += '\n';
        key += lowercase(recipient);
    }
    return key;
}

Scheduler::Transport& Scheduler::transport(std::string_view name) {
    auto found = transports_.find(std::string(name));
    if (found != transports_.end())
        return *found->second;
    auto created = std::make_unique<Transport>();
    created->name = std::string(name);
    created->settings = &settings_(name);
    return *transports_.emplace(created->name, std::move(created)).first->second;
}

int Scheduler::initial_window(const Transport& transport) const {
    int64_t window = transport.settings->initial_concurrency;
    if (transport.settings->concurrency_limit > 0)
        window = std::min(window, transport.settings->concurrency_limit);
    return static_cast<int>(std::max<int64_t>(window, 1));
}

Scheduler::Destination& Scheduler::destination_for(Transport& transport, std::string_view key,
                                                   std::string_view nexthop) {
    auto found = transport.destinations.find(std::string(key));
    if (found != transport.destinations.end())
        return *found->second;
    auto created = std::make_unique<Destination>();
    created->transport = &transport;
    created->key = std::string(key);
    created->nexthop = std::string(nexthop);
    created->window = initial_window(transport);
    return *transport.destinations.emplace(created->key, std::move(created)).first->second;
}

bool Scheduler::can_send(const Transport& transport) const {
    int64_t limit = transport.settings->process_limit;
    return !transport.dead_until &&
           (limit <= 0 || transport.in_flight < static_cast<size_t>(limit));
}

bool Scheduler::can_send(const Destination& destination) const {
    return !destination.dead_until && !destination.queue.empty() &&
           destination.in_flight < static_cast<size_t>(destination.window);
}

void Scheduler::mark_ready(Destination& destination) {
    if (!destination.listed && can_send(destination)) {
        destination.transport->ready.push_back(&destination);
        destination.listed = true;
    }
    mark_ready(*destination.transport);
}

void Scheduler::mark_ready(Transport& transport) {
    if (!transport.listed && can_send(transport) && !transport.ready.empty()) {
        ready_transports_.push_back(&transport);
        transport.listed = true;
    }
}

// The first destination of the transport's ready list that can still send; the others
// (stale entries) leave the list on the way.
Scheduler::Destination* Scheduler::pop_ready(Transport& transport) {
    while (!transport.ready.empty()) {
        Destination* destination = transport.ready.front();
        transport.ready.pop_front();
        destination->listed = false;
        if (can_send(*destination))
            return destination;
        maybe_erase(*destination);
    }
    return nullptr;
}

std::optional<DeliveryBatch> Scheduler::next_batch() {
    while (!ready_transports_.empty()) {
        Transport* transport = ready_transports_.front();
        ready_transports_.pop_front();
        transport->listed = false;
        if (!can_send(*transport))
            continue;
        Destination* destination = pop_ready(*transport);
        if (destination == nullptr)
            continue;
        DeliveryBatch batch = take_batch(*destination);
        mark_ready(*destination);
        return batch;
    }
    return std::nullopt;
}

// Up to recipient_limit recipients of the first waiting message; a message with more
// left goes to the back of the line.
DeliveryBatch Scheduler::take_batch(Destination& destination) {
    Transport& transport = *destination.transport;
    QueuedGroup& group = destination.queue.front();
    size_t limit = static_cast<size_t>(std::max<int64_t>(transport.settings->recipient_limit, 1));
    size_t count = std::min(limit, group.recipients.size() - group.next);
    DeliveryBatch batch;
    batch.id = next_batch_id_++;
    batch.transport = transport.name;
    batch.nexthop = destination.nexthop;
    batch.message = group.message;
    auto first = group.recipients.begin() + static_cast<ptrdiff_t>(group.next);
    batch.recipients.assign(first, first + static_cast<ptrdiff_t>(count));
    group.next += count;
    if (group.next == group.recipients.size()) {
        destination.queue.pop_front();
    } else if (destination.queue.size() > 1) {
        destination.queue.push_back(std::move(group));
        destination.queue.pop_front();
    }
    ++destination.in_flight;
    ++transport.in_flight;
    batches_.emplace(batch.id, &destination);
    return batch;
}

std::optional<DeliveryStatus> Scheduler::add(std::string_view transport_name, std::string_view key,
                                             std::string_view nexthop, RecipientGroup group) {
    if (group.recipients.empty())
        return std::nullopt;
    Transport& owner = transport(transport_name);
    if (owner.dead_until)
        return owner.dead_status;
    Destination& destination = destination_for(owner, key, nexthop);
    if (destination.dead_until)
        return destination.dead_status;
    if (!destination.queue.empty() && destination.queue.back().message == group.message &&
        destination.queue.back().next == 0) {
        auto& recipients = destination.queue.back().recipients;
        recipients.insert(recipients.end(), group.recipients.begin(), group.recipients.end());
    } else {
        destination.queue.push_back(QueuedGroup{group.message, std::move(group.recipients), 0});
    }
    mark_ready(destination);
    return std::nullopt;
}

std::vector<SuspendedGroups> Scheduler::finish_batch(uint64_t id, const BatchOutcome& outcome,
                                                     SchedulerTime now) {
    auto found = batches_.find(id);
    if (found == batches_.end())
        log_panic("scheduler: finish of unknown batch %llu", static_cast<unsigned long long>(id));
    Destination& destination = *found->second;
    batches_.erase(found);
    Transport& owner = *destination.transport;
    --destination.in_flight;
    --owner.in_flight;
    std::vector<SuspendedGroups> suspended;
    // A neutral outcome taught nothing about the destination.
    if (!outcome.neutral && outcome.destination_failure)
        suspended = negative_feedback(destination, *outcome.destination_failure, now);
    else if (!outcome.neutral)
        positive_feedback(destination);
    mark_ready(destination);
    mark_ready(owner);
    maybe_erase(destination);
    return suspended;
}

void Scheduler::positive_feedback(Destination& destination) {
    if (destination.dead_until) {
        // A delivery to a dead destination worked after all: it is alive.
        revive(destination);
        return;
    }
    const TransportPolicy& settings = *destination.transport->settings;
    int64_t limit = settings.concurrency_limit;
    if (limit <= 0 || destination.window < limit) {
        destination.success += settings.positive.value(destination.window);
        while (destination.success >= 1 - kEpsilon) {
            ++destination.window;
            destination.success -= 1;
            destination.failure = 0;
        }
        if (limit > 0)
            destination.window = static_cast<int>(std::min<int64_t>(destination.window, limit));
    }
    destination.fail_cohorts = 0;
}

std::vector<SuspendedGroups> Scheduler::negative_feedback(Destination& destination,
                                                          const DeliveryStatus& status,
                                                          SchedulerTime now) {
    if (destination.dead_until)
        return {};
    const TransportPolicy& settings = *destination.transport->settings;
    if (settings.failed_cohort_limit > 0) {
        destination.fail_cohorts += 1.0 / std::max(destination.window, 1);
        if (destination.fail_cohorts >=
            static_cast<double>(settings.failed_cohort_limit) - kEpsilon) {
            if (dead_count_ < limits_.dead_list_limit)
                return mark_dead(destination, status, now);
        }
    }
    destination.failure -= settings.negative.value(destination.window);
    while (destination.failure < -kEpsilon) {
        --destination.window;
        destination.failure += 1;
        destination.success = 0;
    }
    destination.window = std::max(destination.window, 1);
    return {};
}

// Everything still queued at a destination, with the reason to defer it with.
SuspendedGroups Scheduler::take_queue(Destination& destination, const DeliveryStatus& status) {
    SuspendedGroups taken;
    taken.transport = destination.transport->name;
    taken.nexthop = destination.nexthop;
    taken.status = status;
    for (QueuedGroup& group : destination.queue) {
        RecipientGroup left{group.message, {}};
        left.recipients.assign(group.recipients.begin() + static_cast<ptrdiff_t>(group.next),
                               group.recipients.end());
        taken.groups.push_back(std::move(left));
    }
    destination.queue.clear();
    return taken;
}

std::vector<SuspendedGroups> Scheduler::mark_dead(Destination& destination,
                                                  const DeliveryStatus& status, SchedulerTime now) {
    SchedulerTime until = now + limits_.dead_time;
    destination.dead_until = until;
    destination.dead_status = status;
    ++dead_count_;
    revivals_.emplace(until, Revival{destination.transport, destination.key});
    std::vector<SuspendedGroups> suspended;
    if (!destination.queue.empty())
        suspended.push_back(take_queue(destination, status));
    return suspended;
}

void Scheduler::revive(Destination& destination) {
    if (!destination.dead_until)
        return;
    destination.dead_until.reset();
    --dead_count_;
    destination.window = initial_window(*destination.transport);
    destination.success = destination.failure = destination.fail_cohorts = 0;
    mark_ready(destination);
}

void Scheduler::revive(Transport& transport) {
    if (!transport.dead_until)
        return;
    transport.dead_until.reset();
    mark_ready(transport);
}

std::vector<SuspendedGroups> Scheduler::suspend_transport(std::string_view name,
                                                          const DeliveryStatus& status,
                                                          SchedulerTime until) {
    Transport& owner = transport(name);
    std::vector<SuspendedGroups> suspended;
    if (owner.dead_until && *owner.dead_until >= until)
        return suspended;
    revivals_.emplace(until, Revival{&owner, {}});
    owner.dead_until = until;
    owner.dead_status = status;
    std::vector<Destination*> emptied;
    for (auto& [key, destination] : owner.destinations) {
        if (!destination->queue.empty())
            suspended.push_back(take_queue(*destination, status));
        emptied.push_back(destination.get());
    }
    for (Destination* destination : emptied)
        maybe_erase(*destination);
    return suspended;
}

// A destination without work, in-flight batches or a death sentence is forgotten (as
// Postfix frees an empty queue); one still in a ready list goes when it leaves it.
void Scheduler::maybe_erase(Destination& destination) {
    if (destination.listed || destination.in_flight > 0 || destination.dead_until ||
        !destination.queue.empty())
        return;
    destination.transport->destinations.erase(destination.key);
}

void Scheduler::revive_entry(const Revival& entry, SchedulerTime when) {
    Transport& owner = *entry.transport;
    if (entry.key.empty()) {
        if (owner.dead_until && *owner.dead_until == when)
            revive(owner);
        return;
    }
    auto found = owner.destinations.find(entry.key);
    if (found == owner.destinations.end())
        return;
    Destination& destination = *found->second;
    if (destination.dead_until && *destination.dead_until == when) {
        revive(destination);
        maybe_erase(destination);
    }
}

void Scheduler::revive_due(SchedulerTime now) {
    while (!revivals_.empty() && revivals_.begin()->first <= now) {
        auto [when, entry] = *revivals_.begin();
        revivals_.erase(revivals_.begin());
        revive_entry(entry, when);
    }
}

void Scheduler::revive_all() {
    for (auto& [name, owner] : transports_) {
        revive(*owner);
        std::vector<Destination*> dead;
        for (auto& [key, destination] : owner->destinations)
            if (destination->dead_until)
                dead.push_back(destination.get());
        for (Destination* destination : dead) {
            revive(*destination);
            maybe_erase(*destination);
        }
    }
    revivals_.clear();
}

std::optional<SchedulerTime> Scheduler::next_revival() const {
    if (revivals_.empty())
        return std::nullopt;
    return revivals_.begin()->first;
}

std::optional<Scheduler::DestinationState> Scheduler::destination(std::string_view transport_name,
                                                                  std::string_view key) const {
    auto owner = transports_.find(std::string(transport_name));
    if (owner == transports_.end())
        return std::nullopt;
    auto found = owner->second->destinations.find(std::string(key));
    if (found == owner->second->destinations.end())
        return std::nullopt;
    const Destination& destination = *found->second;
    DestinationState state;
    state.window = destination.window;
    state.in_flight = destination.in_flight;
    state.dead = destination.dead_until.has_value();
    for (const QueuedGroup& group : destination.queue)
        state.queued_recipients += group.recipients.size() - group.next;
    return state;
}

size_t Scheduler::in_flight(std::string_view transport_name) const {
    auto owner = transports_.find(std::string(transport_name));
    return owner == transports_.end() ? 0 : owner->second->in_flight;
}

size_t Scheduler::destination_count() const {
    size_t count = 0;
    for (const auto& [name, owner] : transports_)
        count += owner->destinations.size();
    return count;
}

bool Scheduler::transport_suspended(std::string_view transport_name) const {
    auto owner = transports_.find(std::string(transport_name));
    return owner != transports_.end() && owner->second->dead_until.has_value();
}

}  // namespace postern
