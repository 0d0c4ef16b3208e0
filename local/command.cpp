// Delivery to a command; see command.hpp.
#include "local/command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "local/identity.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern::local {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kExitTempfail = 75;  // EX_TEMPFAIL: what a child that cannot exec exits with

// Characters a command may hold and still be executed without a shell (Postfix's list).
constexpr std::string_view kNoShellCharacters =
    "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ \t";

constexpr std::string_view kShellBuiltins[] = {
    ".",    ":",    "alias",    "bg",     "break",   "cd",      "command", "continue",
    "eval", "exec", "exit",     "export", "fg",      "getopts", "hash",    "jobs",
    "kill", "read", "readonly", "return", "set",     "shift",   "test",    "times",
    "trap", "type", "ulimit",   "umask",  "unalias", "unset",   "wait",    "[",
};

struct SysExit {
    int code;
    const char* status;
    const char* text;
};

// <sysexits.h>, with the status and text Postfix gives each.
constexpr SysExit kSysExits[] = {
    {64, "5.3.0", "command line usage error"},  {65, "5.6.0", "data format error"},
    {66, "5.3.0", "cannot open input"},         {67, "5.1.1", "user unknown"},
    {68, "5.1.2", "host name unknown"},         {69, "5.3.0", "service unavailable"},
    {70, "5.3.0", "internal software error"},   {71, "4.3.0", "system resource problem"},
    {72, "5.3.0", "critical OS file missing"},  {73, "5.2.0", "can't create user output file"},
    {74, "5.3.0", "input/output error"},        {75, "4.3.0", "temporary failure"},
    {76, "5.5.0", "remote error in protocol"},  {77, "5.7.0", "permission denied"},
    {78, "5.3.5", "local configuration error"},
};

const SysExit* find_sysexit(int code) {
    for (const SysExit& entry : kSysExits)
        if (entry.code == code)
            return &entry;
    return nullptr;
}

ReportKind kind_for(std::string_view status) {
    return status.substr(0, 1) == "5" ? ReportKind::bounced : ReportKind::deferred;
}

// Output as it goes into a reason: line ends become spaces, other control characters '?'.
std::string printable_output(std::string_view output) {
    std::string text;
    for (char c : output) {
        auto byte = static_cast<unsigned char>(c);
        text.push_back(c == '\n' || c == '\r' || c == '\t' ? ' '
                       : byte < 0x20 || byte == 0x7f       ? '?'
                                                           : c);
    }
    return text;
}

std::string with_output(std::string text, std::string_view output) {
    if (!output.empty())
        text += ". Command output: " + std::string(output);
    return text;
}

CommandOutcome outcome(ReportKind kind, std::string_view status, std::string reason) {
    return CommandOutcome{kind, make_delivery_status(status, reason)};
}

std::vector<std::string> words_of(std::string_view command) {
    std::vector<std::string> words;
    for (std::string_view word : split_list(command, " \t"))
        words.emplace_back(word);
    return words;
}

// The child's last words: on its output (the report's "Command output"), then an exit
// status that says "try again".
[[noreturn]] void child_fail(const std::string& what, int error) {
    std::string text =
        "local: fatal: " + what + (error ? ": " + std::string(std::strerror(error)) : "") + "\n";
    (void)!::write(STDERR_FILENO, text.data(), text.size());
    ::_exit(kExitTempfail);
}

