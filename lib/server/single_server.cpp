#include "server/single_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <optional>
#include <vector>

#include "maps/map.hpp"
#include "server/server_startup.hpp"
#include "server/watchdog.hpp"
#include "util/log.hpp"

namespace postern {

namespace {

using Clock = std::chrono::steady_clock;

// A passed descriptor comes as its sender left it (postscreen's are non-blocking); serve()
// gets the same kind of descriptor whatever the transport.
void make_blocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0 && (flags & O_NONBLOCK) != 0)
        (void)::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}

class SingleServer {
  public:
    SingleServer(StartedServer& server, const SingleServerHooks& hooks)
        : server_(server), hooks_(hooks) {}

    void serve_until_done();
    void serve_stand_alone();

  private:
    std::optional<ClientConnection> wait_for_client();
    std::vector<pollfd> poll_set() const;
    int poll_timeout(Clock::time_point deadline) const;
    std::optional<ClientConnection> take_client(size_t listener);
    void serve(ClientConnection& client);
    bool use_limit_reached() const;

    StartedServer& server_;
    const SingleServerHooks& hooks_;
    int64_t used_ = 0;
};

void SingleServer::serve_until_done() {
    server_.status.report_idle();
    while (auto client = wait_for_client()) {
        serve(*client);
        if (use_limit_reached()) {
            log_debug(1, "use count limit -- exiting");
            return;
        }
        if (auto table = changed_open_table()) {
            log_info("table %s has changed -- restarting", table->c_str());
            return;
        }
        server_.status.report_idle();
        if (server_.status.master_gone())
            return;
    }
}

void SingleServer::serve_stand_alone() {
    ClientConnection client;
    client.fd.reset(::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3));
    if (!client.fd.valid())
        log_fatal("stand-alone mode: standard input: %m");
    client.output_fd = STDOUT_FILENO;
    serve(client);
}

bool SingleServer::use_limit_reached() const {
    int64_t limit = server_.context.settings.max_use;
    return limit > 0 && used_ >= limit;
}

// The listening descriptors, then master's status socket.
std::vector<pollfd> SingleServer::poll_set() const {
    std::vector<pollfd> fds;
    for (const Fd& listener : server_.listeners)
        fds.push_back(pollfd{listener.get(), POLLIN, 0});
    fds.push_back(pollfd{server_.status.fd(), POLLIN, 0});
    return fds;
}

int SingleServer::poll_timeout(Clock::time_point deadline) const {
    if (server_.context.settings.max_idle.count() <= 0)
        return -1;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::clamp<int64_t>(left.count(), 0, INT_MAX));
}

// The next client, or nullopt when the process should exit (idle too long, master gone).
std::optional<ClientConnection> SingleServer::wait_for_client() {
    std::vector<pollfd> fds = poll_set();
    Clock::time_point deadline = Clock::now() + server_.context.settings.max_idle;
    for (;;) {
        int timeout = poll_timeout(deadline);
        if (timeout == 0) {
            log_debug(1, "idle timeout -- exiting");
            return std::nullopt;
        }
        int ready = ::poll(fds.data(), fds.size(), timeout);
        if (ready < 0 && errno != EINTR)
            log_fatal("poll: %m");
        if (ready <= 0)
            continue;
        if (fds.back().revents != 0 && !server_.status.check_connected())
            return std::nullopt;
        for (size_t i = 0; i + 1 < fds.size(); ++i) {
            if (fds[i].revents == 0)
                continue;
            if (auto client = take_client(i))
                return client;
        }
    }
}

// Accepts (or, for pass, receives) a client from a listener that polled readable. Another
// process of the service may have been faster: then there is nothing, and no warning.
std::optional<ClientConnection> SingleServer::take_client(size_t listener) {
    int listen_fd = server_.listeners[listener].get();
    ClientConnection client;
    client.listener = listener;
    if (server_.context.options.transport == ServiceType::pass) {
        auto received = receive_passed_client(listen_fd);
        if (!received) {
            if (received.error().kind() != ErrorKind::temporary)
                log_warning("%s", received.error().message().c_str());
            return std::nullopt;
        }
        client.fd = std::move(received->fd);
        client.payload = std::move(received->payload);
        make_blocking(client.fd.get());
    } else {
        auto accepted = accept_client(listen_fd, 0);
        if (!accepted) {
            if (accepted.error().kind() != ErrorKind::temporary)
                log_warning("%s", accepted.error().message().c_str());
            return std::nullopt;
        }
        client.fd = std::move(*accepted);
    }
    client.output_fd = client.fd.get();
    return client;
}

void SingleServer::serve(ClientConnection& client) {
    server_.status.report_busy();
    watchdog_start(server_.context.settings.daemon_timeout);
    Status served = hooks_.serve(client, server_.context);
    watchdog_stop();
    if (!served)
        log_warning("%s", served.error().message().c_str());
    client.fd.reset();
    ++used_;
}

}  // namespace

int run_single_server(int argc, char** argv, const SingleServerHooks& hooks) {
    if (!hooks.serve)
        log_panic("run_single_server: no serve hook");
    StartedServer& server = start_server(
        argc, argv,
        skeleton_traits({ServiceType::inet, ServiceType::unix_stream, ServiceType::pass}, hooks));
    run_init_hook(hooks.pre_init, server.context);  // as root: open what the daemon needs
    give_up_root(server.context);                   // chroot, mail_owner: root ends here
    run_init_hook(hooks.post_init, server.context);

    SingleServer single(server, hooks);
    if (server.context.options.stand_alone)
        single.serve_stand_alone();
    else
        single.serve_until_done();
    run_exit_hook(hooks.on_exit, server.context);
    return 0;
}

}  // namespace postern
