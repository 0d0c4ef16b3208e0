#include "master/spawn.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "server/master_protocol.hpp"
#include "util/log.hpp"

namespace postern::master {

namespace {

// Above every descriptor number the child will use, so moving into place never clobbers.
constexpr int kStagingFloor = 64;

[[noreturn]] void child_fails(const char* what, const std::string& path) {
    log_error("%s %s: %s", what, path.c_str(), std::strerror(errno));
    _exit(1);
}

void restore_signal_defaults() {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // Ignored signals stay ignored across exec; handlers are reset by exec itself.
    for (int signal_number : {SIGPIPE, SIGHUP, SIGTERM, SIGCHLD, SIGINT, SIGUSR1})
        ::signal(signal_number, SIG_DFL);
}

// Moves each source to its fixed number, in two steps so no source is overwritten.
void place_descriptors(const SpawnRequest& request, const std::string& path) {
    std::vector<int> sources{request.status_fd};
    for (const Fd& listener : *request.listeners)
        sources.push_back(listener.get());
    std::vector<int> staged;
    for (int source : sources) {
        int copy = ::fcntl(source, F_DUPFD_CLOEXEC, kStagingFloor);
        if (copy < 0)
            child_fails("dup descriptor for", path);
        staged.push_back(copy);
    }
    for (size_t index = 0; index < staged.size(); ++index) {
        int target = index == 0 ? master_protocol::kStatusFd
                                : master_protocol::kListenFd + static_cast<int>(index) - 1;
        if (::dup2(staged[index], target) < 0)  // dup2 clears close-on-exec on the target
            child_fails("dup2 for", path);
    }
    // Descriptors 3 and 4 stay closed (reserved), and so does everything past the last
    // listener: the daemon inherits nothing it was not meant to have.
    unsigned first_unused = static_cast<unsigned>(master_protocol::kListenFd) +
                            static_cast<unsigned>(staged.size()) - 1;
    // Close-on-exec rather than closed, so a failed exec can still log.
    for (auto [first, last] : {std::pair{3U, 4U}, std::pair{first_unused, ~0U}}) {
        if (::syscall(SYS_close_range, first, last, CLOSE_RANGE_CLOEXEC) != 0)
            ::syscall(SYS_close_range, first, last, 0);
    }
}

[[noreturn]] void exec_child(const SpawnRequest& request) {
    const ServiceDefinition& service = *request.service;
    restore_signal_defaults();
    place_descriptors(request, service.program_path);
    std::vector<char*> argv;
    for (const std::string& argument : service.arguments)
        argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const std::string& variable : request.environment)
        envp.push_back(const_cast<char*>(variable.c_str()));
    envp.push_back(nullptr);
    ::execve(service.program_path.c_str(), argv.data(), envp.data());
    child_fails("exec", service.program_path);
}

}  // namespace

Result<pid_t> spawn_process(const SpawnRequest& request) {
    pid_t pid = ::fork();
    if (pid < 0)
        return system_error("fork", errno);
    if (pid == 0)
        exec_child(request);
    return pid;
}

}  // namespace postern::master
