// The single-client skeleton (Postfix's single_server): one client at a time, for daemons
// whose work on a client is a long synchronous conversation (smtpd, cleanup, local, smtp).
//
// Where it sits: lib/server; a daemon's main() is one call:
//
//   int main(int argc, char** argv) {
//       return run_single_server(argc, argv, SingleServerHooks{.serve = serve_client});
//   }
//
// The skeleton owns everything around serve(): start-up (server_startup.hpp), pre_init
// as root, then chroot and the drop to mail_owner before any client input, post_init,
// and the loop: wait on every listening descriptor (-s) and on master's status socket,
// accept one client, report busy, serve it under the daemon_timeout watchdog, close it,
// report idle. The process exits
//   - after max_use clients (without a last idle report: it is no longer available),
//   - after max_idle seconds without a client,
//   - when master closes the status socket (after the client being served, if any),
//   - at once on SIGTERM.
// What arrives on the client descriptor is untrusted network input; serve() owns it.
//
// Transports: inet and unix (accept), pass (another daemon, postscreen, hands over a
// client's descriptor with send_fd(): the skeleton accepts the sender's connection,
// receives the descriptor and its payload, closes that connection and serves the passed
// descriptor). With -S the one client is stdin (input) and stdout (output), no master.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "server/server_context.hpp"
#include "util/file.hpp"
#include "util/result.hpp"

namespace postern {

// The client being served. The skeleton closes `fd` after serve() returns; serve() may
// take it with fd.release() to keep the connection beyond that (rarely right).
struct ClientConnection {
    Fd fd;                // the connection (blocking, close-on-exec); stdin with -S
    int output_fd = -1;   // where replies go: fd.get(), or stdout with -S
    std::string payload;  // pass transport: the bytes sent with the descriptor
    size_t listener = 0;  // which of the -s listening descriptors it came from

    int input_fd() const { return fd.get(); }
};

struct SingleServerHooks {
    // Required. Serves one client; an error is logged as a warning and the skeleton goes
    // on with the next client.
    std::function<Status(ClientConnection& client, ServerContext& context)> serve{};
    // As root, in queue_directory, before chroot: open what the daemon needs (tables,
    // keys, its log). May change context.settings. An error is fatal.
    std::function<Status(ServerContext& context)> pre_init{};
    // After chroot and the privilege drop, before the first client. An error is fatal.
    std::function<Status(ServerContext& context)> post_init{};
    // Before a normal exit (max_use, max_idle, master gone, -S done); not on SIGTERM.
    std::function<void(ServerContext& context)> on_exit{};
    bool solitary = false;   // the daemon requires maxproc 1
    bool unlimited = false;  // the daemon requires maxproc 0
};

// Runs the daemon; returns the exit status for main() to return. Start-up errors end the
// process with a `fatal:` line and status 1.
int run_single_server(int argc, char** argv, const SingleServerHooks& hooks);

}  // namespace postern
