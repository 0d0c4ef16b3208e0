// The queue manager's scheduler (qmgr/scheduler.hpp) and its settings
// (qmgr/qmgr_settings.hpp), driven with invented times: concurrency windows and their
// feedback, process and recipient limits, dead destinations and transports, fairness.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "qmgr/qmgr_settings.hpp"
#include "qmgr/scheduler.hpp"
#include "queue/delivery_request.hpp"

using namespace postern;
using std::chrono::seconds;

namespace {

struct Fixture {
    std::map<std::string, TransportPolicy, std::less<>> transports;
    SchedulerTime now = SchedulerTime{} + std::chrono::hours(1000);
    Scheduler scheduler{[this](std::string_view name) -> const TransportPolicy& {
                            auto found = transports.find(name);
                            if (found == transports.end())
                                found = transports.emplace(std::string(name), defaults(name)).first;
                            return found->second;
                        },
                        Scheduler::Limits{seconds(300), 20000}};

    static TransportPolicy defaults(std::string_view name) {
        TransportPolicy settings;
        settings.name = std::string(name);
        return settings;
    }
    TransportPolicy& transport(const std::string& name) {
        return transports.emplace(name, defaults(name)).first->second;
    }
    void add(const std::string& transport, const std::string& nexthop, MessageHandle message,
             std::vector<uint32_t> recipients) {
        auto refused = scheduler.add(transport, nexthop, nexthop,
                                     RecipientGroup{message, std::move(recipients)});
        REQUIRE_FALSE(refused);
    }
    std::vector<DeliveryBatch> drain() {
        std::vector<DeliveryBatch> batches;
        while (auto batch = scheduler.next_batch())
            batches.push_back(std::move(*batch));
        return batches;
    }
    std::vector<SuspendedGroups> succeed(const DeliveryBatch& batch) {
        return scheduler.finish_batch(batch.id, BatchOutcome{}, now);
    }
    std::vector<SuspendedGroups> fail(const DeliveryBatch& batch) {
        return scheduler.finish_batch(
            batch.id, BatchOutcome{make_delivery_status("4.4.1", "connection refused")}, now);
    }
    int window(const std::string& transport, const std::string& key) {
        auto state = scheduler.destination(transport, key);
        REQUIRE(state);
        return state->window;
    }
};

std::vector<uint32_t> range(uint32_t count) {
    std::vector<uint32_t> indices;
    for (uint32_t i = 0; i < count; ++i)
        indices.push_back(i);
    return indices;
}

}  // namespace

TEST_CASE("feedback values parse as constants, fractions and per-concurrency ratios", "[qmgr]") {
    auto one = parse_feedback("1");
    REQUIRE(one);
    CHECK(one->value(5) == 1.0);
    auto quarter = parse_feedback(" 1/4 ");
    REQUIRE(quarter);
    CHECK(quarter->value(7) == 0.25);
    auto ratio = parse_feedback("1/concurrency");
    REQUIRE(ratio);
    CHECK(ratio->value(4) == 0.25);
    CHECK(ratio->value(0) == 1.0);
    for (const char* bad : {"", "x", "2", "1/0", "-1", "1/x", "0.5/concurrencyy"})
        CHECK_FALSE(parse_feedback(bad));
}

TEST_CASE("transport settings come from TRANSPORT_ parameters, else the defaults", "[qmgr]") {
    Config config = Config::defaults_only();
    config.set_override("fast_destination_concurrency_limit", "7");
    config.set_override("fast_destination_recipient_limit", "0");
    config.set_override("slow_destination_recipient_limit", "bogus");
    config.set_override("fast_destination_concurrency_positive_feedback", "1/concurrency");
    MasterCf master_cf;
    auto parsed = parse_master_cf(
        "fast unix - - n - 3 test-agent\n"
        "slow unix - - n - - test-agent\n"
        "open unix - - n - 0 test-agent\n",
        "master.cf");
    REQUIRE(parsed);
    QmgrSettings settings = QmgrSettings::read(config, &*parsed);
    TransportPolicy fast = read_transport_policy(config, settings, "fast");
    CHECK(fast.process_limit == 3);
    CHECK(fast.concurrency_limit == 7);
    CHECK(fast.recipient_limit == static_cast<int64_t>(kMaxRecipientsPerRequest));
    CHECK(fast.positive.per_concurrency);
    TransportPolicy slow = read_transport_policy(config, settings, "slow");
    CHECK(slow.process_limit == 100);
    CHECK(slow.recipient_limit == 50);  // the bad value falls back to the default
    CHECK(slow.concurrency_limit == 20);
    CHECK(read_transport_policy(config, settings, "open").process_limit == 0);
    TransportPolicy local = read_transport_policy(config, settings, "local");
    CHECK(local.concurrency_limit == 2);
    CHECK(local.recipient_limit == 1);
    CHECK(read_transport_policy(config, settings, "unknown").process_limit == 100);
}

