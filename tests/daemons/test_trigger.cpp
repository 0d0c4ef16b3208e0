// test-trigger: a trigger daemon (lib/server/trigger_server.hpp) for the system tests of
// master's wake-up timer and the skeletons. Not a mail component; nothing is installed.
//
//   master.cf:  wake  unix  -  n  n  5  1  test-trigger /tmp/instance/triggers.log
//               wake  fifo  -  n  n  5  1  test-trigger /tmp/instance/triggers.log
//
// Appends one line per request to the file named by its argument:
//   <seconds since the epoch>.<microseconds> <pid> <request bytes>
// The bytes are escaped so that the line stays one line of three fields: printable ASCII
// other than space and backslash as is, every other byte as \xNN (master's wake-up shows
// as "W"). The file is opened once, at start-up, as root and before the chroot: the path
// is in the real file system even for a chrooted service (a relative path is relative to
// queue_directory), and a file renamed away keeps receiving the lines.
#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>

#include "server/trigger_server.hpp"
#include "util/file.hpp"

using namespace postern;

namespace {

Fd& log_file() {
    static Fd file;
    return file;
}

std::string escaped(std::string_view bytes) {
    std::string text;
    for (unsigned char byte : bytes) {
        if (byte > ' ' && byte < 0x7f && byte != '\\') {
            text += static_cast<char>(byte);
            continue;
        }
        char code[5];
        std::snprintf(code, sizeof code, "\\x%02x", byte);
        text += code;
    }
    return text;
}

std::string timestamp() {
    struct timeval now {};
    ::gettimeofday(&now, nullptr);
    char text[32];
    std::snprintf(text, sizeof text, "%lld.%06ld", static_cast<long long>(now.tv_sec),
                  static_cast<long>(now.tv_usec));
    return text;
}

Status open_log(ServerContext& context) {
    if (context.arguments().size() != 1)
        return Error(ErrorKind::config, "usage: test-trigger logfile");
    const std::string& path = context.arguments().front();
    log_file().reset(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
    if (!log_file().valid())
        return system_error("open " + path, errno);
    return {};
}

// One write() per line, so that lines from several processes never interleave.
Status record(std::string_view request, ServerContext&) {
    std::string line =
        timestamp() + " " + std::to_string(::getpid()) + " " + escaped(request) + "\n";
    return write_all(log_file().get(), line);
}

}  // namespace

int main(int argc, char** argv) {
    return run_trigger_server(argc, argv,
                              TriggerServerHooks{.trigger = record, .pre_init = open_log});
}
