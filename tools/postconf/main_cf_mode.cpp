// postconf's default mode: print main.cf parameters, all of them or those named, with
// their values in force (default), as set in main.cf (-n), or as defaults (-d).
#include <iostream>

#include "tools/postconf/output.hpp"
#include "tools/postconf/postconf.hpp"
#include "util/strings.hpp"

namespace postern::postconf {
namespace {

std::optional<std::string_view> value_to_show(const Config& config, const PostconfOptions& options,
                                              std::string_view name) {
    if (options.show_defaults)
        return config.default_value(name);
    if (options.show_non_default)
        return config.explicit_value(name);
    return config.raw_value(name);
}

void print_parameter(const Config& config, const PostconfOptions& options, std::string_view name,
                     std::string_view raw) {
    std::string value(raw);
    const ParameterInfo* info = find_parameter(name);
    if (options.expand && !(info != nullptr && info->raw)) {
        auto expanded = expand_value(raw, config);
        if (!expanded) {
            warn(expanded.error().message());
            fatal("macro processing error");
        }
        value = *expanded;
    }
    if (options.hide_values) {
        std::cout << name << '\n';
    } else if (options.hide_names) {
        print_line(value, options.fold);
    } else {
        // Postfix writes "name =" for an empty value, with no trailing space.
        print_line(value.empty() ? std::string(name) + " =" : std::string(name) + " = " + value,
                   options.fold);
    }
}

}  // namespace

int run_main_cf_mode(const PostconfOptions& options) {
    Config config = load_configuration(options);
    if (options.arguments.empty()) {
        for (const std::string& name : config.known_names())
            if (auto value = value_to_show(config, options, name))
                print_parameter(config, options, name, *value);
        return 0;
    }
    for (const std::string& name : options.arguments) {
        if (!config.is_known(name)) {
            warn(name + ": unknown parameter");
            continue;
        }
        if (auto value = value_to_show(config, options, name))
            print_parameter(config, options, name, *value);
    }
    return 0;
}

}  // namespace postern::postconf
