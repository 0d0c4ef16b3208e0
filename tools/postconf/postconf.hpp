// postconf: what the command's modes share. main.cpp parses the command line into
// PostconfOptions and calls one mode; each mode lives in its own file.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/master_cf.hpp"

namespace postern::postconf {

struct PostconfOptions {
    std::string config_directory;
    bool config_directory_given = false;  // -c or MAIL_CONFIG: postconf -n then shows it
    bool show_defaults = false;           // -d
    bool show_non_default = false;        // -n
    bool hide_names = false;              // -h
    bool hide_values = false;             // -H
    bool expand = false;                  // -x
    bool fold = false;                    // -f
    bool edit = false;                    // -e
    bool exclude = false;                 // -X
    bool comment_out = false;             // -#
    bool master_entries = false;          // -M
    bool master_fields = false;           // -F
    bool master_parameters = false;       // -P
    bool map_types = false;               // -m
    bool server_sasl_types = false;       // -a
    bool client_sasl_types = false;       // -A
    int verbose = 0;                      // -v
    std::vector<std::string> overrides;   // -o name=value
    std::vector<std::string> arguments;   // names, name=value pairs, or service/type
};

// Reads main.cf (and master.cf, for the per-service parameters it brings), applies -c
// and -o, and prints the warnings Postfix prints while doing so. Exits on a fatal error.
Config load_configuration(const PostconfOptions& options);
// The same, for the master.cf modes: master.cf must exist, and is returned in `master_cf`.
Config load_configuration(const PostconfOptions& options, MasterCf& master_cf);

// Reads config_directory/master.cf, prints its warnings, and registers the per-service
// parameters its services bring. A missing file is a warning unless `required` (-M, -F,
// -P), as in Postfix; a malformed one is fatal.
MasterCf load_master_cf(const PostconfOptions& options, Config& config, bool required);

// Prints Postfix's "undefined parameter" warnings ($names that nothing defines) and
// "unused parameter" warnings (main.cf and master.cf -o names nothing uses) for the mode
// in `options`: none with -d; master.cf's only with -M, -F and -P. See unused_parameters.cpp.
void warn_about_parameter_usage(const PostconfOptions& options, const Config& config,
                                const MasterCf& master_cf);

// Each returns the process exit status.
int run_main_cf_mode(const PostconfOptions& options);  // default, -n, -d, -h, -x
int run_edit_mode(const PostconfOptions& options);     // -e, -X, -#
int run_master_mode(const PostconfOptions& options);   // -M, -F, -P
int run_list_mode(const PostconfOptions& options);     // -m, -a, -A

// Prints "postconf: warning: TEXT" to stderr.
void warn(const std::string& text);
// Prints "postconf: fatal: TEXT" to stderr and exits with status 1.
[[noreturn]] void fatal(const std::string& text);

}  // namespace postern::postconf
