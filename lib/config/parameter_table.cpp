#include "config/parameter_table.hpp"

#include <algorithm>

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

std::vector<ServiceParameter> service_parameters(std::string_view service_name,
                                                 std::string_view command) {
    (void)service_name;
    (void)command;
    return {};
}

}  // namespace postern
