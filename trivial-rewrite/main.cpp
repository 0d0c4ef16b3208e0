// trivial-rewrite: the address rewriting and resolution service, compatible with Postfix's
// daemon of the same name (master.cf: "rewrite unix - - n - - trivial-rewrite", socket
// queue_directory/private/rewrite).
//
// Where it sits: between the clients that ask (postresolve -S, any program that prefers
// the service) and the library that answers (lib/mail/resolve.hpp, rewrite.hpp), which
// qmgr and cleanup call in their own processes instead. main() only opens the tables as
// root (before the skeleton chroots and drops to mail_owner) and hands the clients to
// RewriteService; the many-clients skeleton does the rest (lib/server/multi_server.hpp).
// Requests are untrusted input from another process: see rewrite_service.hpp.
#include "config/config.hpp"
#include "mail/resolve.hpp"
#include "server/multi_server.hpp"
#include "server/server_startup.hpp"
#include "trivial-rewrite/rewrite_service.hpp"
#include "util/log.hpp"

using namespace postern;

namespace {

RewriteService* service = nullptr;

// As root: every table the resolver reads. A table that cannot be opened becomes a
// stand-in that defers the mail that needs it, as Postfix's daemons do.
Status open_tables(ServerContext& context) {
    ResolverOptions options;
    options.tables.surrogate_on_open_error = true;
    Result<std::unique_ptr<AddressResolver>> resolver =
        AddressResolver::open(context.config, options);
    if (!resolver)
        return resolver.error();
    service = &make_until_exit<RewriteService>(std::move(*resolver));
    return {};
}

Status start_checks(ServerContext& context) {
    service->start_table_checks(*context.event_loop);
    return {};
}

void new_client(MultiClient client, MultiServer& server) {
    service->serve(std::move(client), server);
}

}  // namespace

int main(int argc, char** argv) {
    return run_multi_server(
        argc, argv,
        MultiServerHooks{
            .on_connect = new_client, .pre_init = open_tables, .post_init = start_checks});
}