TEST_CASE("a destination starts at the initial concurrency and grows on success", "[qmgr]") {
    Fixture f;
    f.add("smtp", "example.com", 1, {0});
    for (MessageHandle m = 2; m <= 200; ++m)
        f.add("smtp", "example.com", m, {0});
    auto first = f.drain();
    REQUIRE(first.size() == 5);  // initial_destination_concurrency
    CHECK(f.window("smtp", "example.com") == 5);
    f.succeed(first[0]);
    CHECK(f.window("smtp", "example.com") == 6);
    auto more = f.drain();
    CHECK(more.size() == 2);  // one slot freed, one added by the feedback
    // Growth stops at the concurrency limit (20).
    std::vector<DeliveryBatch> running(first.begin() + 1, first.end());
    running.insert(running.end(), more.begin(), more.end());
    for (int round = 0; round < 40 && !running.empty(); ++round) {
        DeliveryBatch batch = running.back();
        running.pop_back();
        f.succeed(batch);
        for (auto& next : f.drain())
            running.push_back(next);
        CHECK(f.scheduler.in_flight("smtp") <= 20);
    }
    CHECK(f.window("smtp", "example.com") == 20);
}

TEST_CASE("fractional feedback moves the window only when it adds up to one", "[qmgr]") {
    Fixture f;
    f.transport("smtp").positive = *parse_feedback("1/concurrency");
    for (MessageHandle m = 1; m <= 20; ++m)
        f.add("smtp", "example.com", m, {0});
    auto batches = f.drain();
    REQUIRE(batches.size() == 5);
    for (int i = 0; i < 4; ++i)
        f.succeed(batches[i]);
    CHECK(f.window("smtp", "example.com") == 5);  // 4/5 so far
    f.succeed(batches[4]);
    CHECK(f.window("smtp", "example.com") == 6);
}

TEST_CASE("negative feedback shrinks the window but never below one", "[qmgr]") {
    Fixture f;
    f.transport("smtp").failed_cohort_limit = 0;  // never dead: only the window changes
    for (MessageHandle m = 1; m <= 20; ++m)
        f.add("smtp", "example.com", m, {0});
    auto batches = f.drain();
    REQUIRE(batches.size() == 5);
    for (auto& batch : batches)
        CHECK(f.fail(batch).empty());
    CHECK(f.window("smtp", "example.com") == 1);
    auto next = f.drain();
    CHECK(next.size() == 1);
    f.succeed(next[0]);
    CHECK(f.window("smtp", "example.com") == 2);
}

TEST_CASE("a destination dies after a failed pseudo-cohort and comes back", "[qmgr]") {
    Fixture f;
    for (MessageHandle m = 1; m <= 10; ++m)
        f.add("smtp", "dead.example", m, {0, 1});
    f.add("smtp", "alive.example", 100, {0});
    auto batches = f.drain();
    REQUIRE(batches.size() == 6);  // 5 to dead.example, 1 to alive.example
    std::vector<SuspendedGroups> suspended;
    size_t failures = 0;
    for (auto& batch : batches) {
        if (batch.nexthop != "dead.example")
            continue;
        ++failures;
        suspended = f.fail(batch);
        if (!suspended.empty())
            break;
    }
    // Windows 5, 4, 3, 2: 1/5 + 1/4 + 1/3 + 1/2 >= 1 failed cohort.
    CHECK(failures == 4);
    REQUIRE(suspended.size() == 1);
    CHECK(suspended[0].nexthop == "dead.example");
    CHECK(suspended[0].status.reason == "connection refused");
    size_t recipients = 0;
    for (auto& group : suspended[0].groups)
        recipients += group.recipients.size();
    CHECK(recipients == 10);  // the 5 messages never sent, 2 recipients each
    auto state = f.scheduler.destination("smtp", "dead.example");
    REQUIRE(state);
    CHECK(state->dead);
    // New mail is refused with the reason; other destinations go on.
    auto refused = f.scheduler.add("smtp", "dead.example", "dead.example", RecipientGroup{50, {0}});
    REQUIRE(refused);
    CHECK(refused->status == "4.4.1");
    CHECK(f.scheduler.add("smtp", "other.example", "other.example", RecipientGroup{51, {0}}) ==
          std::nullopt);
    // Revived after minimal_backoff_time.
    REQUIRE(f.scheduler.next_revival());
    CHECK(*f.scheduler.next_revival() == f.now + seconds(300));
    f.scheduler.revive_due(f.now + seconds(299));
    CHECK(f.scheduler.destination("smtp", "dead.example")->dead);
    f.scheduler.revive_due(f.now + seconds(300));
    state = f.scheduler.destination("smtp", "dead.example");
    REQUIRE(state);  // still has a batch in flight
    CHECK_FALSE(state->dead);
    CHECK(state->window == 5);
}

