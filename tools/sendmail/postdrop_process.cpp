// The postdrop child; see postdrop_process.hpp.
#include "tools/sendmail/postdrop_process.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "queue/queue_file.hpp"

namespace postern::sendmail {
namespace {

constexpr size_t kWriteChunk = 64 * 1024;

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
    std::vector<char*> pointers;
    pointers.reserve(strings.size() + 1);
    for (const std::string& text : strings)
        pointers.push_back(const_cast<char*>(text.c_str()));
    pointers.push_back(nullptr);
    return pointers;
}

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_child(const std::string& path, char** argv, char** envp, int input,
                             int output) {
    if (::dup2(input, STDIN_FILENO) < 0 || ::dup2(output, STDOUT_FILENO) < 0)
        ::_exit(1);
    ::execve(path.c_str(), argv, envp);
    const char* reason = std::strerror(errno);
    const char* parts[] = {"sendmail: fatal: execvp ", path.c_str(), ": ", reason, "\n"};
    for (const char* part : parts)
        (void)!::write(STDERR_FILENO, part, std::strlen(part));
    ::_exit(1);
}

}  // namespace

Result<PostdropProcess> PostdropProcess::start(const std::string& path,
                                               const std::vector<std::string>& arguments,
                                               const std::vector<std::string>& environment) {
    int to_child[2];
    int from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0)
        return system_error("pipe", errno);
    Fd child_input(to_child[0]), input(to_child[1]);
    if (::pipe2(from_child, O_CLOEXEC) != 0)
        return system_error("pipe", errno);
    Fd output(from_child[0]), child_output(from_child[1]);
    std::vector<char*> argv = c_strings(arguments);
    std::vector<char*> envp = c_strings(environment);
    pid_t pid = ::fork();
    if (pid < 0)
        return system_error("fork", errno);
    if (pid == 0)
        exec_child(path, argv.data(), envp.data(), child_input.get(), child_output.get());
    return PostdropProcess(pid, std::move(input), std::move(output));
}

PostdropProcess::PostdropProcess(PostdropProcess&& other) noexcept
    : pid_(other.pid_),
      input_(std::move(other.input_)),
      output_(std::move(other.output_)),
      pending_(std::move(other.pending_)),
      reply_buffer_(std::move(other.reply_buffer_)),
      write_status_(std::move(other.write_status_)),
      exit_status_(other.exit_status_),
      exit_description_(std::move(other.exit_description_)) {
    other.pid_ = -1;
}

PostdropProcess::~PostdropProcess() {
    input_.reset();
    output_.reset();
    if (pid_ > 0)
        wait();
}

Result<PlainAttributes> PostdropProcess::read_reply() {
    return read_plain_attributes(output_.get(), reply_buffer_);
}

void PostdropProcess::record(char type, std::string_view data) {
    if (!write_status_)
        return;
    append_record(pending_, type, data);
    if (pending_.size() >= kWriteChunk)
        write_status_ = flush();
}

Status PostdropProcess::flush() {
    if (!write_status_ || pending_.empty())
        return write_status_;
    write_status_ = write_all(input_.get(), pending_);
    pending_.clear();
    return write_status_;
}

void PostdropProcess::close_input() {
    input_.reset();
}

int PostdropProcess::wait(std::string* description) {
    if (pid_ > 0) {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
        if (WIFSIGNALED(status)) {
            exit_status_ = 128 + WTERMSIG(status);
            exit_description_ = "killed by signal " + std::to_string(WTERMSIG(status));
        } else {
            exit_status_ = WEXITSTATUS(status);
            exit_description_ = "exited with status " + std::to_string(exit_status_);
        }
    }
    if (description != nullptr)
        *description = exit_description_;
    return exit_status_;
}

}  // namespace postern::sendmail
