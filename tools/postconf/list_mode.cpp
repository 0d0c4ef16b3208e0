// postconf -m, -a and -A: the lookup table types and SASL implementations Postern offers,
// one per line, from the lists in lib/maps and lib/sasl.
#include <iostream>
#include <string>
#include <vector>

#include "maps/map.hpp"
#include "sasl/sasl_types.hpp"
#include "tools/postconf/postconf.hpp"

namespace postern::postconf {
namespace {

struct Flag {
    char letter;
    bool set;
};

std::string flag_names(const std::vector<Flag>& flags) {
    std::string names;
    for (const Flag& flag : flags)
        if (flag.set)
            names += std::string(names.empty() ? "-" : " -") + flag.letter;
    return names;
}

// Postfix's checks: one list mode at a time, and no option that only shapes parameter
// output. Flags are named in Postfix's order.
void check_options(const PostconfOptions& options) {
    std::vector<Flag> modes = {{'a', options.server_sasl_types}, {'A', options.client_sasl_types},
                               {'F', options.master_fields},     {'m', options.map_types},
                               {'M', options.master_entries},    {'P', options.master_parameters}};
    int count = 0;
    for (const Flag& flag : modes)
        count += flag.set ? 1 : 0;
    if (count > 1)
        fatal("specify one of " + flag_names(modes));
    char mode = options.server_sasl_types ? 'a' : options.client_sasl_types ? 'A' : 'm';
    std::string extra = flag_names({{'d', options.show_defaults},
                                    {'f', options.fold},
                                    {'h', options.hide_names},
                                    {'H', options.hide_values},
                                    {'n', options.show_non_default},
                                    {'o', !options.overrides.empty()},
                                    {'x', options.expand}});
    if (!extra.empty())
        fatal(std::string("with option -") + mode + ", do not specify " + extra);
}

void print_all(const std::vector<std::string_view>& names) {
    for (std::string_view name : names)
        std::cout << name << '\n';
}

}  // namespace

int run_list_mode(const PostconfOptions& options) {
    check_options(options);
    if (options.server_sasl_types) {
        print_all(server_sasl_types());
    } else if (options.client_sasl_types) {
        print_all(client_sasl_types());
    } else {
        // Postfix reads main.cf first (a table type may come from a plug-in it names).
        auto loaded = Config::load(options.config_directory);
        if (!loaded)
            fatal(loaded.error().message());
        for (const MapTypeInfo& type : map_types())
            std::cout << type.name << '\n';
    }
    return 0;
}

}  // namespace postern::postconf
