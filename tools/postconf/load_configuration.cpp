// Loading the configuration postconf shows: main.cf, -c and -o on top, and master.cf for
// the per-service parameters its services bring.
#include "config/main_cf.hpp"
#include "config/master_cf.hpp"
#include "config/parameter_table.hpp"
#include "tools/postconf/postconf.hpp"

namespace postern::postconf {
namespace {

Config load_main_cf(const PostconfOptions& options) {
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

}  // namespace

MasterCf load_master_cf(const PostconfOptions& options, Config& config, bool required) {
    std::string path = options.config_directory + "/master.cf";
    auto parsed = read_master_cf(path);
    if (!parsed) {
        if (required || parsed.error().kind() != ErrorKind::not_found)
            fatal(parsed.error().message());
        warn(parsed.error().message());
        MasterCf empty;
        empty.path = path;
        return empty;
    }
    for (const std::string& warning : parsed->warnings)
        warn(warning);
    for (const MasterCfEntry& entry : parsed->entries)
        config.add_service_parameters(service_parameters(entry.service, entry.program()));
    return std::move(*parsed);
}

Config load_configuration(const PostconfOptions& options) {
    Config config = load_main_cf(options);
    warn_about_parameter_usage(options, config, load_master_cf(options, config, false));
    return config;
}

Config load_configuration(const PostconfOptions& options, MasterCf& master_cf) {
    Config config = load_main_cf(options);
    master_cf = load_master_cf(options, config, true);
    warn_about_parameter_usage(options, config, master_cf);
    return config;
}

}  // namespace postern::postconf
