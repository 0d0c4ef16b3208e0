// postfix: the verbs that start master, signal it or hand work to another program, with
// postfix-script's messages and exit statuses.
//
// Whether master runs is decided by the lock on queue_directory/pid/master.pid (see
// lib/server/master_lock.hpp), read in-process where the script runs `master -t`. Signals:
// SIGTERM stops master (and its daemons), SIGHUP makes it reload; `stop` waits up to five
// seconds, then kills master's whole process group.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <thread>

#include "tools/postfix/postfix.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern::postfix {
namespace {

pid_t require_running_master(const Instance& instance) {
    std::optional<pid_t> pid = running_master(instance);
    if (!pid)
        log_fatal("the Postfix mail system is not running");
    return *pid;
}

void send_signal(pid_t pid, int signal) {
    if (::kill(pid, signal) != 0)
        log_fatal("kill %ld: %s", static_cast<long>(pid), std::strerror(errno));
}

std::string master_path(const Instance& instance) {
    return instance.daemon_directory + "/master";
}

std::vector<std::string> master_arguments(const Instance& instance, const char* mode) {
    std::vector<std::string> arguments{mode};
    if (instance.options.config_directory_given) {
        arguments.emplace_back("-c");
        arguments.push_back(instance.config_directory);
    }
    return arguments;
}

// Polls until master has gone or `limit` has passed; true when it has gone.
bool wait_for_master_exit(const Instance& instance, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        if (!running_master(instance))
            return true;
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

// The script's check-fatal and check-warn before a start; false when start must not go on.
bool integrity_checks_pass(const Instance& instance) {
    std::string quick_start = instance.queue_directory + "/quick-start";
    if (::unlink(quick_start.c_str()) == 0)
        return true;  // `postfix quick-stop` left this: skip the checks once
    CheckReport report;
    check_fatal(instance, true, report);
    if (report.has_fatal())
        return false;
    check_warn(instance, report);
    return true;
}

// Postfix's script runs `master -s` as its child unless it is process 1; Postern has no
// script between the command and master, so it always execs: master keeps this process's
// pid, which is what systemd (Type=notify, NotifyAccess=main) and the pid file expect.
[[noreturn]] void start_in_foreground(const Instance& instance) {
    std::string instances = setting_or_empty(instance.config, "multi_instance_directories");
    if (!split_list(instances).empty())
        log_fatal("start-fg does not support multi_instance_directories");
    const char* mode = ::getpid() == 1 ? "-i" : "-s";
    Error error = exec_program(master_path(instance), master_arguments(instance, mode));
    log_error("%s", error.message().c_str());
    log_fatal("cannot start-fg the master daemon");
}

// `touch`: creates the file when it is missing.
Status touch(const std::string& path) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd.valid())
        return system_error("create " + path, errno);
    return Status::success();
}

// A program name looked up in PATH, as the script's shell would.
std::string find_in_path(const std::string& name) {
    if (name.find('/') != std::string::npos)
        return name;
    const char* path = std::getenv("PATH");
    for (std::string_view directory : split_list(path ? path : "/usr/bin:/bin", ":")) {
        std::string candidate = std::string(directory) + "/" + name;
        if (is_executable_file(candidate))
            return candidate;
    }
    return name;
}

std::string rotation_suffix(const std::string& format) {
    char text[256];
    std::time_t now = std::time(nullptr);
    std::tm local{};
    ::localtime_r(&now, &local);
    size_t length = std::strftime(text, sizeof text, format.c_str(), &local);
    return std::string(text, length);
}

std::string logrotate_setting(const Instance& instance, const char* name) {
    std::string value = setting_or_empty(instance.config, name);
    if (trim(value).empty())
        log_fatal("empty '%s' parameter value - logfile rotation failed", name);
    return std::string(trim(value));
}

// Renames the log, lets master's processes reopen it, compresses the old one.
Status rotate_log(const Instance& instance, const std::string& file, const std::string& suffix,
                  const std::string& compressor) {
    std::string rotated = file + "." + suffix;
    if (::rename(file.c_str(), rotated.c_str()) != 0)
        return system_error("rename " + file, errno);
    if (std::optional<pid_t> pid = running_master(instance)) {
        if (::kill(*pid, SIGHUP) != 0)
            return system_error("kill", errno);
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
    Result<int> status = run_program(compressor, {rotated});
    if (!status)
        return status.error();
    if (*status != 0)
        return Error(ErrorKind::io,
                     compressor + " " + rotated + ": exit status " + std::to_string(*status));
    return Status::success();
}

}  // namespace

