// postconf: the administrator's view of main.cf and master.cf, compatible with Postfix's
// command of the same name (options, output and exit status). Runs with the caller's
// privileges; -e/-X/-# rewrite main.cf atomically.
#include <getopt.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "tools/postconf/postconf.hpp"

namespace postern::postconf {

void warn(const std::string& text) {
    std::cerr << "postconf: warning: " << text << '\n';
}

void fatal(const std::string& text) {
    std::cout.flush();
    std::cerr << "postconf: fatal: " << text << '\n';
    std::exit(1);
}

namespace {

const char* kUsage =
    "usage: postconf [-a (server SASL types)] [-A (client SASL types)] [-c config_dir] "
    "[-d (parameter defaults)] [-e (edit configuration)] [-f (fold lines)] "
    "[-F (master.cf fields)] [-h (no names)] [-H (no values)] [-m (map types)] "
    "[-M (master.cf)] [-n (non-default parameters)] [-o name=value (override parameter value)] "
    "[-P (master.cf parameters)] [-v (verbose)] [-x (expand parameter values)] "
    "[-X (exclude)] [-# (comment-out)] [name...]";

PostconfOptions parse_command_line(int argc, char** argv) {
    PostconfOptions options;
    opterr = 0;
    int option;
    while ((option = getopt(argc, argv, "+aAc:defFhHmMno:pPvxX#")) != -1) {
        switch (option) {
            case 'a':
                options.server_sasl_types = true;
                break;
            case 'A':
                options.client_sasl_types = true;
                break;
            case 'c':
                options.config_directory = optarg;
                options.config_directory_given = true;
                break;
            case 'd':
                options.show_defaults = true;
                break;
            case 'e':
                options.edit = true;
                break;
            case 'f':
                options.fold = true;
                break;
            case 'F':
                options.master_fields = true;
                break;
            case 'h':
                options.hide_names = true;
                break;
            case 'H':
                options.hide_values = true;
                break;
            case 'm':
                options.map_types = true;
                break;
            case 'M':
                options.master_entries = true;
                break;
            case 'n':
                options.show_non_default = true;
                break;
            case 'o':
                options.overrides.emplace_back(optarg);
                break;
            case 'p':
                break;
            case 'P':
                options.master_parameters = true;
                break;
            case 'v':
                ++options.verbose;
                break;
            case 'x':
                options.expand = true;
                break;
            case 'X':
                options.exclude = true;
                break;
            case '#':
                options.comment_out = true;
                break;
            default:
                std::cerr << "postconf: invalid option -- '" << static_cast<char>(optopt) << "'\n";
                fatal(kUsage);
        }
    }
    for (int i = optind; i < argc; ++i)
        options.arguments.emplace_back(argv[i]);
    // As in Postfix, `postconf name=value` means `postconf -e name=value`.
    if (!options.arguments.empty() && options.arguments.front().find('=') != std::string::npos &&
        !options.master_entries && !options.master_fields && !options.master_parameters)
        options.edit = true;
    if (!options.config_directory_given) {
        const char* from_environment = std::getenv("MAIL_CONFIG");
        options.config_directory_given = from_environment != nullptr && *from_environment;
        options.config_directory = Config::default_config_directory();
    }
    if (options.show_defaults && options.show_non_default)
        fatal("specify one of -d -n");
    return options;
}

}  // namespace
}  // namespace postern::postconf

int main(int argc, char** argv) {
    using namespace postern::postconf;
    PostconfOptions options = parse_command_line(argc, argv);
    if (options.edit || options.exclude || options.comment_out)
        return run_edit_mode(options);
    if (options.master_entries || options.master_fields || options.master_parameters)
        return run_master_mode(options);
    if (options.map_types || options.server_sasl_types || options.client_sasl_types)
        return run_list_mode(options);
    return run_main_cf_mode(options);
}
