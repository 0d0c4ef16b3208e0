// postqueue -p and -j: the listing from the showq service, or, for root while the mail
// system is down, from showq run directly (stand-alone, on a socket pair), as Postfix does.
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "ipc/attr_channel.hpp"
#include "queue/showq_protocol.hpp"
#include "tools/postqueue/listing.hpp"
#include "tools/postqueue/postqueue.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

namespace postern::postqueue {
namespace {

// The system's reason at the end of an error text ("connect to X: Connection refused").
std::string reason_of(const Error& error) {
    const std::string& text = error.message();
    size_t colon = text.rfind(": ");
    return colon == std::string::npos ? text : text.substr(colon + 2);
}

// A child showq serving one listing on `socket`; its pid.
pid_t start_stand_alone_showq(const Invocation& invocation, Fd socket) {
    std::string program = invocation.daemon_directory + "/showq";
    pid_t pid = ::fork();
    if (pid < 0)
        log_fatal("fork: %s", std::strerror(errno));
    if (pid == 0) {
        if (::dup2(socket.get(), STDIN_FILENO) < 0 || ::dup2(socket.get(), STDOUT_FILENO) < 0)
            ::_exit(1);
        ::setenv("MAIL_CONFIG", invocation.config_directory.c_str(), 1);
        ::execl(program.c_str(), "showq", "-u", "-S", static_cast<char*>(nullptr));
        log_warning("execute %s: %s", program.c_str(), std::strerror(errno));
        ::_exit(1);
    }
    return pid;
}

class ListingPrinter {
  public:
    explicit ListingPrinter(bool json) : json_(json) {}
    Status print(const ShowqMessage& message) {
        std::string out;
        if (json_)
            out = json_line(message);
        else
            mailq_.add(message, out);
        return write_all(STDOUT_FILENO, out);
    }
    Status finish() {
        if (json_)
            return {};
        std::string out;
        mailq_.finish(out);
        return write_all(STDOUT_FILENO, out);
    }

  private:
    bool json_;
    MailqListing mailq_;
};

int print_listing(AttrChannel& channel, const Invocation& invocation, bool json) {
    ListingPrinter printer(json);
    Status read = read_showq_listing(channel, invocation.ipc_timeout,
                                     [&](const ShowqMessage& m) { return printer.print(m); });
    if (!read) {
        if (read.error().kind() == ErrorKind::protocol)
            log_fatal("malformed showq server response");
        log_fatal("write error: %s", read.error().message().c_str());
    }
    if (Status done = printer.finish(); !done)
        log_fatal("write error: %s", done.error().message().c_str());
    return 0;
}

int show_directly(const Invocation& invocation, bool json) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        log_fatal("socketpair: %s", std::strerror(errno));
    Fd ours(pair[0]);
    pid_t child = start_stand_alone_showq(invocation, Fd(pair[1]));
    AttrChannel channel(std::move(ours));
    int status = print_listing(channel, invocation, json);
    int child_status = 0;
    while (::waitpid(child, &child_status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

}  // namespace

int show_queue(const Invocation& invocation, bool json) {
    ::signal(SIGPIPE, SIG_IGN);
    std::string socket = invocation.queue_directory + "/public/showq";
    Result<AttrChannel> channel = connect_attr_service(socket, invocation.ipc_timeout);
    if (channel)
        return print_listing(*channel, invocation, json);
    std::string why = reason_of(channel.error());
    if (invocation.uid != 0)
        log_fatal(
            "Queue report unavailable - mail system is down "
            "(Connect to the Postfix showq service: %s)",
            why.c_str());
    log_warning(
        "Mail system is down -- accessing queue directly "
        "(Connect to the Postfix showq service: %s)",
        why.c_str());
    return show_directly(invocation, json);
}

}  // namespace postern::postqueue