// In the child, after fork: never returns. Errors go to the output pipe, which is the
// report's "Command output", and the exit status says "try again".
[[noreturn]] void run_child(const CommandSpec& spec, int input, int output) {
    (void)::setsid();
    if (::dup2(input, STDIN_FILENO) < 0 || ::dup2(output, STDOUT_FILENO) < 0 ||
        ::dup2(output, STDERR_FILENO) < 0)
        ::_exit(kExitTempfail);
    // Nothing of the delivery agent's open files reaches the command.
    if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
        for (int fd = 3; fd < 1024; ++fd)
            ::close(fd);
    for (int sig : {SIGPIPE, SIGCHLD, SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGALRM})
        ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (Status dropped = become_user_for_good(spec.uid, spec.gid); !dropped)
        child_fail(dropped.error().message(), 0);
    if (!spec.working_directory.empty() && ::chdir(spec.working_directory.c_str()) != 0)
        child_fail("chdir " + spec.working_directory, errno);
    std::vector<char*> environment;
    for (const std::string& entry : spec.environment)
        environment.push_back(const_cast<char*>(entry.c_str()));
    environment.push_back(nullptr);
    std::vector<std::string> words;
    if (!spec.argv.empty()) {
        words = spec.argv;
    } else if (!spec.shell.empty()) {
        words = words_of(spec.shell);
        words.push_back("-c");
        words.push_back(spec.command);
    } else if (needs_shell(spec.command)) {
        words = {"/bin/sh", "-c", spec.command};
    } else {
        words = words_of(spec.command);
    }
    if (words.empty())
        child_fail("empty command", 0);
    std::vector<char*> argv;
    for (std::string& word : words)
        argv.push_back(word.data());
    argv.push_back(nullptr);
    ::execvpe(argv[0], argv.data(), environment.data());
    child_fail("execvp " + words[0], errno);
}

// The parent's side: the message into the command's input while its output is read.
class CommandSink final : public ContentSink {
  public:
    CommandSink(int input, int output, Clock::time_point deadline, size_t limit)
        : input_(input), output_(output), deadline_(deadline), limit_(limit) {}

    Status write(std::string_view bytes) override {
        while (!bytes.empty() && input_open_) {
            if (!wait(true))
                return Error(ErrorKind::timeout, "command time limit exceeded");
            ssize_t done = ::write(input_, bytes.data(), bytes.size());
            if (done > 0)
                bytes.remove_prefix(static_cast<size_t>(done));
            else if (done < 0 && errno == EPIPE)
                input_open_ = false;  // the command stopped reading: its exit status decides
            else if (done < 0 && errno != EAGAIN && errno != EINTR)
                input_open_ = false;
        }
        return {};
    }

    // After the message: reads the output until the command closes it.
    bool drain() {
        while (output_open_)
            if (!wait(false))
                return false;
        return true;
    }
    const std::string& output() const { return captured_; }

  private:
    // Waits until the input can take bytes (when `writing`) or output arrives; reads what
    // arrived. False when the time limit passed.
    bool wait(bool writing) {
        for (;;) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
            if (left.count() <= 0)
                return false;
            pollfd fds[2] = {{output_, POLLIN, 0}, {input_, POLLOUT, 0}};
            int count = writing ? 2 : 1;
            if (!output_open_)
                fds[0].fd = -1;
            int ready = ::poll(fds, static_cast<nfds_t>(count),
                               static_cast<int>(std::min<int64_t>(left.count(), 60000)));
            if (ready < 0 && errno != EINTR)
                return false;
            if (ready <= 0)
                continue;
            if (fds[0].revents != 0)
                read_output();
            if (!writing || fds[1].revents != 0)
                return true;
        }
    }
    void read_output() {
        char buffer[4096];
        ssize_t got = ::read(output_, buffer, sizeof buffer);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
            output_open_ = false;
            return;
        }
        if (got > 0 && captured_.size() < limit_)
            captured_.append(buffer, std::min(static_cast<size_t>(got), limit_ - captured_.size()));
    }

    int input_;
    int output_;
    Clock::time_point deadline_;
    size_t limit_;
    bool input_open_ = true;
    bool output_open_ = true;
    std::string captured_;
};

