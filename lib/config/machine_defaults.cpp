#include "config/machine_defaults.hpp"

#include <unistd.h>

#include "build_config.hpp"

namespace postern {

std::string compute_config_directory(const ParameterSource&) {
    return POSTERN_CONFIG_DIRECTORY;
}

// Postfix: the host name from gethostname(); a name without a dot gets ".localdomain".
std::string compute_myhostname(const ParameterSource&) {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0')
        return "localhost.localdomain";
    std::string host(name);
    if (host.find('.') == std::string::npos)
        host += ".localdomain";
    return host;
}

// Postfix: $myhostname without its first label, or "localdomain" when that leaves nothing.
std::string compute_mydomain(const ParameterSource& settings) {
    auto hostname_value = settings.raw_value("myhostname");
    std::string host;
    if (hostname_value) {
        auto expanded = expand_value(*hostname_value, settings);
        if (expanded)
            host = *expanded;
    }
    size_t dot = host.find('.');
    if (dot == std::string::npos || dot + 1 >= host.size())
        return "localdomain";
    return host.substr(dot + 1);
}

}  // namespace postern
