// smtp: Postfix's smtp(8) delivery agent. Relays mail to other mail servers: the MX hosts
// of the recipient domain, or the relayhost / transport nexthop ("[smtp.example.com]:587"),
// with STARTTLS (smtp_tls_security_level, smtp_tls_policy_maps) and SASL authentication
// from smtp_sasl_password_maps.
//
// Where it sits: after qmgr, which sends delivery requests on private/smtp and
// private/relay (master.cf `smtp unix - - n - - smtp`, `relay unix - - n - - smtp`). What
// comes in: a request naming a queue file in active/, its nexthop and recipients; what
// goes out: the message over SMTP, one status line per recipient with
// relay=host[addr]:port, done marks and defer/bounce records (lib/queue/delivery_agent).
//
// Privileges: smtp is `unpriv` in master.cf. pre_init, as root, reads the parameters,
// opens smtp_sasl_password_maps (commonly mode 600, root's) and smtp_tls_policy_maps and
// loads the TLS client context; the skeleton then chroots (when master.cf says so) and
// drops to mail_owner before the first request. Everything the servers send is untrusted.
// RFCs: 5321, 2920, 1870, 6152, 6531, 3461, 3207, 4954 (see smtp_session.hpp).
#include <signal.h>

#include <memory>

#include "queue/delivery_agent.hpp"
#include "server/single_server.hpp"
#include "smtp/smtp_agent.hpp"

using namespace postern;

namespace {

std::unique_ptr<smtp::SmtpAgent> agent;

Status open_agent(ServerContext& context) {
    // A server that closes the connection must not kill the agent: the write fails with
    // EPIPE and the session reports "lost connection".
    ::signal(SIGPIPE, SIG_IGN);
    auto opened = smtp::SmtpAgent::open(context);
    if (!opened)
        return opened.error();
    agent = std::move(*opened);
    return {};
}

Status deliver(DeliverySession& session, ServerContext& context) {
    return agent->deliver(session, context);
}

// Before static destruction: the agent's tables unregister from lib/maps' registry of open
// tables, which must still exist then.
void close_agent(ServerContext&) {
    agent.reset();
}

Status serve(ClientConnection& client, ServerContext& context) {
    return serve_delivery_requests(client, context, deliver);
}

}  // namespace

int main(int argc, char** argv) {
    return run_single_server(
        argc, argv,
        SingleServerHooks{.serve = serve, .pre_init = open_agent, .on_exit = close_agent});
}