TEST_CASE("a success after death revives the destination at once", "[qmgr]") {
    Fixture f;
    f.transport("smtp").initial_concurrency = 2;
    for (MessageHandle m = 1; m <= 4; ++m)
        f.add("smtp", "flaky.example", m, {0});
    auto batches = f.drain();
    REQUIRE(batches.size() == 2);
    f.fail(batches[0]);                // 1/2 cohort, window 1
    auto second = f.fail(batches[1]);  // + 1/1: dead
    // batches[1] was the last in flight: a new batch can only come after a revival.
    REQUIRE(second.size() == 1);
    CHECK(f.scheduler.destination("smtp", "flaky.example")->dead);
    f.scheduler.revive_all();
    CHECK_FALSE(f.scheduler.destination("smtp", "flaky.example"));  // empty: forgotten
}

TEST_CASE("failed_cohort_limit 0 never marks a destination dead", "[qmgr]") {
    Fixture f;
    f.transport("smtp").failed_cohort_limit = 0;
    f.transport("smtp").initial_concurrency = 1;
    for (MessageHandle m = 1; m <= 5; ++m)
        f.add("smtp", "x.example", m, {0});
    for (int i = 0; i < 5; ++i) {
        auto batches = f.drain();
        REQUIRE(batches.size() == 1);
        CHECK(f.fail(batches[0]).empty());
    }
    CHECK(f.scheduler.dead_count() == 0);
}

TEST_CASE("the process limit caps a transport across destinations", "[qmgr]") {
    Fixture f;
    f.transport("relay").process_limit = 3;
    for (MessageHandle m = 1; m <= 10; ++m)
        f.add("relay", "d" + std::to_string(m) + ".example", m, {0});
    auto batches = f.drain();
    CHECK(batches.size() == 3);
    f.succeed(batches[0]);
    CHECK(f.drain().size() == 1);
    CHECK(f.scheduler.in_flight("relay") == 3);
}

TEST_CASE("recipient limits split a message into batches", "[qmgr]") {
    Fixture f;
    f.transport("smtp").recipient_limit = 50;
    f.add("smtp", "example.com", 1, range(120));
    auto batches = f.drain();
    REQUIRE(batches.size() == 3);
    CHECK(batches[0].recipients.size() == 50);
    CHECK(batches[1].recipients.size() == 50);
    CHECK(batches[2].recipients.size() == 20);
    std::set<uint32_t> seen;
    for (auto& batch : batches)
        seen.insert(batch.recipients.begin(), batch.recipients.end());
    CHECK(seen.size() == 120);
}

TEST_CASE("a transport with recipient limit 1 has a destination per recipient", "[qmgr]") {
    Fixture f;
    TransportPolicy& local = f.transport("local");
    local.recipient_limit = 1;
    local.concurrency_limit = 2;
    CHECK(f.scheduler.destination_key("local", "Example.COM", "User@Example.com") ==
          "example.com\nuser@example.com");
    CHECK(f.scheduler.destination_key("smtp", "Example.COM", "User@Example.com") == "example.com");
    for (MessageHandle m = 1; m <= 5; ++m) {
        REQUIRE_FALSE(
            f.scheduler.add("local", "example.com\na", "example.com", RecipientGroup{m, {0}}));
        REQUIRE_FALSE(
            f.scheduler.add("local", "example.com\nb", "example.com", RecipientGroup{m, {1}}));
    }
    auto batches = f.drain();
    CHECK(batches.size() == 4);  // two per recipient: min(initial 5, limit 2)
    for (auto& batch : batches)
        CHECK(batch.nexthop == "example.com");
}

