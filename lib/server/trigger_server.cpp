#include "server/trigger_server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "maps/map.hpp"
#include "server/server_startup.hpp"
#include "server/watchdog.hpp"
#include "util/event_loop.hpp"
#include "util/log.hpp"

namespace postern {

namespace {

using std::chrono::milliseconds;

// Connections on a unix trigger socket waiting for their bytes; more are closed at once.
constexpr size_t kPendingLimit = 64;
constexpr std::chrono::seconds kDefaultRequestTimeout{10};

class TriggerServer {
  public:
    TriggerServer(StartedServer& server, const TriggerServerHooks& hooks, EventLoop& loop)
        : server_(server), hooks_(hooks), loop_(loop) {}
    TriggerServer(const TriggerServer&) = delete;
    TriggerServer& operator=(const TriggerServer&) = delete;

    void start();
    void serve_stand_alone();

  private:
    struct PendingRequest {
        Fd connection;
        Event readable;
    };

    void watch_listener(size_t listener);
    void read_fifo(size_t listener);
    void accept_request(size_t listener);
    void read_request(uint64_t id, EventReady ready);
    void deliver(std::string_view request);
    void master_status_changed();
    void run_periodic();
    void arm_idle_timer();
    void exit_soon(const char* why);

    StartedServer& server_;
    const TriggerServerHooks& hooks_;
    EventLoop& loop_;
    std::vector<Event> listen_events_;
    Event status_event_;
    Event idle_timer_;
    Event periodic_timer_;
    std::map<uint64_t, PendingRequest> pending_;
    uint64_t next_request_ = 0;
    milliseconds request_timeout_{kDefaultRequestTimeout};
    int64_t used_ = 0;
    bool exiting_ = false;
};

void TriggerServer::start() {
    if (auto timeout = server_.context.config.get_time_seconds("trigger_timeout"))
        request_timeout_ = std::chrono::seconds(std::max<int64_t>(*timeout, 1));
    for (size_t i = 0; i < server_.listeners.size(); ++i)
        watch_listener(i);
    status_event_ = Event::readable(loop_, server_.status.fd(), true,
                                    [this](EventReady) { master_status_changed(); });
    status_event_.arm();
    idle_timer_ = Event::timer(loop_, [this](EventReady) { exit_soon("idle timeout -- exiting"); });
    if (hooks_.periodic && hooks_.period.count() > 0) {
        periodic_timer_ = Event::timer(loop_, [this](EventReady) { run_periodic(); });
        periodic_timer_.arm(hooks_.period);
    }
    server_.status.report_idle();
    arm_idle_timer();
}

void TriggerServer::watch_listener(size_t listener) {
    int fd = server_.listeners[listener].get();
    bool fifo = server_.context.options.transport == ServiceType::fifo;
    listen_events_.push_back(Event::readable(loop_, fd, true, [this, listener, fifo](EventReady) {
        if (fifo)
            read_fifo(listener);
        else
            accept_request(listener);
    }));
    listen_events_.back().arm();
}

// -S: one read on standard input is the one request.
void TriggerServer::serve_stand_alone() {
    char buffer[kTriggerRequestLimit];
    ssize_t got;
    do {
        got = ::read(STDIN_FILENO, buffer, sizeof buffer);
    } while (got < 0 && errno == EINTR);
    if (got < 0)
        log_fatal("stand-alone mode: read standard input: %m");
    watchdog_start(server_.context.settings.daemon_timeout);
    if (got > 0)
        deliver(std::string_view(buffer, static_cast<size_t>(got)));
    watchdog_stop();
}

void TriggerServer::read_fifo(size_t listener) {
    char buffer[kTriggerRequestLimit];
    ssize_t got = ::read(server_.listeners[listener].get(), buffer, sizeof buffer);
    if (got > 0)
        deliver(std::string_view(buffer, static_cast<size_t>(got)));
    else if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        log_warning("read trigger fifo: %m");
}

void TriggerServer::accept_request(size_t listener) {
    auto accepted = accept_client(server_.listeners[listener].get(), SOCK_NONBLOCK);
    if (!accepted) {
        if (accepted.error().kind() != ErrorKind::temporary)
            log_warning("%s", accepted.error().message().c_str());
        return;
    }
    if (pending_.size() >= kPendingLimit) {
        log_warning("too many trigger connections waiting; closing one");
        return;
    }
    uint64_t id = next_request_++;
    PendingRequest& request = pending_[id];
    request.connection = std::move(*accepted);
    request.readable = Event::readable(loop_, request.connection.get(), false,
                                       [this, id](EventReady ready) { read_request(id, ready); });
    request.readable.arm(request_timeout_);
}

// One read: a trigger client writes its request and waits for the server to close.
void TriggerServer::read_request(uint64_t id, EventReady ready) {
    auto found = pending_.find(id);
    if (found == pending_.end())
        return;
    char buffer[kTriggerRequestLimit];
    ssize_t got = -1;
    if (ready.readable)
        got = ::read(found->second.connection.get(), buffer, sizeof buffer);
    else
        log_debug(1, "trigger request timed out");
    pending_.erase(found);  // closes the connection; the callback runs from a copy
    if (got > 0)
        deliver(std::string_view(buffer, static_cast<size_t>(got)));
}

void TriggerServer::deliver(std::string_view request) {
    if (exiting_)
        return;
    idle_timer_.disarm();
    server_.status.report_busy();
    if (Status done = hooks_.trigger(request, server_.context); !done)
        log_warning("%s", done.error().message().c_str());
    int64_t limit = server_.context.settings.max_use;
    if (limit > 0 && ++used_ >= limit)
        return exit_soon("use count limit -- exiting");
    if (auto table = changed_open_table()) {
        log_info("table %s has changed -- restarting", table->c_str());
        return exit_soon("table changed -- exiting");
    }
    server_.status.report_idle();
    if (server_.status.master_gone())
        return exit_soon("master disconnect -- exiting");
    arm_idle_timer();
}

// Master never writes on the status socket: readable means it has gone.
void TriggerServer::master_status_changed() {
    if (server_.status.check_connected())
        return;
    status_event_.disarm();
    exit_soon("master disconnect -- exiting");
}

void TriggerServer::run_periodic() {
    if (exiting_)
        return;
    hooks_.periodic(server_.context);
    periodic_timer_.arm(hooks_.period);
}

void TriggerServer::arm_idle_timer() {
    auto max_idle = server_.context.settings.max_idle;
    if (max_idle.count() > 0)
        idle_timer_.arm(std::chrono::duration_cast<milliseconds>(max_idle));
}

void TriggerServer::exit_soon(const char* why) {
    log_debug(1, "%s", why);
    exiting_ = true;
    loop_.stop();
}

// A fifo open read-only reports end-of-file, again and again, whenever no writer has it
// open. Master opens it read-write; a read-only descriptor is reopened so, before chroot
// hides /proc.
void make_fifo_read_write(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || (flags & O_ACCMODE) == O_RDWR)
        return;
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    Fd reopened(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!reopened.valid() || ::dup3(reopened.get(), fd, O_CLOEXEC) < 0)
        log_warning("cannot reopen trigger fifo read-write: %m");
}

}  // namespace

