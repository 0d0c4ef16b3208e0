// Delivery to a command: "|command" destinations of aliases, .forward and :include: files,
// and mailbox_command. The message goes to the command's standard input.
//
// Where it sits: local/. The command line is the administrator's (aliases,
// mailbox_command) or the user's (.forward); the message is the network's. The command
// runs in a child process that gives up root for good before exec (identity.hpp):
// the recipient's uid and gid (supplementary groups cut to that gid), or default_privs
// when there is no user or the user is root. The child gets:
//   - a clean environment: PATH=/usr/bin:/bin, what export_environment names, and the
//     message's variables (SHELL, HOME, USER, LOGNAME, EXTENSION, DOMAIN, LOCAL,
//     ORIGINAL_RECIPIENT, RECIPIENT, SENDER, CLIENT_*, SASL_*), built by the caller;
//   - its working directory: command_execution_directory, or the queue directory;
//   - its own session (setsid), so that a time limit kills the command and its children;
//   - /bin/sh -c for a command with shell magic characters, local_command_shell when set,
//     else the words of the command executed directly (Postfix's rule).
// Its standard output and error are read while the message is written (no deadlock on
// a command that talks before it reads), and a bounded amount is kept for the report.
//
// The outcome, as Postfix words it: exit 0 is "delivered to command: CMD"; a non-zero
// exit with output that starts with an enhanced status code takes that code and text; a
// <sysexits.h> code gets its status and text ("4.3.0 temporary failure", "5.1.1 user
// unknown"), any other "5.3.0 Command died with status N: "CMD""; a signal is "4.3.0
// Command died with signal N: "CMD""; command_time_limit is "5.3.0 Command time limit
// exceeded: "CMD"". Captured output is appended as ". Command output: TEXT".
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "local/message_copy.hpp"
#include "mail/dsn.hpp"
#include "queue/delivery_agent.hpp"

namespace postern::local {

struct CommandSpec {
    std::string command;  // as written after '|', or mailbox_command expanded
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<std::string> environment;  // "NAME=value", complete
    std::string working_directory;         // empty: stay where local is (queue_directory)
    std::string shell;                     // local_command_shell; empty: Postfix's rule
    // pipe(8): the words to execute as they are (no shell); `command` then names the
    // command in reports. Empty: `command` is run by the rule above.
    std::vector<std::string> argv;
    std::chrono::seconds time_limit{1000};
    size_t output_limit = 2048;  // bytes of output kept for the report
};

struct CommandOutcome {
    ReportKind kind = ReportKind::deferred;
    DeliveryStatus status;
};

// Runs the command with the message on its standard input. Never fails as a function:
// every problem is an outcome (a fork that fails is a deferral).
CommandOutcome deliver_to_command(const CommandSpec& spec, const std::string& queue_path,
                                  const CopyOptions& options);

// The outcome for a finished command, from its wait status and output (pure, for tests).
CommandOutcome command_outcome(const std::string& command, int wait_status, bool timed_out,
                               std::string_view output);

// True when the command needs a shell: it holds characters the shell would interpret.
bool needs_shell(std::string_view command);

}  // namespace postern::local
