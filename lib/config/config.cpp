#include "config/config.hpp"

#include <algorithm>
#include <cstdlib>

#include "build_config.hpp"
#include "util/strings.hpp"

namespace postern {

std::string Config::default_config_directory() {
    const char* from_environment = std::getenv("MAIL_CONFIG");
    if (from_environment != nullptr && *from_environment != '\0')
        return from_environment;
    return POSTERN_CONFIG_DIRECTORY;
}

Result<Config> Config::load(const std::string& config_directory) {
    Config config;
    auto parsed = read_main_cf(config_directory + "/main.cf");
    if (!parsed)
        return parsed.error();
    config.main_cf_ = std::move(*parsed);
    for (const MainCfEntry& entry : config.main_cf_.entries)
        config.main_cf_values_[entry.name] = entry.value;
    return config;
}

Config Config::defaults_only() {
    return Config();
}

std::string Config::main_cf_path() const {
    return main_cf_.path;
}

void Config::set_override(std::string name, std::string value) {
    overrides_[std::move(name)] = std::move(value);
    // A computed default may depend on what just changed (mydomain on myhostname).
    computed_defaults_.clear();
}

void Config::add_service_parameters(const std::vector<ServiceParameter>& parameters) {
    for (const ServiceParameter& parameter : parameters)
        service_parameters_.emplace(parameter.name, parameter);
}

std::optional<std::string_view> Config::explicit_value(std::string_view name) const {
    if (auto it = overrides_.find(name); it != overrides_.end())
        return it->second;
    if (auto it = main_cf_values_.find(name); it != main_cf_values_.end())
        return it->second;
    return std::nullopt;
}

std::optional<std::string_view> Config::default_value(std::string_view name) const {
    if (const ParameterInfo* info = find_parameter(name)) {
        if (info->computed == nullptr)
            return info->default_value;
        auto cached = computed_defaults_.find(name);
        if (cached == computed_defaults_.end())
            cached = computed_defaults_.emplace(std::string(name), info->computed(*this)).first;
        return cached->second;
    }
    if (auto it = service_parameters_.find(name); it != service_parameters_.end())
        return it->second.default_value;
    return std::nullopt;
}

std::optional<std::string_view> Config::raw_value(std::string_view name) const {
    if (auto value = explicit_value(name))
        return value;
    return default_value(name);
}

bool Config::is_known(std::string_view name) const {
    return find_parameter(name) != nullptr || service_parameters_.count(name) != 0;
}

std::vector<std::string> Config::known_names() const {
    std::vector<std::string> names;
    for (const ParameterInfo& info : parameter_table())
        names.emplace_back(info.name);
    for (const auto& [name, parameter] : service_parameters_)
        if (find_parameter(name) == nullptr)
            names.push_back(name);
    std::sort(names.begin(), names.end());
    return names;
}

Result<std::string> Config::get(std::string_view name) const {
    auto raw = raw_value(name);
    if (!raw)
        return Error(ErrorKind::config, "unknown parameter: " + std::string(name));
    if (const ParameterInfo* info = find_parameter(name); info != nullptr && info->raw)
        return std::string(*raw);
    return expand_value(*raw, *this);
}

static Error bad_value(std::string_view kind, std::string_view name, std::string_view value) {
    return Error(ErrorKind::config,
                 std::string(kind) + ": " + std::string(name) + " = " + std::string(value));
}

Result<bool> Config::get_boolean(std::string_view name) const {
    auto text = get(name);
    if (!text)
        return text.error();
    auto value = parse_boolean(trim(*text));
    if (!value)
        return bad_value("bad boolean configuration", name, *text);
    return *value;
}

Result<int64_t> Config::checked_number(std::string_view name, int64_t value) const {
    const ParameterInfo* info = find_parameter(name);
    if (info == nullptr || (info->min_value == 0 && info->max_value == 0))
        return value;
    if (value < info->min_value)
        return Error(ErrorKind::config, "invalid " + std::string(name) + " parameter value " +
                                            std::to_string(value) + " < " +
                                            std::to_string(info->min_value));
    if (info->max_value != 0 && value > info->max_value)
        return Error(ErrorKind::config, "invalid " + std::string(name) + " parameter value " +
                                            std::to_string(value) + " > " +
                                            std::to_string(info->max_value));
    return value;
}

Result<int64_t> Config::get_integer(std::string_view name) const {
    auto text = get(name);
    if (!text)
        return text.error();
    auto value = parse_integer(trim(*text));
    if (!value)
        return bad_value("bad numerical configuration", name, *text);
    return checked_number(name, *value);
}

Result<int64_t> Config::get_time_seconds(std::string_view name) const {
    auto text = get(name);
    if (!text)
        return text.error();
    const ParameterInfo* info = find_parameter(name);
    char unit = info != nullptr && info->time_unit != 0 ? info->time_unit : 's';
    auto value = parse_time(trim(*text), unit);
    if (!value)
        return bad_value("invalid time configuration", name, *text);
    return checked_number(name, *value);
}

Result<std::vector<std::string>> Config::get_list(std::string_view name) const {
    auto text = get(name);
    if (!text)
        return text.error();
    std::vector<std::string> items;
    for (std::string_view item : split_list(*text))
        items.emplace_back(item);
    return items;
}

}  // namespace postern
