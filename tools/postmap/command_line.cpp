// postmap and postalias: the command line, as Postfix's commands parse it (POSIX getopt:
// options end at the first table name) and with their complaints.
#include <getopt.h>

#include <cstdlib>
#include <iostream>

#include "tools/postmap/table_tool.hpp"
#include "util/log.hpp"

namespace postern::table_tool {
namespace {

// -q and -d exclude each other and -s; Postfix words the complaint by the option it is at.
void set_key_mode(Options& options, Mode mode, const char* key) {
    if (options.mode != Mode::build)
        log_fatal("specify only one of -s -q or -d");
    options.mode = mode;
    options.key = key;
}

void set_sequence_mode(Options& options) {
    if (options.mode == Mode::query || options.mode == Mode::remove)
        log_fatal("specify only one of -s or -q or -d");
    options.mode = Mode::sequence;
}

[[noreturn]] void bad_option(const Personality& personality, int option) {
    std::cerr << personality.program
              << (option == ':' ? ": option requires an argument -- '" : ": invalid option -- '")
              << static_cast<char>(optopt) << "'\n";
    usage(personality);
}

// Options that only set a flag; false for the others.
bool set_flag(Options& options, int option) {
    switch (option) {
        case 'b':
            options.body_keys = true;
            break;
        case 'f':
            options.fold_case = false;
            break;
        case 'F':
            options.base64 = true;
            break;
        case 'h':
            options.header_keys = true;
            break;
        case 'i':
            options.incremental = true;
            break;
        case 'm':
            options.mime = true;
            break;
        case 'n':
            options.nul_flags = MapFlag::try_no_nul;
            break;
        case 'N':
            options.nul_flags = MapFlag::try_nul;
            break;
        case 'o':
            options.keep_privileges = true;
            break;
        case 'p':
            options.inherit_mode = false;
            break;
        case 'r':
            options.duplicates = MapFlag::duplicate_replace;
            break;
        case 'u':
            options.disable_utf8 = true;
            break;
        case 'U':
            options.force_utf8 = true;
            break;
        case 'v':
            ++options.verbose;
            break;
        case 'w':
            options.duplicates = MapFlag::duplicate_ignore;
            break;
        default:
            return false;
    }
    return true;
}

}  // namespace

Options parse_command_line(const Personality& personality, int argc, char** argv) {
    Options options;
    options.config_directory = Config::default_config_directory();
    if (const char* verbose = std::getenv("MAIL_VERBOSE"); verbose != nullptr && *verbose)
        options.verbose = 1;
    opterr = 0;
    int option;
    while ((option = getopt(argc, argv, personality.option_letters)) != -1) {
        if (option != '?' && option != ':' && set_flag(options, option))
            continue;
        switch (option) {
            case 'c':
                options.config_directory = optarg;
                break;
            case 'd':
                set_key_mode(options, Mode::remove, optarg);
                break;
            case 'q':
                set_key_mode(options, Mode::query, optarg);
                break;
            case 's':
                set_sequence_mode(options);
                break;
            default:
                bad_option(personality, option);
        }
    }
    for (int i = optind; i < argc; ++i)
        options.tables.emplace_back(argv[i]);
    return options;
}

void check_modes(const Personality& personality, const Options& options) {
    bool message_keys = options.header_keys || options.body_keys;
    bool keys_from_stdin = options.mode == Mode::query && options.key == "-";
    if ((message_keys || options.mime) && !keys_from_stdin)
        log_fatal("specify -b -h or -m only with \"-q -\"");
    if (options.mime && !message_keys)
        log_warning("ignoring -m option without -b or -h");
    else if (options.mime)
        log_fatal("MIME parsing (-m) is not supported; use -b or -h without -m");
    if (options.tables.empty())
        usage(personality);
}

}  // namespace postern::table_tool