int run_trigger_server(int argc, char** argv, const TriggerServerHooks& hooks) {
    if (!hooks.trigger)
        log_panic("run_trigger_server: no trigger hook");
    StartedServer& server = start_server(
        argc, argv, skeleton_traits({ServiceType::fifo, ServiceType::unix_stream}, hooks));
    if (server.context.options.transport == ServiceType::fifo)
        for (const Fd& listener : server.listeners)
            make_fifo_read_write(listener.get());
    // Never destroyed: the daemon's objects may hold events until the process exits.
    EventLoop& loop = make_until_exit<EventLoop>();
    TriggerServer& trigger = make_until_exit<TriggerServer>(server, hooks, loop);
    server.context.event_loop = &loop;
    run_init_hook(hooks.pre_init, server.context);  // as root: open what the daemon needs
    give_up_root(server.context);                   // chroot, mail_owner: root ends here
    run_init_hook(hooks.post_init, server.context);

    if (server.context.options.stand_alone) {
        trigger.serve_stand_alone();
    } else {
        make_until_exit<WatchdogFeeder>().start(loop, server.context.settings.daemon_timeout);
        trigger.start();
        if (Status ran = loop.run(); !ran)
            log_fatal(ran.error());
        watchdog_stop();
    }
    run_exit_hook(hooks.on_exit, server.context);
    return 0;
}

}  // namespace postern
