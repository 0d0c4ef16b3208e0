// qmgr's settings: the main.cf parameters the queue manager obeys, read once at start-up,
// and the per-transport scheduler settings (TRANSPORT_destination_concurrency_limit...),
// read the first time qmgr meets a transport.
//
// Where it sits: qmgr/, between lib/config (main.cf, master.cf) and the scheduler. Nothing
// here is untrusted: main.cf and master.cf are the administrator's. A malformed
// per-transport value is a warning and the global default is used instead, so that one
// typo does not stop every delivery; a malformed global value is fatal at start-up.
//
// The process limit of a transport is its master.cf service's maxproc (`-` is
// default_process_limit, 0 no limit), as master enforces it: qmgr never holds more
// connections to a transport than it has agent processes, since each connection keeps one
// single-client agent busy.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/master_cf.hpp"
#include "queue/queue_id.hpp"
#include "util/result.hpp"

namespace postern {

// A concurrency feedback amount: a constant ("1", "0.5", "1/4") or a ratio with the
// destination's concurrency as denominator ("1/concurrency"), in the range 0..1.
struct FeedbackRule {
    double amount = 1;
    bool per_concurrency = false;  // divide by the current concurrency window

    double value(int window) const {
        return per_concurrency ? amount / (window > 0 ? window : 1) : amount;
    }
};

Result<FeedbackRule> parse_feedback(std::string_view text);

// The scheduler's view of one transport (a master.cf service that delivers mail).
struct TransportPolicy {
    std::string name;
    int64_t process_limit = 100;     // deliveries in flight for the transport; 0: no limit
    int64_t concurrency_limit = 20;  // per destination; 0: no limit
    int64_t initial_concurrency = 5;
    int64_t recipient_limit = 50;     // recipients per request, 1..kMaxRecipientsPerRequest
    int64_t failed_cohort_limit = 1;  // failed pseudo-cohorts before a destination is dead
    FeedbackRule positive;
    FeedbackRule negative;
};

struct QmgrSettings {
    int64_t active_limit = 20000;     // qmgr_message_active_limit
    int64_t recipient_limit = 20000;  // qmgr_message_recipient_limit (also the dead list)
    std::chrono::seconds queue_run_delay{300};
    std::chrono::seconds minimal_backoff{300};
    std::chrono::seconds maximal_backoff{4000};
    std::chrono::seconds maximal_queue_lifetime{5 * 86400};
    std::chrono::seconds bounce_queue_lifetime{5 * 86400};
    std::chrono::seconds transport_retry_time{60};
    std::chrono::seconds ipc_timeout{60};  // qmgr_ipc_timeout: connecting and writing
    // Requests one agent connection carries before qmgr closes it (the agents' max_use):
    // agent processes still turn over, and pick up a new configuration after a reload.
    int64_t requests_per_connection = 100;
    std::string bounce_service = "bounce";
    std::string defer_service = "defer";
    std::string trace_service = "trace";
    std::vector<std::string> defer_transports;
    std::string double_bounce_sender = "double-bounce";
    QueueHashing hashing;
    bool external_log_addresses = true;  // info_log_address_format = external
    int delay_resolution = 2;            // delay_logging_resolution_limit
    int64_t default_process_limit = 100;
    // maxproc of each unix service in master.cf (its process limit as a transport).
    std::map<std::string, int64_t, std::less<>> service_process_limits;

    // `master_cf` may be null (not readable): every transport then gets
    // default_process_limit. A malformed value is fatal (start-up only).
    static QmgrSettings read(const Config& config, const MasterCf* master_cf);
};

// The settings of one transport, from TRANSPORT_suffix parameters when main.cf (or the
// parameter table, or a master.cf service) defines them, else the default_* parameters.
TransportPolicy read_transport_policy(const Config& config, const QmgrSettings& settings,
                                      std::string_view transport);

// Transport settings, read once per transport and kept for the life of the process.
class TransportPolicyCache {
  public:
    TransportPolicyCache(const Config& config, const QmgrSettings& settings)
        : config_(config), settings_(settings) {}
    const TransportPolicy& get(std::string_view transport);

  private:
    const Config& config_;
    const QmgrSettings& settings_;
    std::map<std::string, std::unique_ptr<TransportPolicy>, std::less<>> cache_;
};

}  // namespace postern
