// The many-clients skeleton (Postfix's multi_server/event_server): one process, many
// clients at once on an event loop, for daemons whose clients mostly wait (postscreen,
// anvil-like services, the internal services qmgr and others talk to).
//
// Where it sits: lib/server; a daemon's main() is one call:
//
//   int main(int argc, char** argv) {
//       return run_multi_server(argc, argv, MultiServerHooks{.on_connect = new_client});
//   }
//
// Start-up, pre_init as root, the chroot and privilege drop before any client input, and
// post_init are as in single_server.hpp. Then the skeleton accepts (non-blocking) on every
// listening descriptor and hands each new connection, as a MultiClient, to on_connect
// together with the loop. The daemon keeps the MultiClient as long as it serves that
// client and registers its own events on the loop; destroying the MultiClient (or calling
// finish()) closes the connection and tells the skeleton the client is done. Client input
// is untrusted and the daemon's to check; callbacks must not throw (STYLE.md habit 4).
//
// Busy/idle rule: the process is available (idle report) while it accepts new clients,
// and busy once it stops: when it holds context.settings.client_limit clients (it then
// also stops accepting, so the kernel queue goes to the service's other processes and
// master starts another when none is available), or when it will never accept again. It
// reports idle once it has fewer than client_limit again. client_limit 0 (the default)
// means never saturated; the daemon sets it in pre_init or post_init.
//
// The process exits
//   - after max_use connections: it stops accepting (reports busy) and exits when the last
//     client is done,
//   - after max_idle seconds with no client at all,
//   - when master closes the status socket: it stops accepting and exits when the last
//     client is done,
//   - at once on SIGTERM.
// A loop callback that runs for about daemon_timeout trips the watchdog (watchdog.hpp).
// With -S, stdin is the one client (it must be a socket, as inetd gives) and the process
// exits when that client is done. Transports: inet and unix.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "server/server_context.hpp"
#include "util/event_loop.hpp"
#include "util/file.hpp"

namespace postern {

class MultiServer;
struct StartedServer;

// One connected client, and the skeleton's count of it. Move-only.
class MultiClient {
  public:
    MultiClient() = default;
    MultiClient(MultiClient&& other) noexcept;
    MultiClient& operator=(MultiClient&& other) noexcept;
    MultiClient(const MultiClient&) = delete;
    MultiClient& operator=(const MultiClient&) = delete;
    ~MultiClient() { finish(); }

    // The connection: non-blocking, close-on-exec.
    int fd() const { return fd_.get(); }
    Fd& connection() { return fd_; }
    // Which of the -s listening descriptors it came from.
    size_t listener() const { return listener_; }
    // False once finished (or moved from).
    bool active() const { return server_ != nullptr; }
    // Closes the connection now and counts the client done; destroying does the same.
    void finish();

  private:
    friend class MultiServer;
    MultiClient(Fd fd, MultiServer* server, size_t listener)
        : fd_(std::move(fd)), server_(server), listener_(listener) {}

    Fd fd_;
    MultiServer* server_ = nullptr;
    size_t listener_ = 0;
};

struct MultiServerHooks {
    // Required. A new client: keep `client` as long as it is served.
    std::function<void(MultiClient client, MultiServer& server)> on_connect{};
    // As root, before chroot (context.event_loop is already set). An error is fatal.
    std::function<Status(ServerContext& context)> pre_init{};
    // After chroot and the privilege drop, before the first client. An error is fatal.
    std::function<Status(ServerContext& context)> post_init{};
    // Before a normal exit; not on SIGTERM.
    std::function<void(ServerContext& context)> on_exit{};
    bool solitary = false;   // the daemon requires maxproc 1
    bool unlimited = false;  // the daemon requires maxproc 0
};

// The skeleton as the daemon sees it: the loop, the context, and the client count.
class MultiServer {
  public:
    MultiServer(const MultiServer&) = delete;
    MultiServer& operator=(const MultiServer&) = delete;

    EventLoop& loop() { return loop_; }
    ServerContext& context();
    size_t client_count() const { return clients_; }
    // Open for a new client right now.
    bool accepting() const { return accepting_; }
    // Will never accept again: exits when the last client is done.
    bool closing() const { return closing_; }
    // The daemon's own way to stop: no new clients, exit when the last one is done.
    void close();

  private:
    friend class MultiClient;
    friend int run_multi_server(int argc, char** argv, const MultiServerHooks& hooks);

    MultiServer(StartedServer& server, const MultiServerHooks& hooks, EventLoop& loop);
    void start();
    void start_stand_alone();
    bool done() const { return closing_ && clients_ == 0; }
    void accept_from(size_t listener);
    void master_status_changed();
    void client_done();
    void update();
    void set_accepting(bool open);
    void update_idle_timer();

    StartedServer& server_;
    const MultiServerHooks& hooks_;
    EventLoop& loop_;
    std::vector<Event> accept_events_;
    Event status_event_;
    Event idle_timer_;
    size_t clients_ = 0;
    int64_t connections_ = 0;
    bool accepting_ = false;
    bool closing_ = false;
};

// Runs the daemon; returns the exit status for main() to return. Start-up errors end the
// process with a `fatal:` line and status 1.
int run_multi_server(int argc, char** argv, const MultiServerHooks& hooks);

}  // namespace postern
