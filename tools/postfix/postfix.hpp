// postfix: what the command's parts share. main.cpp parses the command line, loads the
// instance and calls one verb; the verbs live in control.cpp (start, stop, reload...),
// check.cpp with its two lists of checks (config_checks.cpp, file_checks.cpp), and
// permissions.cpp (set-permissions).
//
// Postfix splits this command into a small C program and the postfix-script shell script;
// Postern does both in one process and keeps the script's observable behaviour: the same
// verbs, the same messages (logged as "postfix/postfix-script"), the same exit statuses,
// except that `postfix check` exits 1 when it found any problem.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "queue/queue_layout.hpp"

namespace postern::postfix {

struct PostfixOptions {
    std::string config_directory;
    bool config_directory_given = false;  // -c (not MAIL_CONFIG)
    bool debug = false;                   // -D
    int verbose = 0;                      // -v
    std::string command;                  // empty when none was given
    std::vector<std::string> arguments;   // the words after the command
};

// The instance a command works on: its configuration and the directories it names.
struct Instance {
    Instance(PostfixOptions given_options, Config loaded)
        : options(std::move(given_options)), config(std::move(loaded)) {}

    PostfixOptions options;
    Config config;
    std::string config_directory;
    std::string queue_directory;
    std::string data_directory;
    std::string daemon_directory;
    std::string command_directory;
    std::string mail_owner;
    std::string setgid_group;
    int main_cf_warnings = 0;  // printed while main.cf was read; they count for `check`
};

// Reads main.cf (fatal when it is missing or malformed, as Postfix), sets up logging as
// "postfix" and enters queue_directory. Exits on error.
Instance load_instance(const PostfixOptions& options);
// From here on messages are postfix-script's: "postfix/postfix-script: text".
void use_script_log_identity(const Instance& instance);
// The script's first lines: the command, daemon, configuration and queue directories
// must exist. Exits with postfix-script's message when one does not.
void require_instance_directories(const Instance& instance);

// A parameter's expanded value, or "" when it cannot be expanded.
std::string setting_or_empty(const Config& config, const char* name);

// The accounts and paths of the queue tree; fatal when mail_owner or setgid_group does
// not exist.
QueueLayout queue_layout_of(const Instance& instance);

// ---- checks (check.cpp) ----

// Problems found by the checks, logged as they are found. Fatal-class problems ("error:")
// stop `postfix start`; warnings ("warning:") do not.
class CheckReport {
  public:
    void fatal(const std::string& text);
    void warn(const std::string& text);
    bool has_fatal() const { return fatal_count_ > 0; }
    int count() const { return fatal_count_ + warning_count_; }

  private:
    int fatal_count_ = 0;
    int warning_count_ = 0;
};

// postfix-script's check-fatal and check-warn. With `create_missing` (start), missing
// queue directories are created first; `postfix check` only reports them.
void check_fatal(const Instance& instance, bool create_missing, CheckReport& report);
void check_warn(const Instance& instance, CheckReport& report);

// config_checks.cpp: main.cf, master.cf, parameters, lookup tables.
void check_master_cf_fatal(const Instance& instance, CheckReport& report);
void check_configuration_warn(const Instance& instance, CheckReport& report);
// file_checks.cpp: owners and modes of the queue, the data, configuration and program
// directories, chroot copies, damaged messages.
void check_files_warn(const Instance& instance, CheckReport& report);

// ---- verbs; each returns the exit status ----
int run_start(const Instance& instance, bool foreground);  // start, start-fg
int run_stop(const Instance& instance);
int run_quick_stop(const Instance& instance);
int run_abort(const Instance& instance);
int run_reload(const Instance& instance);
int run_status(const Instance& instance);
int run_flush(const Instance& instance);
int run_check(const Instance& instance);
int run_set_permissions(const Instance& instance);
int run_logrotate(const Instance& instance);

// ---- child processes (process.cpp) ----

// The environment every program the command starts gets: MAIL_CONFIG, and MAIL_VERBOSE /
// MAIL_DEBUG for -v / -D.
void export_instance_environment(const Instance& instance);
// Runs a program and waits: its exit status, or an error when it could not be run.
Result<int> run_program(const std::string& path, const std::vector<std::string>& arguments);
// Starts a program and does not wait for it.
Status start_program(const std::string& path, const std::vector<std::string>& arguments);
// Replaces this process; returns only the error.
Error exec_program(const std::string& path, const std::vector<std::string>& arguments);
// True for an existing regular file with an execute bit set.
bool is_executable_file(const std::string& path);

// The pid of the running master, or nullopt; fatal when the pid file cannot be read.
std::optional<pid_t> running_master(const Instance& instance);

}  // namespace postern::postfix
