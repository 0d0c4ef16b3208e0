// cleanup: the daemon that turns what a message source sends (smtpd, pickup, bounce) into
// a queue file in incoming/, committed to disk before it says "queued", and wakes qmgr.
//
//   master.cf:  cleanup  unix  n  -  n  -  0  cleanup      (socket public/cleanup)
//
// main() declares nothing but the hooks: pre_init (as root, before any client input)
// reads the parameters and opens every lookup table; serve() handles one client
// connection at a time (cleanup_server.hpp). What a client sends is untrusted.
#include <ctime>
#include <memory>

#include "cleanup/cleanup_server.hpp"
#include "mail/rewrite.hpp"
#include "util/log.hpp"

using namespace postern;
using namespace postern::cleanup;

namespace {

// What the process keeps between clients.
struct Daemon {
    CleanupSettings settings;
    CleanupTables tables;
    std::unique_ptr<AddressRewriter> rewriter;
    std::unique_ptr<AddressMapper> mapper;
    std::unique_ptr<CleanupServer> server;
};

Daemon& daemon_state() {
    static Daemon daemon;
    return daemon;
}

template <typename T>
T required(Result<T> value) {
    if (!value)
        log_fatal(value.error());
    return std::move(*value);
}

Status pre_init(ServerContext& context) {
    Daemon& d = daemon_state();
    d.settings = required(CleanupSettings::from_config(context.config));
    d.tables = required(CleanupTables::open(context.config));
    d.rewriter =
        std::make_unique<AddressRewriter>(required(RewriteSettings::from_config(context.config)));
    d.mapper = std::make_unique<AddressMapper>(d.settings, d.tables, *d.rewriter);
    d.server = std::make_unique<CleanupServer>(d.settings, d.tables, *d.mapper);
    // The time zone now: a chrooted cleanup has no /etc/localtime to read later.
    ::tzset();
    return {};
}

Status serve(ClientConnection& client, ServerContext& context) {
    AttrChannel channel(std::move(client.fd));
    auto timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(context.settings.ipc_timeout);
    // The skeleton exits after this client when a table file changed (lib/maps).
    return daemon_state().server->serve(channel, timeout);
}

}  // namespace

int main(int argc, char** argv) {
    return run_single_server(argc, argv, SingleServerHooks{.serve = serve, .pre_init = pre_init});
}
