// test-echo: a single-client daemon (lib/server/single_server.hpp) for the system tests of
// master and the skeletons. Not a mail component; nothing here is installed.
//
//   master.cf:  echo  unix  -  n  n  -  2  test-echo [parameter]
//   by hand:    MAIL_CONFIG=/dir test-echo -S [parameter]     (one client on stdin/stdout)
//
// It serves one client at a time, line by line ("\n" or "\r\n"); each reply is one line:
//   whoami         pid=<pid> uid=<uid> gid=<gid> service=<service name> param=<value>
//                  where <value> is the expanded value of the parameter named by the daemon
//                  argument (default myhostname), so that `-o myhostname=x` in master.cf or
//                  main.cf's setting shows; a parameter set nowhere gives "param=".
//   exists <path>  "yes" or "no": whether <path> exists as the daemon sees it (chroot tests)
//   sleep <n>      sleeps n seconds, then "slept" (watchdog and reload tests)
//   quit           no reply: the skeleton closes the connection and takes the next client
//   crash          the process exits with status 1 at once (master's respawn tests)
//   anything else  the line itself, echoed
// Input is test input, but still bounded: a line longer than 4096 bytes ends the client.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "server/single_server.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

using namespace postern;

namespace {

constexpr size_t kLineLimit = 4096;

// The next line without its end, or nullopt at end of input (or on error, or when the
// line is too long).
std::optional<std::string> read_line(int fd, std::string& buffer) {
    for (;;) {
        if (size_t end = buffer.find('\n'); end != std::string::npos) {
            std::string line = buffer.substr(0, end);
            buffer.erase(0, end + 1);
            if (!line.empty() && line.back() == '\r')
                line.pop_back();
            return line;
        }
        if (buffer.size() > kLineLimit)
            return std::nullopt;
        char chunk[1024];
        ssize_t got = ::read(fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return std::nullopt;
        buffer.append(chunk, static_cast<size_t>(got));
    }
}

std::string whoami(const ServerContext& context) {
    std::string parameter =
        context.arguments().empty() ? std::string("myhostname") : context.arguments().front();
    auto value = context.config.get(parameter);
    return "pid=" + std::to_string(::getpid()) + " uid=" + std::to_string(::getuid()) +
           " gid=" + std::to_string(::getgid()) + " service=" + context.service_name() +
           " param=" + (value ? *value : std::string());
}

std::string sleep_for(std::string_view seconds) {
    auto count = parse_integer(trim(seconds));
    if (!count || *count < 0)
        return "bad sleep time";
    ::sleep(static_cast<unsigned>(*count));
    return "slept";
}

std::string exists(std::string_view path) {
    struct stat status {};
    return ::stat(std::string(trim(path)).c_str(), &status) == 0 ? "yes" : "no";
}

// The reply to one line; nullopt for quit.
std::optional<std::string> answer(std::string_view line, const ServerContext& context) {
    if (line == "quit")
        return std::nullopt;
    if (line == "crash")
        std::_Exit(1);
    if (line == "whoami")
        return whoami(context);
    if (line.substr(0, 6) == "sleep ")
        return sleep_for(line.substr(6));
    if (line.substr(0, 7) == "exists ")
        return exists(line.substr(7));
    return std::string(line);
}

Status serve(ClientConnection& client, ServerContext& context) {
    std::string buffer;
    while (auto line = read_line(client.input_fd(), buffer)) {
        auto reply = answer(*line, context);
        if (!reply)
            break;
        if (Status written = write_all(client.output_fd, *reply + "\n"); !written)
            return written;
    }
    return {};
}

}  // namespace

int main(int argc, char** argv) {
    return run_single_server(argc, argv, SingleServerHooks{.serve = serve});
}
