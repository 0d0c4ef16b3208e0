#include "qmgr/qmgr_settings.hpp"

#include <algorithm>
#include <cstdlib>

#include "queue/delivery_request.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {

namespace {

Error bad_feedback(std::string_view text) {
    return Error(ErrorKind::config, "bad concurrency feedback value: \"" + std::string(text) +
                                        "\" (expected a number in 0..1, N/M or N/concurrency)");
}

Result<double> parse_number(std::string_view text) {
    std::string copy(trim(text));
    if (copy.empty())
        return Error(ErrorKind::config, "empty");
    char* end = nullptr;
    double value = std::strtod(copy.c_str(), &end);
    if (end == nullptr || *end != '\0' || !(value >= 0))
        return Error(ErrorKind::config, "not a number");
    return value;
}

std::chrono::seconds seconds_of(const Config& config, std::string_view name) {
    return std::chrono::seconds(or_fatal(config.get_time_seconds(name)));
}

void read_process_limits(const MasterCf& master_cf, QmgrSettings& settings) {
    for (const MasterCfEntry& entry : master_cf.entries) {
        if (entry.type() != ServiceType::unix_stream)
            continue;
        auto limit = entry.process_limit(static_cast<int>(settings.default_process_limit));
        if (limit)
            settings.service_process_limits[entry.service] = *limit;
    }
}

// TRANSPORT + suffix when anything defines it, else the global parameter.
int64_t transport_integer(const Config& config, std::string_view transport, std::string_view suffix,
                          std::string_view global) {
    std::string name = std::string(transport) + std::string(suffix);
    if (config.raw_value(name)) {
        if (auto value = config.get_integer(name))
            return *value;
        else
            log_warning("%s; using $%s", value.error().message().c_str(),
                        std::string(global).c_str());
    }
    return or_fatal(config.get_integer(global));
}

FeedbackRule transport_feedback(const Config& config, std::string_view transport,
                                std::string_view suffix, std::string_view global) {
    std::string name = std::string(transport) + std::string(suffix);
    if (config.raw_value(name)) {
        auto text = config.get(name);
        if (text) {
            if (auto rule = parse_feedback(*text))
                return *rule;
            else
                log_warning("%s: %s; using $%s", name.c_str(), rule.error().message().c_str(),
                            std::string(global).c_str());
        }
    }
    auto rule = parse_feedback(or_fatal(config.get(global)));
    if (!rule)
        log_fatal("%s: %s", std::string(global).c_str(), rule.error().message().c_str());
    return *rule;
}

}  // namespace

Result<FeedbackRule> parse_feedback(std::string_view text) {
    text = trim(text);
    FeedbackRule rule;
    size_t slash = text.find('/');
    auto numerator = parse_number(text.substr(0, slash));
    if (!numerator)
        return bad_feedback(text);
    rule.amount = *numerator;
    if (slash != std::string_view::npos) {
        std::string_view denominator = trim(text.substr(slash + 1));
        if (equals_ignore_case(denominator, "concurrency")) {
            rule.per_concurrency = true;
        } else {
            auto divisor = parse_number(denominator);
            if (!divisor || *divisor <= 0)
                return bad_feedback(text);
            rule.amount /= *divisor;
        }
    }
    if (rule.amount > 1)
        return bad_feedback(text);
    return rule;
}

QmgrSettings QmgrSettings::read(const Config& config, const MasterCf* master_cf) {
    QmgrSettings settings;
    settings.active_limit =
        std::max<int64_t>(or_fatal(config.get_integer("qmgr_message_active_limit")), 1);
    settings.recipient_limit =
        std::max<int64_t>(or_fatal(config.get_integer("qmgr_message_recipient_limit")), 1);
    settings.queue_run_delay =
        std::max(seconds_of(config, "queue_run_delay"), std::chrono::seconds(1));
    settings.minimal_backoff = seconds_of(config, "minimal_backoff_time");
    settings.maximal_backoff =
        std::max(seconds_of(config, "maximal_backoff_time"), settings.minimal_backoff);
    settings.maximal_queue_lifetime = seconds_of(config, "maximal_queue_lifetime");
    settings.bounce_queue_lifetime = seconds_of(config, "bounce_queue_lifetime");
    settings.transport_retry_time = seconds_of(config, "transport_retry_time");
    settings.ipc_timeout =
        std::max(seconds_of(config, "qmgr_ipc_timeout"), std::chrono::seconds(1));
    settings.requests_per_connection =
        std::max<int64_t>(or_fatal(config.get_integer("max_use")), 1);
    settings.bounce_service = or_fatal(config.get("bounce_service_name"));
    settings.defer_service = or_fatal(config.get("defer_service_name"));
    settings.trace_service = or_fatal(config.get("trace_service_name"));
    settings.defer_transports = or_fatal(config.get_list("defer_transports"));
    settings.double_bounce_sender = or_fatal(config.get("double_bounce_sender"));
    settings.hashing = or_fatal(QueueHashing::from_config(config));
    settings.external_log_addresses =
        !equals_ignore_case(trim(or_fatal(config.get("info_log_address_format"))), "internal");
    settings.delay_resolution = static_cast<int>(
        std::clamp<int64_t>(or_fatal(config.get_integer("delay_logging_resolution_limit")), 0, 6));
    settings.default_process_limit =
        std::max<int64_t>(or_fatal(config.get_integer("default_process_limit")), 0);
    if (master_cf != nullptr)
        read_process_limits(*master_cf, settings);
    return settings;
}

TransportPolicy read_transport_policy(const Config& config, const QmgrSettings& settings,
                                      std::string_view transport) {
    TransportPolicy result;
    result.name = std::string(transport);
    auto service = settings.service_process_limits.find(transport);
    result.process_limit = service != settings.service_process_limits.end()
                               ? service->second
                               : settings.default_process_limit;
    result.concurrency_limit =
        std::max<int64_t>(transport_integer(config, transport, "_destination_concurrency_limit",
                                            "default_destination_concurrency_limit"),
                          0);
    result.initial_concurrency =
        std::max<int64_t>(transport_integer(config, transport, "_initial_destination_concurrency",
                                            "initial_destination_concurrency"),
                          1);
    int64_t recipients = transport_integer(config, transport, "_destination_recipient_limit",
                                           "default_destination_recipient_limit");
    int64_t cap = static_cast<int64_t>(kMaxRecipientsPerRequest);
    result.recipient_limit = recipients <= 0 ? cap : std::min(recipients, cap);
    result.failed_cohort_limit = std::max<int64_t>(
        transport_integer(config, transport, "_destination_concurrency_failed_cohort_limit",
                          "default_destination_concurrency_failed_cohort_limit"),
        0);
    result.positive =
        transport_feedback(config, transport, "_destination_concurrency_positive_feedback",
                           "default_destination_concurrency_positive_feedback");
    result.negative =
        transport_feedback(config, transport, "_destination_concurrency_negative_feedback",
                           "default_destination_concurrency_negative_feedback");
    return result;
}

const TransportPolicy& TransportPolicyCache::get(std::string_view transport) {
    auto found = cache_.find(transport);
    if (found == cache_.end()) {
        auto settings =
            std::make_unique<TransportPolicy>(read_transport_policy(config_, settings_, transport));
        found = cache_.emplace(std::string(transport), std::move(settings)).first;
    }
    return *found->second;
}

}  // namespace postern
