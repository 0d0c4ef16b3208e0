#include "config/log_settings.hpp"

#include "util/strings.hpp"

namespace postern {

LogSettings log_settings_from_config(const Config& config, std::string_view program) {
    LogSettings settings;
    settings.program = std::string(program);
    if (auto name = config.get("syslog_name"); name && !name->empty()) {
        settings.syslog_name = *name;
    } else if (auto instance = config.get("multi_instance_name"); instance && !instance->empty()) {
        settings.syslog_name = *instance;
    }
    if (auto facility = config.get("syslog_facility"))
        settings.facility = std::string(trim(*facility));
    if (auto file = config.get("maillog_file"))
        settings.maillog_file = std::string(trim(*file));
    auto host = config.get("myhostname");
    settings.hostname = log_hostname(host ? std::string_view(*host) : std::string_view{});
    if (auto utf8 = config.get_boolean("smtputf8_enable"))
        settings.allow_utf8 = *utf8;
    return settings;
}

}  // namespace postern