// Waits for the child until the deadline; then kills its whole session and reaps it.
int reap(pid_t pid, Clock::time_point deadline, bool& timed_out) {
    int status = 0;
    for (;;) {
        pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid)
            return status;
        if (done < 0 && errno != EINTR)
            return status;
        if (timed_out || Clock::now() >= deadline) {
            timed_out = true;
            // The command runs as another user than our effective mail_owner: only root
            // may kill it (real root, so seteuid(0) is allowed), then mail_owner again.
            uid_t effective = ::geteuid();
            bool raised = effective != 0 && ::getuid() == 0 && ::seteuid(0) == 0;
            ::kill(-pid, SIGKILL);
            ::kill(pid, SIGKILL);
            if (raised && ::seteuid(effective) != 0)
                log_fatal("cannot restore effective uid %d", static_cast<int>(effective));
            while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            return status;
        }
        ::usleep(2000);
    }
}

}  // namespace

bool needs_shell(std::string_view command) {
    if (command.find_first_not_of(kNoShellCharacters) != std::string_view::npos)
        return true;
    auto words = split_list(command, " \t");
    if (words.empty())
        return true;
    for (std::string_view builtin : kShellBuiltins)
        if (words.front() == builtin)
            return true;
    return false;
}

CommandOutcome command_outcome(const std::string& command, int wait_status, bool timed_out,
                               std::string_view raw_output) {
    std::string output = printable_output(raw_output);
    std::string quoted = "\"" + command + "\"";
    if (timed_out)
        return outcome(ReportKind::bounced, "5.3.0", "Command time limit exceeded: " + quoted);
    if (WIFSIGNALED(wait_status))
        return outcome(ReportKind::deferred, "4.3.0",
                       with_output("Command died with signal " +
                                       std::to_string(WTERMSIG(wait_status)) + ": " + quoted,
                                   output));
    int code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 1;
    if (code == 0)
        return outcome(ReportKind::sent, "2.0.0", "delivered to command: " + command);
    std::string_view text = trim_left(output);
    std::string_view status = leading_enhanced_status_code(text);
    if (!status.empty() && status[0] != '2')
        return outcome(kind_for(status), status,
                       std::string(trim_left(text.substr(status.size()))));
    if (const SysExit* known = find_sysexit(code))
        return outcome(kind_for(known->status), known->status, with_output(known->text, output));
    return outcome(
        ReportKind::bounced, "5.3.0",
        with_output("Command died with status " + std::to_string(code) + ": " + quoted, output));
}

CommandOutcome deliver_to_command(const CommandSpec& spec, const std::string& queue_path,
                                  const CopyOptions& options) {
    int input[2], output[2];
    if (::pipe2(input, O_CLOEXEC) != 0)
        return outcome(ReportKind::deferred, "4.3.0",
                       std::string("cannot create pipe: ") + std::strerror(errno));
    Fd input_read(input[0]), input_write(input[1]);
    if (::pipe2(output, O_CLOEXEC) != 0)
        return outcome(ReportKind::deferred, "4.3.0",
                       std::string("cannot create pipe: ") + std::strerror(errno));
    Fd output_read(output[0]), output_write(output[1]);
    Clock::time_point deadline = Clock::now() + spec.time_limit;
    pid_t pid = ::fork();
    if (pid < 0)
        return outcome(ReportKind::deferred, "4.3.0",
                       std::string("cannot fork: ") + std::strerror(errno));
    if (pid == 0)
        run_child(spec, input_read.get(), output_write.get());
    input_read.reset();
    output_write.reset();
    for (int fd : {input_write.get(), output_read.get()})
        (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    CommandSink sink(input_write.get(), output_read.get(), deadline, spec.output_limit);
    auto copied = copy_message(queue_path, sink, options);
    input_write.reset();  // end of the message
    bool timed_out = !copied && copied.error().kind() == ErrorKind::timeout;
    if (!timed_out && !sink.drain())
        timed_out = true;
    int status = reap(pid, deadline, timed_out);
    if (timed_out)
        log_warning("pipe_command_read: read time limit exceeded");
    if (!copied && !timed_out)  // the queue file could not be read: try again later
        return outcome(ReportKind::deferred, "4.3.0", copied.error().message());
    return command_outcome(spec.command, status, timed_out, sink.output());
}

}  // namespace postern::local
