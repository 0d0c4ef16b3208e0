// master's own environment, cleaned as Postfix's import_environment says before anything
// else runs, so that what an administrator's shell had set (LD_PRELOAD, IFS, a stray
// MAIL_CONFIG) never reaches the daemons. Daemons inherit the cleaned environment plus
// MAIL_CONFIG and their service generation (see Supervisor::child_environment).
#pragma once

#include "config/config.hpp"

namespace postern::master {

inline constexpr const char* kNotifySocketVariable = "NOTIFY_SOCKET";

// Keeps the variables import_environment names (NAME) and sets those it gives a value
// (NAME=value); everything else is removed.
void clean_environment(const Config& config);

}  // namespace postern::master
