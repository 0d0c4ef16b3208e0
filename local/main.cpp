// local: Postfix's local(8) delivery agent. Delivers mail for local recipients to
// mailboxes (mbox files or Maildirs), through aliases, .forward and :include: files, to
// commands and files, and forwards what is not local as new messages.
//
// Where it sits: after qmgr, which sends delivery requests on private/local
// (master.cf `local unix - n n - - local`). What comes in: a request naming a queue file
// in active/ and its recipients (one by default: local_destination_recipient_limit = 1).
// What goes out: the deliveries, one status line per destination, done marks in the queue
// file, defer/bounce/trace records (lib/queue/delivery_agent), and new messages for
// cleanup (forwarding).
//
// Privileges (identity.hpp is the one place they change): local is not `unpriv` in
// master.cf, so the skeleton leaves it root. pre_init, as root, opens alias_maps and the
// resolver's tables; post_init makes mail_owner the effective identity; from then on each
// delivery takes the recipient's identity only around its own file work, and commands
// run in children that drop root for good.
// RFCs: 5322 (message format), 3463 (enhanced status codes), 3464 (DSN records).
#include <signal.h>

#include <memory>

#include "local/identity.hpp"
#include "local/local_agent.hpp"
#include "queue/delivery_agent.hpp"
#include "server/single_server.hpp"

using namespace postern;

namespace {

std::unique_ptr<local::LocalAgent> agent;

Status open_agent(ServerContext& context) {
    // A command that stops reading its input must not kill the agent: the write fails
    // with EPIPE and the command's exit status decides.
    ::signal(SIGPIPE, SIG_IGN);
    auto opened = local::LocalAgent::open(context);
    if (!opened)
        return opened.error();
    agent = std::move(*opened);
    return {};
}

Status rest_as_mail_owner(ServerContext& context) {
    local::rest_as_mail_owner(context.mail_owner);
    return {};
}

Status deliver(DeliverySession& session, ServerContext& context) {
    return agent->deliver(session, context);
}

Status serve(ClientConnection& client, ServerContext& context) {
    DeliveryAgentOptions options;
    options.relay_default = "local";
    options.several_reports_per_recipient = true;
    return serve_delivery_requests(client, context, deliver, options);
}

}  // namespace

int main(int argc, char** argv) {
    return run_single_server(
        argc, argv,
        SingleServerHooks{.serve = serve, .pre_init = open_agent, .post_init = rest_as_mail_owner});
}
