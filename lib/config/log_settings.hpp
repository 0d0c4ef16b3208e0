// How a program's logger is configured from main.cf: the bridge between lib/config and
// lib/util/log, which knows nothing of parameters.
#pragma once

#include <string_view>

#include "config/config.hpp"
#include "util/log.hpp"

namespace postern {

// Reads syslog_name, syslog_facility, maillog_file, myhostname and smtputf8_enable from
// `config`. A parameter that is missing or fails to expand takes Postfix's default
// (syslog_name: $multi_instance_name when set, else "postfix"; facility "mail"; no file).
LogSettings log_settings_from_config(const Config& config, std::string_view program);

}  // namespace postern
