// Defaults that depend on the machine: host and domain names, local networks, the
// compiled-in directories. Each is a ComputedDefault for the parameter table.
#pragma once

#include <string>

#include "config/expand.hpp"

namespace postern {

std::string compute_config_directory(const ParameterSource& settings);
std::string compute_myhostname(const ParameterSource& settings);
std::string compute_mydomain(const ParameterSource& settings);

}  // namespace postern