TEST_CASE("a huge message shares its destination with small ones", "[qmgr]") {
    Fixture f;
    TransportPolicy& local = f.transport("local");
    local.recipient_limit = 10;
    local.initial_concurrency = 1;
    local.concurrency_limit = 1;
    f.add("local", "here", 1, range(10000));  // 1,000 batches
    for (MessageHandle m = 2; m <= 4; ++m)
        f.add("local", "here", m, {0});
    std::vector<MessageHandle> order;
    for (int i = 0; i < 8; ++i) {
        auto batches = f.drain();
        REQUIRE(batches.size() == 1);
        order.push_back(batches[0].message);
        f.succeed(batches[0]);
    }
    // The small messages get their turns among the huge one's first batches.
    std::vector<MessageHandle> expected = {1, 2, 3, 4, 1, 1, 1, 1};
    CHECK(order == expected);
}

TEST_CASE("destinations of a transport and transports are served in turn", "[qmgr]") {
    Fixture f;
    f.transport("smtp").process_limit = 1;
    f.transport("local").process_limit = 1;
    for (MessageHandle m = 1; m <= 3; ++m) {
        f.add("smtp", "a.example", m, {0});
        f.add("smtp", "b.example", m, {1});
        f.add("local", "here", m, {2});
    }
    std::vector<std::string> order;
    for (int i = 0; i < 6; ++i) {
        auto batches = f.drain();
        REQUIRE(!batches.empty());
        for (auto& batch : batches) {
            order.push_back(batch.transport + ":" + batch.nexthop);
            f.succeed(batch);
        }
    }
    // smtp alternates between its two destinations.
    std::vector<std::string> smtp;
    for (auto& item : order)
        if (item.rfind("smtp:", 0) == 0)
            smtp.push_back(item);
    REQUIRE(smtp.size() >= 4);
    CHECK(smtp[0] != smtp[1]);
    CHECK(smtp[1] != smtp[2]);
}

TEST_CASE("a suspended transport gives its work back and refuses more until retried", "[qmgr]") {
    Fixture f;
    f.transport("bogus").process_limit = 1;
    f.add("bogus", "a.example", 1, {0, 1});
    f.add("bogus", "b.example", 2, {0});
    auto batches = f.drain();
    REQUIRE(batches.size() == 1);
    auto suspended = f.scheduler.suspend_transport(
        "bogus", make_delivery_status("4.3.0", "mail transport unavailable"), f.now + seconds(60));
    size_t recipients = 0;
    for (auto& destination : suspended)
        for (auto& group : destination.groups)
            recipients += group.recipients.size();
    CHECK(recipients == 3 - batches[0].recipients.size());
    CHECK(f.scheduler.transport_suspended("bogus"));
    CHECK(f.scheduler.add("bogus", "c.example", "c.example", RecipientGroup{3, {0}}));
    f.scheduler.finish_batch(batches[0].id, BatchOutcome{}, f.now);
    CHECK(f.drain().empty());
    f.scheduler.revive_due(f.now + seconds(60));
    CHECK_FALSE(f.scheduler.transport_suspended("bogus"));
    f.add("bogus", "c.example", 3, {0});
    CHECK(f.drain().size() == 1);
}

TEST_CASE("revive_all forgets every dead destination and transport", "[qmgr]") {
    Fixture f;
    f.transport("smtp").initial_concurrency = 1;
    f.add("smtp", "x.example", 1, {0});
    f.add("smtp", "x.example", 2, {0});
    auto batches = f.drain();
    REQUIRE(batches.size() == 1);
    CHECK(f.fail(batches[0]).size() == 1);
    f.scheduler.suspend_transport("relay", make_delivery_status("4.3.0", "x"), f.now + seconds(60));
    CHECK(f.scheduler.dead_count() == 1);
    f.scheduler.revive_all();
    CHECK(f.scheduler.dead_count() == 0);
    CHECK_FALSE(f.scheduler.transport_suspended("relay"));
    CHECK_FALSE(f.scheduler.next_revival());
    f.add("smtp", "x.example", 3, {0});
    CHECK(f.drain().size() == 1);
}

TEST_CASE("idle destinations are forgotten, so memory follows the active queue", "[qmgr]") {
    Fixture f;
    for (MessageHandle m = 1; m <= 1000; ++m)
        f.add("smtp", "d" + std::to_string(m), m, {0});
    CHECK(f.scheduler.destination_count() == 1000);
    for (int round = 0; round < 20; ++round)
        for (auto& batch : f.drain())
            f.succeed(batch);
    CHECK(f.scheduler.destination_count() == 0);
    CHECK(f.scheduler.idle());
}
