// The start-up the three skeletons share, in Postfix's order: options, main.cf and -o,
// logging, the standard settings, the mail_owner checks, the queue directory as working
// directory, the descriptors from master, signals; then (after the daemon's pre_init hook)
// the one place where root is given up. Also accepting a client on a listening socket,
// which the skeletons do alike.
//
// Where it sits: lib/server, below single_server, multi_server and trigger_server; daemons
// use those instead. Runs as root. Every failure here is a configuration or environment
// error: a `fatal:` line and exit status 1, which master answers with throttling.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/master_status.hpp"
#include "server/server_context.hpp"
#include "util/fd_passing.hpp"
#include "util/file.hpp"

namespace postern {

// What a skeleton supports.
struct SkeletonTraits {
    std::vector<ServiceType> transports;
    bool solitary = false;   // the daemon needs maxproc 1 (master passes -l)
    bool unlimited = false;  // the daemon needs maxproc 0 (master passes -z)
};

// A skeleton's traits: the transports it serves and the hooks' process-limit demands.
template <typename Hooks>
SkeletonTraits skeleton_traits(std::vector<ServiceType> transports, const Hooks& hooks) {
    return SkeletonTraits{std::move(transports), hooks.solitary, hooks.unlimited};
}

// Objects a skeleton keeps until the process exits: never destroyed (so the event loop
// outlives the daemon's own static objects and whatever holds its events), and still
// reachable, so that LeakSanitizer does not count them as leaks.
void keep_until_exit(const void* object);
template <typename T, typename... Arguments>
T& make_until_exit(Arguments&&... arguments) {
    T* object = new T(std::forward<Arguments>(arguments)...);
    keep_until_exit(object);
    return *object;
}

// A started server. Lives until the process exits: never destroyed, so that the event
// loop a skeleton keeps with it outlives the daemon's own static objects.
struct StartedServer {
    StartedServer(ServerContext&& context, MasterStatus status, std::vector<Fd> listeners);
    ServerContext context;
    MasterStatus status;
    std::vector<Fd> listeners;  // kListenFd and on, -s of them; empty with -S
};

// Everything up to the daemon's pre_init hook. Exits with a `fatal:` line on error.
StartedServer& start_server(int argc, char** argv, const SkeletonTraits& traits);

// Runs a pre_init or post_init hook; an error is fatal.
void run_init_hook(const std::function<Status(ServerContext&)>& hook, ServerContext& context);
// Runs the on_exit hook, if any.
void run_exit_hook(const std::function<void(ServerContext&)>& hook, ServerContext& context);

// chroot to queue_directory (-c), then become mail_owner (-u): the line in each skeleton
// where a daemon stops being root. Exits with a `fatal:` line on error.
void give_up_root(const ServerContext& context);

// Accepts one connection; ErrorKind::temporary when there was none after all (another
// process of the service took it) or it went away before it was accepted. `flags` for
// accept4(): SOCK_NONBLOCK for the event-driven skeletons; SOCK_CLOEXEC is always added.
Result<Fd> accept_client(int listen_fd, int flags);

// The pass transport: another daemon (postscreen) connects to `listen_fd` and sends a
// client's descriptor with send_fd(). Accepts that connection, receives the descriptor and
// its payload (waiting at most kPassTimeout), and closes the connection. On a listening
// socket that is not connection-oriented, receives from it directly.
inline constexpr std::chrono::seconds kPassTimeout{100};
Result<ReceivedFd> receive_passed_client(int listen_fd);

}  // namespace postern
