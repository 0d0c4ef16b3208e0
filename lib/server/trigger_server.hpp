// The trigger skeleton (Postfix's trigger_server): a daemon that works when woken (pickup,
// qmgr, flush), not for a connected client.
//
// Where it sits: lib/server; a daemon's main() is one call:
//
//   int main(int argc, char** argv) {
//       return run_trigger_server(argc, argv, TriggerServerHooks{.trigger = wake_up});
//   }
//
// Start-up, pre_init as root, the chroot and privilege drop before any input, and
// post_init are as in single_server.hpp. Then, on an event loop the daemon may share
// (context.event_loop):
//   - fifo: every read on the fifo (up to kTriggerRequestLimit bytes) is one request.
//     The fifo is open read-write, so it never reports end-of-file when a writer goes
//     (master opens it so; a read-only descriptor is reopened read-write at start-up).
//   - unix: each connection is one request: the skeleton accepts, waits up to
//     trigger_timeout for the client's bytes, reads once (up to kTriggerRequestLimit)
//     and closes the connection. A client that sends nothing in time is dropped.
// Each request reaches trigger() as raw bytes: master's wake-up is one
// master_protocol::kWakeupRequest ('W'); other senders (postqueue -f, sendmail's
// postdrop) have their own letters, which the daemon interprets. The bytes come from
// local processes, some unprivileged: they are untrusted.
// Around each trigger the process reports busy, then idle. It exits
//   - after max_use requests,
//   - after max_idle seconds without one,
//   - when master closes the status socket,
//   - at once on SIGTERM.
// A loop callback that runs for about daemon_timeout trips the watchdog (watchdog.hpp).
// An optional periodic callback runs every `period` (pickup-style polling, qmgr's scans).
// With -S, one read on stdin is the one request.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>

#include "server/server_context.hpp"
#include "util/result.hpp"

namespace postern {

inline constexpr size_t kTriggerRequestLimit = 1024;

struct TriggerServerHooks {
    // Required. One request's bytes (never empty); an error is logged as a warning.
    std::function<Status(std::string_view request, ServerContext& context)> trigger{};
    // As root, before chroot (context.event_loop is already set). An error is fatal.
    std::function<Status(ServerContext& context)> pre_init{};
    // After chroot and the privilege drop, before the first request. An error is fatal.
    std::function<Status(ServerContext& context)> post_init{};
    // Before a normal exit; not on SIGTERM.
    std::function<void(ServerContext& context)> on_exit{};
    // When positive and `periodic` is set: called every `period` (first after one period).
    std::chrono::milliseconds period{0};
    std::function<void(ServerContext& context)> periodic{};
    bool solitary = false;   // the daemon requires maxproc 1
    bool unlimited = false;  // the daemon requires maxproc 0
};

// Runs the daemon; returns the exit status for main() to return. Start-up errors end the
// process with a `fatal:` line and status 1.
int run_trigger_server(int argc, char** argv, const TriggerServerHooks& hooks);

}  // namespace postern
