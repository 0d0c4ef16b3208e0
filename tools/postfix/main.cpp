// postfix: start, stop and check a mail system instance, compatible with Postfix's command
// of the same name: postfix [-c config_dir] [-Dv] command.
//
// Runs as root only (it starts master and changes owners in the queue). It reads main.cf
// and master.cf, which belong to the administrator, and the queue tree, which mail_owner can
// write: nothing found there is followed through a symbolic link (see lib/queue).
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <string_view>

#include "tools/postfix/postfix.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

namespace postern::postfix {
namespace {

const char* kUsage = "usage: postfix [-c config_dir] [-Dv] command";

PostfixOptions parse_command_line(int argc, char** argv) {
    PostfixOptions options;
    int option;
    while ((option = getopt(argc, argv, "+c:Dv")) != -1) {
        switch (option) {
            case 'c':
                if (optarg[0] != '/')
                    log_fatal("-c requires absolute pathname");
                options.config_directory = optarg;
                options.config_directory_given = true;
                break;
            case 'D':
                options.debug = true;
                break;
            case 'v':
                ++options.verbose;
                break;
            default:
                log_fatal("%s", kUsage);
        }
    }
    if (!options.config_directory_given)
        options.config_directory = Config::default_config_directory();
    if (optind < argc)
        options.command = argv[optind++];
    for (int i = optind; i < argc; ++i)
        options.arguments.emplace_back(argv[i]);
    return options;
}

using Verb = std::function<int(const Instance&)>;

const std::map<std::string_view, Verb>& verbs() {
    static const std::map<std::string_view, Verb> table = {
        {"start", [](const Instance& instance) { return run_start(instance, false); }},
        {"start-fg", [](const Instance& instance) { return run_start(instance, true); }},
        {"stop", run_stop},
        {"quick-stop", run_quick_stop},
        {"abort", run_abort},
        {"reload", run_reload},
        {"status", run_status},
        {"flush", run_flush},
        {"check", run_check},
        {"set-permissions", run_set_permissions},
        {"logrotate", run_logrotate},
    };
    return table;
}

int run(int argc, char** argv) {
    // Postfix checks this before it looks at the command line.
    if (::getuid() != 0) {
        log_error("to submit mail, use the Postfix sendmail command");
        log_fatal("the postfix command is reserved for the superuser");
    }
    ensure_standard_descriptors();
    ::signal(SIGHUP, SIG_IGN);  // as the script's `trap '' 1`: survive the parent's exit
    ::umask(022);
    PostfixOptions options = parse_command_line(argc, argv);
    Instance instance = load_instance(options);
    use_script_log_identity(instance);
    require_instance_directories(instance);
    auto verb = verbs().find(options.command);
    if (verb == verbs().end())
        log_fatal(
            "unknown command: '%s'. Usage: postfix start (or stop, reload, abort, flush, "
            "check, status, set-permissions, logrotate)",
            options.command.c_str());
    export_instance_environment(instance);
    return verb->second(instance);
}

}  // namespace
}  // namespace postern::postfix

int main(int argc, char** argv) {
    try {
        return postern::postfix::run(argc, argv);
    } catch (const std::exception& error) {
        postern::log_fatal("%s", error.what());
    }
}
