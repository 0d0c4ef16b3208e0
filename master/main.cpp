// master: the resident supervisor of a Postern instance, compatible with Postfix's master(8)
// command line: master [-Ddistvw] [-c config_dir] [-e exit_time].
//
// Runs as root for its whole life and reads nothing from the network: it opens the sockets
// of master.cf, runs each service's daemon (see master_protocol.hpp for the contract) and
// answers to SIGHUP (reload) and SIGTERM (stop). One master per instance, enforced by the
// lock on queue_directory/pid/master.pid and data_directory/master.lock.
//
//   -c dir   configuration directory (also passed to every daemon as MAIL_CONFIG)
//   -d       do not detach; log to stderr too (debugging); daemons get -d
//   -e secs  exit after this many seconds, leaving the daemons to finish on their own
//   -i       init mode: master is process 1 of a container (foreground, reaps orphans)
//   -s       foreground, for `postfix start-fg` and systemd (Type=notify)
//   -t       test: exit 0 when no master runs for this instance, 1 when one does
//   -v       verbose logging (repeatable); daemons get -v too
//   -w       detach, and exit 0 only once the detached master is up (`postfix start`)
#include <fcntl.h>
#include <getopt.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "build_config.hpp"
#include "config/config.hpp"
#include "config/log_settings.hpp"
#include "master/environment.hpp"
#include "master/supervisor.hpp"
#include "server/master_lock.hpp"
#include "util/event_loop.hpp"
#include "util/log.hpp"
#include "util/privileges.hpp"

namespace postern::master {
namespace {

struct MasterOptions {
    std::string config_directory;
    bool debug = false;
    bool foreground = false;
    bool init_mode = false;
    bool test_only = false;
    bool wait_for_start = false;
    int exit_after_seconds = 0;
    int verbose = 0;
};

[[noreturn]] void usage() {
    std::fprintf(stderr, "usage: master [-Ddistvw] [-c config_dir] [-e exit_time]\n");
    std::exit(1);
}

MasterOptions parse_options(int argc, char** argv) {
    MasterOptions options;
    options.config_directory = Config::default_config_directory();
    int option;
    while ((option = getopt(argc, argv, "c:De:distvw")) != -1) {
        switch (option) {
            case 'c':
                options.config_directory = optarg;
                break;
            case 'D':  // debugger_command: not supported, accepted for compatibility
                break;
            case 'd':
                options.debug = options.foreground = true;
                break;
            case 'e':
                options.exit_after_seconds = std::atoi(optarg);
                break;
            case 'i':
                options.init_mode = options.foreground = true;
                break;
            case 's':
                options.foreground = true;
                break;
            case 't':
                options.test_only = true;
                break;
            case 'v':
                ++options.verbose;
                break;
            case 'w':
                options.wait_for_start = true;
                break;
            default:
                usage();
        }
    }
    if (optind != argc)
        usage();
    if (options.init_mode && getpid() != 1)
        log_fatal("-i is allowed only for PID 1");
    return options;
}

Config load_config(const MasterOptions& options) {
    Result<Config> config = Config::load(options.config_directory);
    if (!config)
        log_fatal("%s", config.error().message().c_str());
    return std::move(*config);
}

std::string required(const Config& config, const char* name) {
    Result<std::string> value = config.get(name);
    if (!value)
        log_fatal("%s", value.error().message().c_str());
    return *value;
}

void start_logging(const Config& config, const MasterOptions& options, bool to_stderr) {
    LogSettings settings = log_settings_from_config(config, "master");
    settings.also_stderr = to_stderr;
    settings.verbose = options.verbose;
    if (Status logging = log_init(settings); !logging)
        log_fatal("%s", logging.error().message().c_str());
}

// As Postfix's master: refuse to run daemons as root or as an account that shares its
// identity with another, before anything is opened.
void check_accounts(const Config& config, const MasterOptions& options) {
    Result<UserAccount> owner = check_mail_accounts(
        options.config_directory, required(config, "mail_owner"), required(config, "setgid_group"));
    if (!owner)
        log_fatal("%s", owner.error().message().c_str());
}

// -t: the answer postfix-script relies on.
int test_for_running_master(const Config& config) {
    Result<std::optional<pid_t>> pid = running_master_pid(required(config, "queue_directory"));
    if (!pid)
        log_fatal("%s", pid.error().message().c_str());
    return pid->has_value() ? 1 : 0;
}

// Forks; the parent waits for the child's "up" byte and exits with the outcome. Returns
// the pipe's write end in the child.
Fd detach(bool wait_for_start) {
    int pipe_ends[2];
    if (::pipe2(pipe_ends, O_CLOEXEC) != 0)
        log_fatal("pipe: %s", std::strerror(errno));
    Fd read_end(pipe_ends[0]);
    Fd write_end(pipe_ends[1]);
    pid_t pid = ::fork();
    if (pid < 0)
        log_fatal("fork: %s", std::strerror(errno));
    if (pid > 0) {
        write_end.reset();
        char up = 0;
        ssize_t got = wait_for_start ? ::read(read_end.get(), &up, 1) : 1;
        std::_Exit(got == 1 ? 0 : 1);
    }
    read_end.reset();
    ::setsid();
    return write_end;
}

void redirect_stdio_to_null() {
    Fd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    for (int fd = 0; fd <= 2 && null.valid(); ++fd)
        ::dup2(null.get(), fd);
}

int run(int argc, char** argv) {
    MasterOptions options = parse_options(argc, argv);
    Config config = load_config(options);
    if (options.test_only)
        return test_for_running_master(config);
    if (::geteuid() != 0)
        log_fatal("the master command is reserved for the superuser");
    clean_environment(config);
    start_logging(config, options, true);
    check_accounts(config, options);
    std::string queue_directory = required(config, "queue_directory");
    if (::chdir(queue_directory.c_str()) != 0)
        log_fatal("chdir %s: %s", queue_directory.c_str(), std::strerror(errno));

    Fd started_pipe;
    if (!options.foreground)
        started_pipe = detach(options.wait_for_start);
    else if (!options.init_mode && !options.debug)
        ::setpgid(0, 0);  // its own process group, so that `postfix stop` can end it all
    Result<MasterLock> lock =
        MasterLock::acquire(queue_directory, required(config, "data_directory"));
    if (!lock)
        log_fatal("%s", lock.error().message().c_str());

    EventLoop loop;
    Supervisor supervisor(
        loop, SupervisorOptions{options.config_directory, options.debug, options.verbose});
    if (Status started = supervisor.start(); !started)
        log_fatal("%s", started.error().message().c_str());
    if (started_pipe.valid()) {
        (void)write_all(started_pipe.get(), "1");
        started_pipe.reset();
        redirect_stdio_to_null();
    }
    // From here on stderr is for debugging only: the caller of `postfix start` is gone.
    start_logging(config, options, options.debug);
    log_info("daemon started -- version %s, configuration %s", POSTERN_MAIL_VERSION,
             options.config_directory.c_str());
    supervisor.arm();
    Event exit_timer;
    if (options.exit_after_seconds > 0) {
        exit_timer = Event::timer(loop, [&loop](EventReady) { loop.stop(); });
        exit_timer.arm(std::chrono::seconds(options.exit_after_seconds));
    }
    sd_notify(0, "READY=1");
    if (Status ran = loop.run(); !ran)
        log_fatal("%s", ran.error().message().c_str());
    return supervisor.exit_status();
}

}  // namespace
}  // namespace postern::master

int main(int argc, char** argv) {
    return postern::master::run(argc, argv);
}
