// Loading the configuration postconf shows: main.cf, -c and -o on top.
#include "config/main_cf.hpp"
#include "tools/postconf/postconf.hpp"

namespace postern::postconf {

Config load_configuration(const PostconfOptions& options) {
    auto loaded = Config::load(options.config_directory);
    if (!loaded) {
        // postconf -d needs no main.cf: defaults are compiled in.
        if (!(options.show_defaults && loaded.error().kind() == ErrorKind::not_found))
            fatal(loaded.error().message());
        loaded = Config::defaults_only();
    }
    Config config = std::move(*loaded);
    for (const std::string& warning : config.main_cf().warnings)
        warn(warning);
    if (options.config_directory_given)
        config.set_override("config_directory", options.config_directory);
    for (const std::string& assignment : options.overrides) {
        auto entry = parse_assignment(assignment);
        if (!entry)
            fatal(entry.error().message());
        config.set_override(entry->name, entry->value);
    }
    return config;
}

}  // namespace postern::postconf
