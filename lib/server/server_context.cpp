#include "server/server_context.hpp"

#include "config/parameter_table.hpp"

namespace postern {

namespace {

// Postfix declares these with a lower limit of 1; the table leaves them unlimited.
Result<int64_t> at_least_one(std::string_view name, Result<int64_t> value) {
    if (value && *value < 1)
        return Error(ErrorKind::config, "invalid " + std::string(name) + " parameter value " +
                                            std::to_string(*value) + " < 1");
    return value;
}

Result<std::chrono::seconds> positive_time(const Config& config, std::string_view name) {
    auto seconds = at_least_one(name, config.get_time_seconds(name));
    if (!seconds)
        return seconds.error();
    return std::chrono::seconds(*seconds);
}

Result<std::string> nonempty(const Config& config, std::string_view name) {
    auto value = config.get(name);
    if (value && value->empty())
        return Error(ErrorKind::config, "parameter " + std::string(name) + " has no value");
    return value;
}

}  // namespace

Result<ServerSettings> read_server_settings(const Config& config) {
    ServerSettings settings;
    auto max_use = at_least_one("max_use", config.get_integer("max_use"));
    if (!max_use)
        return max_use.error();
    settings.max_use = *max_use;
    for (auto [name, field] : {std::pair{"max_idle", &settings.max_idle},
                               std::pair{"ipc_timeout", &settings.ipc_timeout},
                               std::pair{"daemon_timeout", &settings.daemon_timeout}}) {
        auto seconds = positive_time(config, name);
        if (!seconds)
            return seconds.error();
        *field = *seconds;
    }
    for (auto [name, field] : {std::pair{"queue_directory", &settings.queue_directory},
                               std::pair{"mail_owner", &settings.mail_owner},
                               std::pair{"setgid_group", &settings.setgid_group}}) {
        auto value = nonempty(config, name);
        if (!value)
            return value.error();
        *field = std::move(*value);
    }
    return settings;
}

Result<Config> load_server_config(const std::string& config_directory,
                                  const ServerOptions& options) {
    auto loaded = Config::load(config_directory);
    if (!loaded)
        return loaded.error();
    Config config = std::move(*loaded);
    config.add_service_parameters(service_parameters(options.service_name, options.program));
    for (const MasterCfParameter& parameter : options.overrides)
        config.set_override(parameter.name, parameter.value);
    config.set_override("config_directory", config_directory);
    config.set_override("service_name", options.service_name);
    return config;
}

}  // namespace postern