int run_start(const Instance& instance, bool foreground) {
    if (!is_executable_file(master_path(instance)))
        log_fatal("no Postfix master program %s!", master_path(instance).c_str());
    if (running_master(instance))
        log_fatal("the Postfix mail system is already running");
    if (!integrity_checks_pass(instance))
        log_fatal("Postfix integrity check failed!");
    log_info("starting the Postfix mail system");
    if (foreground)
        start_in_foreground(instance);
    // master -w detaches and exits 0 once the background master is up.
    Result<int> status = run_program(master_path(instance), master_arguments(instance, "-w"));
    if (!status)
        log_error("%s", status.error().message().c_str());
    if (!status || *status != 0)
        log_fatal("mail system startup failed");
    return 0;
}

int run_stop(const Instance& instance) {
    pid_t pid = require_running_master(instance);
    log_info("stopping the Postfix mail system");
    send_signal(pid, SIGTERM);
    // The script tests once a second for five seconds; polling more often ends sooner.
    if (wait_for_master_exit(instance, std::chrono::milliseconds(200)))
        return 0;
    for (int round = 0; round < 5; ++round) {
        log_info("waiting for the Postfix mail system to terminate");
        if (wait_for_master_exit(instance, std::chrono::seconds(1)))
            return 0;
    }
    log_warning("stopping the Postfix mail system with force");
    // master leads its process group: this takes the daemons along.
    (void)::kill(-pid, SIGKILL);
    return 0;
}

int run_quick_stop(const Instance& instance) {
    int status = run_stop(instance);
    std::string quick_start = instance.queue_directory + "/quick-start";
    if (Status touched = touch(quick_start); !touched)
        log_fatal("%s", touched.error().message().c_str());
    return status;
}

int run_abort(const Instance& instance) {
    pid_t pid = require_running_master(instance);
    log_info("aborting the Postfix mail system");
    send_signal(pid, SIGTERM);
    return 0;
}

int run_reload(const Instance& instance) {
    pid_t pid = require_running_master(instance);
    log_info("refreshing the Postfix mail system");
    // Postfix moves active/ back to incoming/ first and repairs the queue afterwards; both
    // are postsuper's, skipped when command_directory has none (a partial install).
    std::string postsuper = instance.command_directory + "/postsuper";
    bool have_postsuper = is_executable_file(postsuper);
    if (have_postsuper) {
        Result<int> status = run_program(postsuper, {"active"});
        if (!status || *status != 0)
            return 1;
    }
    send_signal(pid, SIGHUP);
    if (have_postsuper)
        (void)start_program(postsuper, {});
    return 0;
}

int run_status(const Instance& instance) {
    std::optional<pid_t> pid = running_master(instance);
    if (!pid) {
        log_info("the Postfix mail system is not running");
        return 1;
    }
    log_info("the Postfix mail system is running: PID: %ld", static_cast<long>(*pid));
    return 0;
}

int run_flush(const Instance& instance) {
    std::string postqueue = instance.command_directory + "/postqueue";
    if (!is_executable_file(postqueue))
        log_fatal("cannot flush the queue: no Postfix postqueue program %s", postqueue.c_str());
    Error error = exec_program(postqueue, {"-f"});
    log_fatal("%s", error.message().c_str());
}

int run_logrotate(const Instance& instance) {
    if (!instance.options.arguments.empty())
        log_fatal("usage postfix logrotate (no arguments)");
    std::string file = logrotate_setting(instance, "maillog_file");
    std::string compressor = logrotate_setting(instance, "maillog_file_compressor");
    std::string suffix_format = logrotate_setting(instance, "maillog_file_rotate_suffix");
    if (file.starts_with("/dev/"))
        log_fatal("not rotating '%s'", file.c_str());
    Status rotated =
        rotate_log(instance, file, rotation_suffix(suffix_format), find_in_path(compressor));
    if (!rotated)
        log_fatal("logfile '%s' rotation failed: %s", file.c_str(),
                  rotated.error().message().c_str());
    return 0;
}

}  // namespace postern::postfix
