#include "config/parameter_table.hpp"

#include <algorithm>
#include <iterator>

#include "config/machine_defaults.hpp"

namespace postern {

namespace {

using enum ParamType;

// One row per parameter: name, Postfix 3.7 default, type, time unit, min, max,
// computed default, description. Kept sorted by name (a unit test checks).
const std::vector<ParameterInfo> kParameters = {
#include "config/parameter_table_data.inc"
};

}  // namespace

const std::vector<ParameterInfo>& parameter_table() {
    return kParameters;
}

const ParameterInfo* find_parameter(std::string_view name) {
    auto it = std::lower_bound(
        kParameters.begin(), kParameters.end(), name,
        [](const ParameterInfo& info, std::string_view wanted) { return info.name < wanted; });
    if (it == kParameters.end() || it->name != name)
        return nullptr;
    return &*it;
}

// Postfix's rule, found by experiment with postconf 3.7: a master.cf service whose command
// (its first word, exactly: "/usr/libexec/postfix/smtp" does not count) is one of the
// delivery agents smtp, lmtp, local, virtual, pipe or error gets one copy of each of the 16
// per-transport scheduler parameters, named <service>_<suffix> with the service name exactly
// as written (an inet service's "host:port" included) and defaulting to the global setting
// ($default_<suffix>, or $initial_destination_concurrency). pipe and spawn services also get
// <service>_time_limit = $command_time_limit. The service type does not matter. A name the
// static table already has keeps its static default and is not returned (a "local" service
// does not replace local_destination_concurrency_limit = 2).
std::vector<ServiceParameter> service_parameters(std::string_view service_name,
                                                 std::string_view command) {
    struct Suffix {
        std::string_view suffix;
        std::string_view default_value;
        ParamType type;
        char time_unit;
    };
    static constexpr Suffix kDeliverySuffixes[] = {
        {"_delivery_slot_cost", "$default_delivery_slot_cost", integer, 0},
        {"_delivery_slot_discount", "$default_delivery_slot_discount", integer, 0},
        {"_delivery_slot_loan", "$default_delivery_slot_loan", integer, 0},
        {"_destination_concurrency_failed_cohort_limit",
         "$default_destination_concurrency_failed_cohort_limit", integer, 0},
        {"_destination_concurrency_limit", "$default_destination_concurrency_limit", integer, 0},
        {"_destination_concurrency_negative_feedback",
         "$default_destination_concurrency_negative_feedback", string, 0},
        {"_destination_concurrency_positive_feedback",
         "$default_destination_concurrency_positive_feedback", string, 0},
        {"_destination_rate_delay", "$default_destination_rate_delay", time, 's'},
        {"_destination_recipient_limit", "$default_destination_recipient_limit", integer, 0},
        {"_extra_recipient_limit", "$default_extra_recipient_limit", integer, 0},
        {"_initial_destination_concurrency", "$initial_destination_concurrency", integer, 0},
        {"_minimum_delivery_slots", "$default_minimum_delivery_slots", integer, 0},
        {"_recipient_limit", "$default_recipient_limit", integer, 0},
        {"_recipient_refill_delay", "$default_recipient_refill_delay", time, 's'},
        {"_recipient_refill_limit", "$default_recipient_refill_limit", integer, 0},
        {"_transport_rate_delay", "$default_transport_rate_delay", time, 's'},
    };
    static constexpr Suffix kTimeLimit = {"_time_limit", "$command_time_limit", time, 's'};
    static constexpr std::string_view kDeliveryAgents[] = {"smtp",    "lmtp", "local",
                                                           "virtual", "pipe", "error"};

    std::vector<ServiceParameter> result;
    if (service_name.empty())
        return result;
    auto add = [&](const Suffix& suffix) {
        std::string name = std::string(service_name) + std::string(suffix.suffix);
        if (find_parameter(name) != nullptr)
            return;
        result.push_back(ServiceParameter{std::move(name), std::string(suffix.default_value),
                                          suffix.type, suffix.time_unit});
    };
    std::string_view program = command.substr(0, command.find_first_of(" \t"));
    if (std::find(std::begin(kDeliveryAgents), std::end(kDeliveryAgents), program) !=
        std::end(kDeliveryAgents)) {
        for (const Suffix& suffix : kDeliverySuffixes)
            add(suffix);
    }
    if (program == "pipe" || program == "spawn")
        add(kTimeLimit);
    return result;
}

}  // namespace postern
