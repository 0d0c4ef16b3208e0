#include "server/multi_server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

#include "maps/map.hpp"
#include "server/server_startup.hpp"
#include "server/watchdog.hpp"
#include "util/log.hpp"

namespace postern {

MultiClient::MultiClient(MultiClient&& other) noexcept
    : fd_(std::move(other.fd_)),
      server_(std::exchange(other.server_, nullptr)),
      listener_(other.listener_) {}

MultiClient& MultiClient::operator=(MultiClient&& other) noexcept {
    if (this != &other) {
        finish();
        fd_ = std::move(other.fd_);
        server_ = std::exchange(other.server_, nullptr);
        listener_ = other.listener_;
    }
    return *this;
}

void MultiClient::finish() {
    fd_.reset();
    if (MultiServer* server = std::exchange(server_, nullptr))
        server->client_done();
}

MultiServer::MultiServer(StartedServer& server, const MultiServerHooks& hooks, EventLoop& loop)
    : server_(server), hooks_(hooks), loop_(loop) {}

ServerContext& MultiServer::context() {
    return server_.context;
}

void MultiServer::close() {
    closing_ = true;
    update();
}

void MultiServer::start() {
    for (size_t i = 0; i < server_.listeners.size(); ++i)
        accept_events_.push_back(Event::readable(loop_, server_.listeners[i].get(), true,
                                                 [this, i](EventReady) { accept_from(i); }));
    status_event_ = Event::readable(loop_, server_.status.fd(), true,
                                    [this](EventReady) { master_status_changed(); });
    status_event_.arm();
    idle_timer_ = Event::timer(loop_, [this](EventReady) {
        log_debug(1, "idle timeout -- exiting");
        closing_ = true;
        loop_.stop();
    });
    update();
}

// -S: standard input is the one client.
void MultiServer::start_stand_alone() {
    Fd input(::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3));
    if (!input.valid())
        log_fatal("stand-alone mode: standard input: %m");
    closing_ = true;
    ++clients_;
    hooks_.on_connect(MultiClient(std::move(input), this, 0), *this);
}

void MultiServer::accept_from(size_t listener) {
    if (!accepting_)
        return;
    auto accepted = accept_client(server_.listeners[listener].get(), SOCK_NONBLOCK);
    if (!accepted) {
        if (accepted.error().kind() != ErrorKind::temporary)
            log_warning("%s", accepted.error().message().c_str());
        return;
    }
    ++clients_;
    int64_t limit = server_.context.settings.max_use;
    if (limit > 0 && ++connections_ >= limit) {
        log_debug(1, "use count limit -- no new clients");
        closing_ = true;
    }
    update();
    hooks_.on_connect(MultiClient(std::move(*accepted), this, listener), *this);
}

// Master never writes on the status socket: readable means it has gone.
void MultiServer::master_status_changed() {
    if (server_.status.check_connected())
        return;
    status_event_.disarm();
    closing_ = true;
    update();
}

void MultiServer::client_done() {
    --clients_;
    if (!closing_) {
        if (auto table = changed_open_table()) {
            log_info("table %s has changed -- restarting", table->c_str());
            closing_ = true;
        }
    }
    update();
}

// Applies the busy/idle rule after every change of client count or state.
void MultiServer::update() {
    if (server_.status.master_gone())
        closing_ = true;
    size_t limit = server_.context.settings.client_limit;
    bool saturated = limit > 0 && clients_ >= limit;
    set_accepting(!closing_ && !saturated);
    if (accepting_)
        server_.status.report_idle();
    else
        server_.status.report_busy();
    update_idle_timer();
    if (done())
        loop_.stop();
}

void MultiServer::set_accepting(bool open) {
    if (open == accepting_)
        return;
    accepting_ = open;
    for (Event& event : accept_events_) {
        if (open)
            event.arm();
        else
            event.disarm();
    }
}

void MultiServer::update_idle_timer() {
    auto max_idle = server_.context.settings.max_idle;
    if (clients_ > 0 || closing_ || max_idle.count() <= 0) {
        idle_timer_.disarm();
        return;
    }
    if (!idle_timer_.armed())
        idle_timer_.arm(std::chrono::duration_cast<std::chrono::milliseconds>(max_idle));
}

int run_multi_server(int argc, char** argv, const MultiServerHooks& hooks) {
    if (!hooks.on_connect)
        log_panic("run_multi_server: no on_connect hook");
    StartedServer& server = start_server(
        argc, argv, skeleton_traits({ServiceType::inet, ServiceType::unix_stream}, hooks));
    // Never destroyed: the daemon's objects may hold events until the process exits.
    EventLoop& loop = make_until_exit<EventLoop>();
    // Not make_until_exit: the constructor is private to run_multi_server.
    auto* multi = new MultiServer(server, hooks, loop);
    keep_until_exit(multi);
    server.context.event_loop = &loop;
    run_init_hook(hooks.pre_init, server.context);  // as root: open what the daemon needs
    give_up_root(server.context);                   // chroot, mail_owner: root ends here
    run_init_hook(hooks.post_init, server.context);

    make_until_exit<WatchdogFeeder>().start(loop, server.context.settings.daemon_timeout);
    if (server.context.options.stand_alone)
        multi->start_stand_alone();
    else
        multi->start();
    if (!multi->done()) {
        if (Status ran = loop.run(); !ran)
            log_fatal(ran.error());
    }
    watchdog_stop();
    run_exit_hook(hooks.on_exit, server.context);
    return 0;
}

}  // namespace postern
