// postconf's "undefined parameter" and "unused parameter" warnings, as Postfix prints them.
// The rules live in lib/config/parameter_usage (shared with `postfix check`); this file
// only chooses which warnings a mode shows and prints them.
#include "config/parameter_usage.hpp"
#include "tools/postconf/postconf.hpp"

namespace postern::postconf {

void warn_about_parameter_usage(const PostconfOptions& options, const Config& config,
                                const MasterCf& master_cf) {
    if (options.show_defaults)
        return;
    bool master_mode = options.master_entries || options.master_fields || options.master_parameters;
    ParameterUsageOptions usage_options;
    usage_options.report_main_cf_unused = !master_mode;
    for (const ParameterUsageWarning& warning :
         check_parameter_usage(config, master_cf, usage_options))
        warn(warning.text());
}

}  // namespace postern::postconf
