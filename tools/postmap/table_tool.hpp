// postmap and postalias: what the two table commands share. Both build a hash: or btree:
// table from a source file (or add to one from standard input with -i), query it (-q),
// delete from it (-d) and list it (-s), with the same options and the same messages as
// Postfix 3.7's commands; they differ only in the source format (table_source versus
// aliases_source), in how they print an entry, and in postalias's extra entries. A
// Personality carries those differences; everything else is here.
//
// Privileges: run by root without -o, a build runs with the effective uid and gid of the
// source file's owner (the file is opened first, as root), so that a user's table cannot
// make root write where the user chooses; the new .db gets the source's group and other
// read bits unless -p. The source text and the keys on standard input are trusted no more
// than the administrator who wrote them: nothing in them can crash the command.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "maps/map.hpp"

namespace postern::table_tool {

enum class Mode {
    build,     // default: (re)build each table from its source file, or -i from stdin
    query,     // -q KEY
    remove,    // -d KEY
    sequence,  // -s
};

struct Options {
    std::string config_directory;  // -c, MAIL_CONFIG, or the compiled-in default
    Mode mode = Mode::build;
    std::string key;               // -q/-d: the key, or "-" for keys from standard input
    bool incremental = false;      // -i
    bool fold_case = true;         // -f clears
    bool keep_privileges = false;  // -o
    bool inherit_mode = true;      // -p clears
    bool disable_utf8 = false;     // -u
    MapFlag nul_flags = MapFlag::try_nul | MapFlag::try_no_nul;  // -N, -n
    MapFlag duplicates = MapFlag::duplicate_warn;                // -r, -w
    bool base64 = false;                                         // postmap -F
    bool header_keys = false;                                    // postmap -h
    bool body_keys = false;                                      // postmap -b
    bool mime = false;                                           // postmap -m
    bool force_utf8 = false;                                     // postmap -U
    int verbose = 0;                                             // -v
    std::vector<std::string> tables;                             // [type:]name arguments
};

// The main.cf settings the commands read.
struct Settings {
    std::string default_database_type;  // default_database_type
    bool smtputf8 = false;              // smtputf8_enable
    std::string myhostname;             // postalias's YP_MASTER_NAME
    std::string alias_database;         // the tables newaliases builds
};

// Adds the entries of a source text to a table being built. `fold` folds names as the
// options and settings ask (the table itself is opened without folding, so that
// postalias can store its YP_* entries in upper case).
struct SourceContext {
    std::string_view text;
    std::string_view origin;  // the file name, or "stdin" with -i
    const Options& options;
    const Settings& settings;
    std::function<std::string(std::string_view key)> fold;
};

struct Personality {
    const char* program;             // "postmap"
    const char* usage;               // the text after "fatal: "
    const char* option_letters;      // getopt(3)'s string, starting "+:"
    std::string_view key_separator;  // between key and value in -s and "-q -" output
    std::function<Status(Map& map, const SourceContext& source)> load;
    // After the last entry of a build or -i run, before the table is committed
    // (postalias: the "@" entry). May be empty.
    std::function<Status(Map& map, const Options& options, const Settings& settings)> finish;
    // Once the table is committed and closed (postalias: the YP_* entries, which need a
    // handle of their own). May be empty.
    std::function<Status(const std::string& spec, const Options& options, const Settings& settings)>
        after_commit;
};

// Parses the command line (-c, MAIL_CONFIG, MAIL_VERBOSE included). Conflicting modes and
// unknown options are fatal here, before main.cf is read, as in Postfix.
Options parse_command_line(const Personality& personality, int argc, char** argv);

// The checks Postfix makes once main.cf is read: -b/-h/-m only with "-q -", and at least
// one table.
void check_modes(const Personality& personality, const Options& options);

// Reads main.cf from options.config_directory and starts logging as `program` (stderr and
// syslog, as Postfix's commands). Exits with Postfix's fatal message on error.
Settings load_settings(const Personality& personality, const Options& options);

// Runs the mode in `options` over every table and returns the exit status: 0 success (a
// query or delete found something), 1 not found. Errors are fatal (exit 1).
int run(const Personality& personality, const Options& options, const Settings& settings);

// [[noreturn]] "fatal: usage: ..." with the personality's usage text.
[[noreturn]] void usage(const Personality& personality);

}  // namespace postern::table_tool
