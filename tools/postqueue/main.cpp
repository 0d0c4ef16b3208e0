// postqueue: list and flush the mail queue (see postqueue.hpp).
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "build_config.hpp"
#include "config/log_settings.hpp"
#include "tools/postqueue/postqueue.hpp"
#include "tools/postqueue/user_acl.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/privileges.hpp"
#include "util/strings.hpp"

namespace postern::postqueue {
namespace {

const char* kUsage =
    "usage: postqueue -f | postqueue -i queueid | postqueue -j | postqueue -p | postqueue -s site";

enum class Mode { none, flush, flush_id, json, list, flush_site };

struct Options {
    Mode mode = Mode::none;
    std::string argument;  // -i ID, -s SITE
    std::string config_directory;
    int verbose = 0;
};

void set_mode(Options& options, Mode mode, const char* argument) {
    if (options.mode != Mode::none)
        log_fatal("%s", kUsage);
    options.mode = mode;
    options.argument = argument != nullptr ? argument : "";
}

Options parse_command_line(int argc, char** argv) {
    Options options;
    opterr = 0;
    int option;
    while ((option = getopt(argc, argv, "+c:fi:jps:v")) != -1) {
        switch (option) {
            case 'c':
                if (optarg[0] != '/')
                    log_fatal("-c requires absolute pathname");
                options.config_directory = optarg;
                break;
            case 'f':
                set_mode(options, Mode::flush, nullptr);
                break;
            case 'i':
                set_mode(options, Mode::flush_id, optarg);
                break;
            case 'j':
                set_mode(options, Mode::json, nullptr);
                break;
            case 'p':
                set_mode(options, Mode::list, nullptr);
                break;
            case 's':
                set_mode(options, Mode::flush_site, optarg);
                break;
            case 'v':
                ++options.verbose;
                break;
            default:
                std::cerr << "postqueue: "
                          << (option == ':' ? "option requires an argument -- '"
                                            : "invalid option -- '")
                          << static_cast<char>(optopt) << "'\n";
                log_fatal("%s", kUsage);
        }
    }
    if (optind < argc || options.mode == Mode::none)
        log_fatal("%s", kUsage);
    return options;
}

// Running with more privilege than the invoking user has (set-gid, as installed).
bool elevated() {
    return ::getuid() != 0 && (::geteuid() != ::getuid() || ::getegid() != ::getgid());
}

// A non-default directory from an elevated caller must be listed in the default main.cf.
void check_config_directory(const std::string& directory) {
    if (!elevated() || directory == POSTERN_CONFIG_DIRECTORY)
        return;
    Result<Config> standard = Config::load(POSTERN_CONFIG_DIRECTORY);
    if (!standard)
        log_fatal(standard.error());
    for (const char* name : {"alternate_config_directories", "multi_instance_directories"}) {
        Result<std::vector<std::string>> listed = standard->get_list(name);
        if (!listed)
            log_fatal(listed.error());
        for (const std::string& entry : *listed)
            if (entry == directory)
                return;
    }
    log_fatal("unauthorized configuration directory name: %s", directory.c_str());
}

std::string user_name(uid_t uid) {
    struct passwd* entry = ::getpwuid(uid);
    return entry != nullptr ? std::string(entry->pw_name) : std::to_string(uid);
}

std::string required(const Config& config, const char* name) {
    Result<std::string> value = config.get(name);
    if (!value)
        log_fatal(value.error());
    return *value;
}

Invocation load_invocation(const Options& options) {
    std::string directory = options.config_directory.empty() ? Config::default_config_directory()
                                                             : options.config_directory;
    check_config_directory(directory);
    Result<Config> loaded = Config::load(directory);
    if (!loaded)
        log_fatal(loaded.error());
    loaded->set_override("config_directory", directory);
    LogSettings logging = log_settings_from_config(*loaded, "postqueue");
    logging.also_stderr = true;
    logging.verbose = ::getuid() == 0 ? options.verbose : 0;
    if (Status started = log_init(logging); !started)
        log_fatal(started.error());
    Invocation invocation{std::move(*loaded), directory, {}, {}, {}, ::getuid(), {}, false, 0};
    invocation.queue_directory = required(invocation.config, "queue_directory");
    invocation.daemon_directory = required(invocation.config, "daemon_directory");
    Result<int64_t> timeout = invocation.config.get_time_seconds("ipc_timeout");
    if (!timeout)
        log_fatal(timeout.error());
    invocation.ipc_timeout = std::chrono::seconds(*timeout);
    invocation.user = user_name(invocation.uid);
    std::string owner = required(invocation.config, "mail_owner");
    invocation.privileged = invocation.uid == 0 || invocation.user == owner;
    invocation.verbose = logging.verbose;
    return invocation;
}

void require_access(const Invocation& invocation, const char* parameter, const char* what) {
    if (invocation.privileged)
        return;
    Result<bool> allowed =
        user_list_allows(required(invocation.config, parameter), invocation.user);
    if (!allowed)
        log_fatal(allowed.error());
    if (!*allowed)
        log_fatal("User %s(%ld) is not allowed to %s", invocation.user.c_str(),
                  static_cast<long>(invocation.uid), what);
}

int run(int argc, char** argv) {
    set_fatal_exit_status(kExitUnavailable);
    ensure_standard_descriptors();
    ::umask(022);
    LogSettings early;
    early.program = "postqueue";
    early.also_stderr = true;
    (void)log_init(early);
    Options options = parse_command_line(argc, argv);
    Invocation invocation = load_invocation(options);
    switch (options.mode) {
        case Mode::list:
        case Mode::json:
            require_mailq_access(invocation);
            return show_queue(invocation, options.mode == Mode::json);
        case Mode::flush:
            require_flush_access(invocation);
            return flush_queue(invocation);
        case Mode::flush_id:
            require_flush_access(invocation);
            return flush_queue_id(invocation, options.argument);
        case Mode::flush_site:
            require_flush_access(invocation);
            return flush_site(invocation, options.argument);
        case Mode::none:
            break;
    }
    log_fatal("%s", kUsage);
}

}  // namespace

void require_mailq_access(const Invocation& invocation) {
    require_access(invocation, "authorized_mailq_users", "view the mail queue");
}

void require_flush_access(const Invocation& invocation) {
    require_access(invocation, "authorized_flush_users", "flush the mail queue");
}

}  // namespace postern::postqueue

int main(int argc, char** argv) {
    try {
        return postern::postqueue::run(argc, argv);
    } catch (const std::exception& error) {
        postern::log_fatal("%s", error.what());
    }
}
