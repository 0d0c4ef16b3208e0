// postfix: starting the programs the command hands work to (master, postsuper, postqueue,
// the log compressor), with the instance's environment.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "tools/postfix/postfix.hpp"
#include "util/file.hpp"

namespace postern::postfix {
namespace {

std::vector<char*> argument_vector(const std::string& path,
                                   const std::vector<std::string>& arguments) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(path.c_str()));
    for (const std::string& argument : arguments)
        argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    return argv;
}

Result<pid_t> spawn(const std::string& path, const std::vector<std::string>& arguments) {
    std::vector<char*> argv = argument_vector(path, arguments);
    pid_t pid = ::fork();
    if (pid < 0)
        return system_error("fork", errno);
    if (pid == 0) {
        ::execv(path.c_str(), argv.data());
        // Only async-signal-safe calls between fork and exit.
        static const char kFailed[] = "postfix: fatal: cannot execute program\n";
        (void)!::write(STDERR_FILENO, kFailed, sizeof kFailed - 1);
        ::_exit(127);
    }
    return pid;
}

}  // namespace

void export_instance_environment(const Instance& instance) {
    ::setenv("MAIL_CONFIG", instance.config_directory.c_str(), 1);
    if (instance.options.verbose > 0)
        ::setenv("MAIL_VERBOSE", "", 1);
    if (instance.options.debug)
        ::setenv("MAIL_DEBUG", "", 1);
}

bool is_executable_file(const std::string& path) {
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && (info.st_mode & 0111) != 0;
}

Result<int> run_program(const std::string& path, const std::vector<std::string>& arguments) {
    if (!is_executable_file(path))
        return Error(ErrorKind::not_found, "cannot execute " + path);
    Result<pid_t> pid = spawn(path, arguments);
    if (!pid)
        return pid.error();
    int status = 0;
    while (::waitpid(*pid, &status, 0) < 0)
        if (errno != EINTR)
            return system_error("waitpid", errno);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

Status start_program(const std::string& path, const std::vector<std::string>& arguments) {
    Result<pid_t> pid = spawn(path, arguments);
    if (!pid)
        return pid.error();
    return Status::success();
}

Error exec_program(const std::string& path, const std::vector<std::string>& arguments) {
    std::vector<char*> argv = argument_vector(path, arguments);
    ::execv(path.c_str(), argv.data());
    return system_error("execute " + path, errno);
}

}  // namespace postern::postfix
